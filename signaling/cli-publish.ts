/**
 * `tabswarm publish <file> [--name x] [--mime y] [--piece-size n] [--content-dir d]` (from a
 * clone: `npm run publish-content -- <file> …`).
 *
 * Publishes a file into the content directory (default: TABSWARM_CONTENT_DIR or ./content) and
 * prints its content ID and link. A running server picks new content up without a restart (its
 * catalog looks at the directory again before each reply). Exit code 0 on success, 1 on any
 * failure (with a one-line reason on stderr), 2 for a wrong command line.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_SERVER_CONFIG } from './config.js';
import { configFromEnv } from './config-env.js';
import { PublishError, publishFile } from './publish.js';

export const PUBLISH_USAGE = `usage: tabswarm publish <file> [--name <name>] [--mime <type>] [--piece-size <bytes>] [--content-dir <dir>]`;

/** A failure with its exit code: 2 for the command line, 1 for the rest. */
class Failure extends Error {
  constructor(
    message: string,
    readonly code: 1 | 2,
  ) {
    super(message);
  }
}

function fail(message: string, code: 1 | 2 = 1): never {
  throw new Failure(message, code);
}

/** Runs `tabswarm publish` with `args` (after the word `publish`); resolves to the exit code. */
export async function runPublish(args: string[]): Promise<number> {
  try {
    await publish(args);
    return 0;
  } catch (err) {
    const message =
      err instanceof Failure || err instanceof PublishError
        ? err.message
        : // File system errors (permissions, disk full) carry a code and a readable message.
          err instanceof Error && 'code' in err
          ? err.message
          : `unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    process.stderr.write(`tabswarm publish: ${message}\n`);
    return err instanceof Failure ? err.code : 1;
  }
}

async function publish(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
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
    fail(`${(err as Error).message}\n${PUBLISH_USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(PUBLISH_USAGE + '\n');
    return;
  }
  if (positionals.length !== 1) fail(`expected exactly one file, got ${positionals.length}\n${PUBLISH_USAGE}`, 2);
  const file = positionals[0]!;

  let pieceSize: number | undefined;
  if (values['piece-size'] !== undefined) {
    const raw = values['piece-size'];
    if (!/^\d+$/.test(raw)) fail(`--piece-size must be a number of bytes, got "${raw}"`, 2);
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
