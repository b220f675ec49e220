/**
 * `tabswarm cache` from a clone (signaling/bin.ts through tsx): its settings table (--help
 * lists each flag with its variable and default), wrong command lines (exit 2 with the reason),
 * a directory another node holds (exit 1), and a run that serves its report and stops cleanly
 * on SIGTERM with its store kept. What the node does with tabs: test/unit/node/cache-node.test.ts
 * and test/e2e/cache-node.spec.ts.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_SETTINGS, readSettings } from '../../src/node/cli/cache.js';
import { startCache } from '../helpers/cache-process.js';
import { makeTempDir, removeDir } from './helpers.js';

const run = promisify(execFile);
const TSX = join('node_modules', '.bin', 'tsx');

async function exitOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, ['signaling/bin.ts', 'cache', ...args], { timeout: 20_000, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('tabswarm cache', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('tabswarm-cli-cache-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('--help lists every setting with its variable and default', async () => {
    const help = await exitOf(['--help']);
    expect(help.code).toBe(0);
    for (const s of CACHE_SETTINGS) {
      expect(help.stdout).toContain(`--${s.flag}`);
      expect(help.stdout).toContain(`${s.env}; default ${s.default}`);
    }
  }, 30_000);

  it('refuses a wrong command line with the reason (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /--server \(or TABSWARM_SERVER\) is required/],
      [['--server', 'ftp://x'], /--server must be an http\(s\) URL/],
      [['--server', 'http://127.0.0.1:1', '--key', 'short'], /--key must be 16 to 128/],
      [['--server', 'http://127.0.0.1:1', '--scope', 'planet'], /--scope must be lan, internet or group:<id>/],
      [['--server', 'http://127.0.0.1:1', '--content', 'nothex'], /--content must be a content ID/],
      [['--server', 'http://127.0.0.1:1', '--max-disk', 'lots'], /--max-disk must be a size/],
      [['--server', 'http://127.0.0.1:1', '--metrics', 'nowhere'], /--metrics must be host:port or off/],
      [['--server', 'http://127.0.0.1:1', '--listen', '7300'], /--listen must be host:port/],
      [['--server', 'http://127.0.0.1:1', '--no-such-flag'], /Unknown option '--no-such-flag'/],
    ];
    for (const [args, reason] of cases) expect(() => readSettings(args, {}), args.join(' ')).toThrow(reason);
    // A variable is read like its flag, and a flag wins over it.
    expect(() => readSettings(['--server', 'http://127.0.0.1:1'], { TABSWARM_CACHE_CONTENTS: 'some' })).toThrow(/--contents must be all or listed, got "some"/);
    const read = readSettings(['--server', 'http://127.0.0.1:1/x', '--max-disk', '2G', '--scope', 'group:class-7b,lan'], { TABSWARM_CACHE_MAX_DISK: '1G', TABSWARM_CACHE_DIR: '/srv/c' });
    expect(read).toMatchObject({ node: { serverUrl: 'http://127.0.0.1:1', directory: '/srv/c', scopes: [{ mode: 'group', group: 'class-7b' }, { mode: 'lan' }], config: { maxCacheBytes: 2 * 1024 ** 3 } } });
    // The command itself: the reason on stderr, the usage, exit 2.
    const wrong = await exitOf(['--server', 'http://127.0.0.1:1', '--scope', 'planet']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--scope must be lan, internet or group:<id>[\s\S]*usage: tabswarm cache/);
  }, 60_000);

  it('runs: serves its report, refuses a second node on its directory (exit 1), stops on SIGTERM keeping its store', async () => {
    const store = join(dir, 'store');
    const node = await startCache(['--server', 'http://127.0.0.1:9', '--dir', store]);
    try {
      expect(node.peerId).toMatch(/^[0-9a-f]{32}$/);
      const metrics = await (await fetch(`${node.reportUrl}/metrics`)).text();
      expect(metrics).toMatch(/^tabswarm_cache_node_contents 0$/m);
      const second = await exitOf(['--server', 'http://127.0.0.1:9', '--dir', store, '--metrics', 'off']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/cannot start: .*(lock|held|another)/i);
    } finally {
      expect(await node.stop()).toBe(0);
    }
    expect(await readdir(store)).not.toContain('tabswarm.lock');
  }, 60_000);
});
