/**
 * `npm run publish -- <file> [--name x] [--mime y] [--piece-size n] [--content-dir d]`
 *
 * Publishes a file into the content directory (default: TABSWARM_CONTENT_DIR or ./content) and
 * prints its content ID and link. A running server picks new content up without a restart.
 * Exit code 0 on success, 1 on any failure (with a one-line reason on stderr).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_SERVER_CONFIG } from './config.js';
import { configFromEnv } from './config-env.js';
import { PublishError, publishFile } from './publish.js';

const USAGE = `usage: npm run publish -- <file> [--name <name>] [--mime <type>] [--piece-size <bytes>] [--content-dir <dir>]`;

function fail(message: string): never {
  process.stderr.write(`publish: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        mime: { type: 'string' },
        'piece-size': { type: 'string' },
        'content-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (positionals.length !== 1) fail(`expected exactly one file, got ${positionals.length}\n${USAGE}`);
  const file = positionals[0]!;

  let pieceSize: number | undefined;
  if (values['piece-size'] !== undefined) {
    const raw = values['piece-size'];
    if (!/^\d+$/.test(raw)) fail(`--piece-size must be a number of bytes, got "${raw}"`);
    pieceSize = Number(raw);
  }
  let contentDir = values['content-dir'];
  if (contentDir === undefined) {
    try {
      contentDir = configFromEnv().contentDir ?? DEFAULT_SERVER_CONFIG.contentDir;
    } catch (err) {
      fail((err as Error).message);
    }
  }

  const started = performance.now();
  const result = await publishFile(file, { contentDir, name: values.name, mimeType: values.mime, pieceSize });
  const seconds = (performance.now() - started) / 1000;
  const { metadata } = result;
  process.stdout.write(
    [
      `published ${metadata.name} (${metadata.fileSize} bytes, ${metadata.pieceSha256.length} piece(s) of ${metadata.pieceSize} bytes, ${metadata.mimeType}) in ${seconds.toFixed(1)} s`,
      `content dir: ${resolve(contentDir)}`,
      `content ID:  ${result.contentId}`,
      `link:        /#c=${result.contentId}`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  if (err instanceof PublishError) fail(err.message);
  // File system errors (permissions, disk full) carry a code and a readable message.
  if (err instanceof Error && 'code' in err) fail(err.message);
  fail(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
});
