/**
 * The `tabswarm` command from a clone (signaling/bin.ts through tsx; the packed, compiled
 * command is tested in test/package/): its usage and exit codes, `serve` with flags over
 * variables, JSON log lines when not on a terminal, a file published while it runs shown in the
 * catalog at once, and a clean stop on SIGTERM.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServeProcess } from '../helpers/serve-process.js';
import { writeDeterministicFile } from '../../signaling/deterministic-content.js';
import { makeTempDir, removeDir } from './helpers.js';

const run = promisify(execFile);
const TSX = join('node_modules', '.bin', 'tsx');
const BIN = 'signaling/bin.ts';

async function exitOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [BIN, ...args], { timeout: 20_000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('tabswarm', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('tabswarm-cli-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('prints its usage (0 when asked, 2 when no or an unknown command) and its version', async () => {
    const help = await exitOf(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('tabswarm serve [content dir]');
    expect(help.stdout).toContain('tabswarm publish <file>');
    expect((await exitOf([])).code).toBe(2);
    const unknown = await exitOf(['srve']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "srve"');
    expect((await exitOf(['--version'])).stdout).toMatch(/^tabswarm \d+\.\d+\.\d+/);
  });

  it('serve --help lists every setting with its variable and default; a wrong flag is 2, a wrong value 1', async () => {
    const help = await exitOf(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--arrays-port <n>');
    expect(help.stdout).toContain('TABSWARM_MAX_CONNECTIONS_PER_ADDRESS, default: ');
    const bogus = await exitOf(['serve', '--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("Unknown option '--bogus'");
    const bad = await exitOf(['serve', '--port', 'eighty']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('TABSWARM_PORT must be a non-negative integer, got "eighty"');
    const format = await exitOf(['serve', '--log-format', 'xml']);
    expect(format.code).toBe(1);
    expect(format.stderr).toContain('must be pretty or json');
  });

  it('serve: flags over variables, JSON logs off a terminal, a file published while it runs is in the catalog at once, a clean stop', async () => {
    const contentDir = join(dir, 'content');
    // The variable says port 1 (which would fail); the flag wins.
    const server = await startServeProcess(process.execPath, ['--import', 'tsx', BIN, 'serve', contentDir, '--port', '0', '--host', '127.0.0.1', '--demo-size', '65536', '--log-level', 'info'], {
      env: { TABSWARM_PORT: '1', TABSWARM_LOG_FORMAT: '' },
    });
    try {
      expect(new URL(server.url).port, 'the flag --port 0 won over TABSWARM_PORT=1').not.toBe('1');
      const catalog = async () => ((await (await fetch(`${server.url}/api/catalog`)).json()) as { contents: Array<{ name: string }> }).contents.map((c) => c.name);
      // The demo file (and the demo video, where ffmpeg is installed).
      const before = await catalog();
      expect(before).toContain('tabswarm-demo-64KiB.bin');
      expect(before).not.toContain('later.bin');
      const file = join(dir, 'later.bin');
      await writeDeterministicFile(file, 100_000, 9);
      const published = await exitOf(['publish', file, '--content-dir', contentDir]);
      expect(published.code).toBe(0);
      expect((await catalog()).sort()).toEqual([...before, 'later.bin'].sort());
      // Not a terminal: one JSON record per line.
      const records = server.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; level?: number });
      expect(records.some((r) => r.msg === 'listening')).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.stdout()).toContain('"msg":"shutting down"');
  });
});
