/**
 * The README's run command as a newcomer uses it: `signaling/main.ts` on an empty content
 * folder publishes the deterministic demo file; three browser profiles open the printed link
 * at the same moment, with the default settings, and trade pieces while they download.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { deterministicChunk } from '../../signaling/deterministic-content.js';
import { DEMO_SEED } from '../../signaling/content-store.js';
import { openPeer, savedFileSha256, stats, waitComplete } from './fixtures.js';

const MiB = 1024 * 1024;
const DEMO_SIZE = 32 * MiB;
let dir: string;
let server: ChildProcess | undefined;

test.afterAll(async () => {
  server?.kill('SIGTERM');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts the run command's server and resolves with the demo link it prints. */
function startRunCommand(contentDir: string): Promise<string> {
  server = spawn(process.execPath, ['--import', 'tsx', 'signaling/main.ts'], {
    env: { ...process.env, TABSWARM_PORT: '0', TABSWARM_HOST: '127.0.0.1', TABSWARM_CONTENT_DIR: contentDir, TABSWARM_DEMO_SIZE: String(DEMO_SIZE), TABSWARM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no link printed within 60 s:\n${out}`)), 60_000);
    server!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /link:\s+(\S+#c=[0-9a-f]{64})/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    server!.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

test('the run command serves the demo, and three profiles opening it at once share it', async ({ browser }) => {
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-run-'));
  const link = await startRunCommand(join(dir, 'content'));
  const expectedSha = createHash('sha256').update(deterministicChunk(DEMO_SEED, 0, DEMO_SIZE)).digest('hex');

  const t0 = Date.now();
  const peers = await Promise.all([0, 1, 2].map(() => openPeer(browser, link)));
  const seconds = await Promise.all(
    peers.map(async (p) => {
      await waitComplete(p.page);
      return (Date.now() - t0) / 1000;
    }),
  );
  const snaps = await Promise.all(peers.map((p) => stats(p.page)));
  const cdnLog = (await (await fetch(new URL('/api/cdn-log', link))).json()) as { totalBytes: number };
  console.log(`demo ${DEMO_SIZE / MiB} MiB; CDN served ${(cdnLog.totalBytes / MiB).toFixed(2)} MiB (${(cdnLog.totalBytes / DEMO_SIZE).toFixed(2)}x)`);
  console.table(snaps.map((s, i) => ({ peer: i + 1, fromPeersMiB: +(s.bytesFromPeers / MiB).toFixed(2), fromCdnMiB: +(s.bytesFromCdn / MiB).toFixed(2), seconds: seconds[i] })));

  for (const p of peers) expect(await savedFileSha256(p.page)).toBe(expectedSha);
  const mostlyFromPeers = snaps.filter((s) => s.bytesFromPeers > s.bytesFromCdn).length;
  expect(mostlyFromPeers).toBeGreaterThanOrEqual(2);
  expect(cdnLog.totalBytes).toBeLessThan(2 * DEMO_SIZE);
  for (const p of peers) await p.context.close();
});
