/**
 * `tabswarm get` in a swarm with real Chromium tabs, over real WebRTC (node-datachannel on the
 * command's side): it fetches a file from a tab that downloaded it, and, with --seed, a tab
 * fetches the file from it. The downloader's HTTP delay is 10 minutes (`?httpDelayMs=600000`
 * in the link, read by the command as by the app), so every byte it gets must come from the
 * peer; the server's CDN log proves none came from the CDN.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { runGet, startGet } from '../helpers/get-process.js';
import { openPeer, stats, startTestServer, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;
let dir: string;

test.beforeAll(async () => {
  swarm = await startTestServer(12 * MiB + 5, 171);
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-get-e2e-'));
});
test.afterAll(async () => {
  await swarm?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('tabswarm get fetches a file from a browser tab over WebRTC, nothing from the CDN', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const tab = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(tab.page);
  const cdnAfterTab = server.cdnLog.bytesFor(contentId);
  expect(cdnAfterTab).toBe(fileSize);

  const cwd = join(dir, 'from-tab');
  await mkdir(cwd);
  const run = await runGet([`${server.url}/?httpDelayMs=600000#c=${contentId}`, '-o', 'file.bin', '--stall-timeout', '30'], cwd, {}, 90_000);
  console.log(run.stderr);
  expect(run.code, run.stderr).toBe(0);
  expect(sha256(await readFile(join(cwd, 'file.bin')))).toBe(fileSha256);
  expect(run.stderr).toContain('from peers 12.0 MiB (13 pieces), from the CDN 0 B (0 pieces)');
  expect(server.cdnLog.bytesFor(contentId)).toBe(cdnAfterTab);
  const uploaded = await tab.page.evaluate(() => window.tabswarm.client.status().TotalBytesToPeers);
  expect(uploaded).toBeGreaterThanOrEqual(fileSize);
  await tab.context.close();
});

test('a browser tab fetches a file from tabswarm get --seed over WebRTC, nothing from the CDN', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const cwd = join(dir, 'seeder');
  await mkdir(cwd);
  server.cdnLog.reset();
  const seeder = startGet([`${server.url}/?httpDelayMs=0#c=${contentId}`, '-o', 'file.bin', '--seed'], cwd);
  try {
    await expect.poll(() => seeder.stderr(), { timeout: 30_000 }).toContain('seeding');
    expect(server.cdnLog.bytesFor(contentId)).toBe(fileSize);
    const tab = await openPeer(browser, `${server.url}/?httpDelayMs=600000#c=${contentId}`);
    await waitComplete(tab.page, 90_000);
    const s = await stats(tab.page);
    expect(s.bytesFromPeers).toBe(fileSize);
    expect(s.bytesFromCdn).toBe(0);
    expect(s.piecesFromPeers).toBe(13);
    expect(server.cdnLog.bytesFor(contentId)).toBe(fileSize);
    await tab.context.close();
  } finally {
    seeder.child.kill('SIGTERM');
  }
  expect((await seeder.exited).code, seeder.stderr()).toBe(0);
  console.log(seeder.stderr());
  expect(seeder.stderr()).toMatch(/stopped seeding: uploaded 12\.\d+ MiB/);
  expect(sha256(await readFile(join(cwd, 'file.bin')))).toBe(fileSha256);
});
