/**
 * The Arrays service goes away in the middle of a download. What must hold:
 * - the WebRTC data channel already open does not need it: the download goes on and completes
 *   from the peer alone (the CDN is held back for ten minutes), every byte verified;
 * - the page keeps trying to reconnect while the service is down (exponential backoff with
 *   jitter, src/transport/ws-signaling.ts), and once a fresh instance is up (no swarms), both
 *   pages reconnect and announce again, so the new instance knows the swarm.
 */
import { expect, test, type Browser, type Page, type WebSocket as PwWebSocket } from '@playwright/test';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type PeerPage, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(24 * MiB + 4321, 17);
});
test.afterAll(async () => {
  await swarm?.close();
});

/** Like openPeer, and records every WebSocket the page opens to /arrays (each reconnect attempt is one). */
async function openWatchedPeer(browser: Browser, url: string): Promise<PeerPage & { sockets: PwWebSocket[] }> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const sockets: PwWebSocket[] = [];
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).pathname === '/arrays') sockets.push(ws);
  });
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(url);
  return { context, page, sockets };
}

async function poll(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const connectedPeers = (page: Page) => page.evaluate(() => window.tabswarm.current()?.download.snapshot().peers.filter((p) => p.connected).length ?? 0);

test('a download survives the Arrays service going down, and the pages reconnect when it is back', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;

  // The seeder gets the whole file from the CDN, then sends it in small chunks so that the
  // transfer to the downloader lasts long enough to be cut into.
  const seeder = await openPeer(browser, `${server.url}/?httpDelayMs=0&wireChunkBytes=4096#c=${contentId}`);
  await waitComplete(seeder.page);
  const cdnBefore = server.cdnLog.bytesFor(contentId);
  expect(cdnBefore).toBe(fileSize);

  // The downloader may not use the CDN for ten minutes: every byte must come from the seeder.
  const downloader = await openWatchedPeer(browser, `${server.url}/?httpDelayMs=600000&peerRequestsInFlight=1#c=${contentId}`);
  await poll(async () => (await connectedPeers(downloader.page)) >= 1, 60_000, 'the data channel to the seeder');
  // Take the service down once the first pieces came over the link, mid-transfer.
  await poll(async () => (await stats(downloader.page)).bytesFromPeers >= 2 * MiB, 60_000, 'the first pieces from the seeder');
  const socketsBefore = downloader.sockets.length;
  expect(socketsBefore).toBe(1);
  await server.arrays.stop();
  const cutAt = await stats(downloader.page);
  console.log(`Arrays stopped after ${(cutAt.bytesFromPeers / MiB).toFixed(2)} of ${(fileSize / MiB).toFixed(2)} MiB`);
  expect(cutAt.bytesFromPeers).toBeGreaterThanOrEqual(2 * MiB);
  expect(cutAt.bytesFromPeers).toBeLessThan(fileSize);
  expect(server.arrays.connections).toBe(0);
  await poll(() => downloader.sockets[0]!.isClosed(), 10_000, "the page's signaling socket to close");
  // The data channel does not depend on the signaling socket.
  expect(await connectedPeers(downloader.page)).toBe(1);

  // The download completes over the data channel alone.
  await waitComplete(downloader.page);
  const done = await stats(downloader.page);
  expect(done.bytesFromPeers).toBe(fileSize);
  expect(done.bytesFromCdn).toBe(0);
  expect(done.piecesRejected).toBe(0);
  expect(server.cdnLog.bytesFor(contentId)).toBe(cdnBefore);
  expect(await savedFileSha256(downloader.page)).toBe(fileSha256);

  // Meanwhile the page kept trying to reconnect (each attempt is a new WebSocket, refused with 503).
  await poll(() => downloader.sockets.length >= socketsBefore + 2, 30_000, 'two reconnect attempts', 50);
  const attemptsWhileDown = downloader.sockets.length - socketsBefore;
  expect(server.arrays.connections).toBe(0);

  // A fresh instance: both pages come back and announce again, so it knows the swarm.
  server.arrays.start();
  await poll(() => server.arrays.connections === 2, 60_000, 'both pages to reconnect', 50);
  await poll(async () => (await server.arrays.swarmSize(contentId)) === 2, 30_000, 'both pages to re-announce', 50);
  console.log(`reconnect attempts while the service was down: ${attemptsWhileDown}; sockets opened in all: ${downloader.sockets.length}`);
  // The swarm view's event log told the user: the service lost, then back.
  const log = await downloader.page.evaluate(() => [...document.querySelectorAll('#event-log li[data-kind="reconnect"]')].map((li) => li.textContent ?? ''));
  expect(log.some((t) => t.includes('Lost the Arrays service; reconnecting in'))).toBe(true);
  await poll(
    () => downloader.page.evaluate(() => [...document.querySelectorAll('#event-log li[data-kind="reconnect"]')].some((li) => li.textContent?.includes('Connected to the Arrays service'))),
    10_000,
    'the reconnection in the event log',
    50,
  );

  for (const p of [seeder, downloader]) await p.context.close();
});
