/**
 * DO's upload controls in real Chromium, measured by their effect: a tab with uploads off, or
 * on battery (the Battery Status API answering "not charging"), sends no piece byte to a peer
 * that asks (the other tab completes from the CDN); an upload cap holds the rate a peer gets.
 * The Node tests (test/unit/core/bandwidth-*.test.ts) measure the limits and the foreground /
 * background rules precisely; this checks the browser wiring (settings from the URL, the
 * Battery API, the client's shared Bandwidth). Run alone with `npm run test:e2e -- controls`.
 */
import { expect, test, type Browser } from '@playwright/test';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type PeerPage, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(8 * MiB + 12, 71, { announceIntervalMs: 2000 });
});
test.afterAll(async () => swarm?.close());

/** A tab on a laptop running on battery: its Battery Status API says "not charging" from the start. */
async function openOnBattery(browser: Browser, url: string): Promise<PeerPage> {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.addInitScript(() => {
    const battery = Object.assign(new EventTarget(), { charging: false, level: 0.5, chargingTime: Infinity, dischargingTime: 3600 });
    Object.defineProperty(Navigator.prototype, 'getBattery', { value: () => Promise.resolve(battery), configurable: true });
  });
  const page = await context.newPage();
  await page.goto(url);
  return { context, page };
}

for (const how of ['uploadsEnabled=false', 'on battery'] as const) {
  test(`a seeder with ${how} sends no piece to a peer; the peer completes from the CDN`, async ({ browser }) => {
    const { server, contentId, fileSize, fileSha256 } = swarm;
    const seeder =
      how === 'on battery'
        ? await openOnBattery(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`)
        : await openPeer(browser, `${server.url}/?httpDelayMs=0&uploadsEnabled=false#c=${contentId}`);
    await waitComplete(seeder.page);
    const blocked = await seeder.page.evaluate(() => window.tabswarm.client.status().UploadsBlocked);
    expect(blocked).toBe(how === 'on battery' ? 'on battery' : 'uploads disabled');
    // The peer waits 1.5 s for peers, then takes its share of the CDN; a tab that does not upload
    // looks like a downloader to it (an empty bitfield), so it waits 1 s (peerStallMs) for "its" share too.
    const peer = await openPeer(browser, `${server.url}/?httpDelayMs=1500&peerStallMs=1000#c=${contentId}`);
    await waitComplete(peer.page);
    const [a, b] = await Promise.all([stats(seeder.page), stats(peer.page)]);
    console.log(`${how}: seeder uploaded ${a.bytesUploaded} B; the peer got ${b.bytesFromPeers} B from peers, ${b.bytesFromCdn} B from the CDN, linked to ${b.peers.filter((p) => p.connected).length}`);
    expect(a.bytesUploaded).toBe(0);
    expect(b.bytesFromPeers).toBe(0);
    expect(b.bytesFromCdn).toBe(fileSize);
    expect(b.peers.length).toBeGreaterThan(0); // they did meet: the peer linked to the seeder and got nothing
    expect(await savedFileSha256(peer.page)).toBe(fileSha256);
    await peer.context.close();
    await seeder.context.close();
  });
}

test('an upload cap holds: a peer that can only get the file from a capped seeder gets it at the cap', async ({ browser }) => {
  const { server, contentId, fileSize } = swarm;
  const cap = 2_000_000;
  const seeder = await openPeer(browser, `${server.url}/?httpDelayMs=0&maxUploadBytesPerSec=${cap}#c=${contentId}`);
  await waitComplete(seeder.page);
  const peer = await openPeer(browser, `${server.url}/?httpDelayMs=600000#c=${contentId}`);
  // When each piece is stored, and its size (the download exists once the metadata is in, well
  // before the first peer piece).
  await peer.page.waitForFunction(() => window.tabswarm?.current() !== undefined, undefined, { polling: 5 });
  await peer.page.evaluate(() => {
    const d = window.tabswarm.current()!;
    const times: Array<[number, number]> = [];
    (window as unknown as { __pieceTimes: Array<[number, number]> }).__pieceTimes = times;
    d.on('piece', (p) => times.push([Date.now(), p.index]));
  });
  await waitComplete(peer.page);
  const s = await stats(peer.page);
  expect(s.bytesFromPeers).toBe(fileSize);
  // From the second to the last verified piece: the bytes of every piece after the second, over
  // that time. (The first piece's time includes the workers' and the store's cold start.)
  const times = await peer.page.evaluate(() => (window as unknown as { __pieceTimes: Array<[number, number]> }).__pieceTimes);
  const pieceCount = Math.ceil(fileSize / MiB);
  const lengthOf = (i: number) => (i === pieceCount - 1 ? fileSize - i * MiB : MiB);
  expect(times.length).toBe(pieceCount);
  const seconds = (times.at(-1)![0] - times[1]![0]) / 1000;
  const rate = times.slice(2).reduce((a, [, i]) => a + lengthOf(i), 0) / seconds;
  console.log(`capped at ${cap} B/s: ${Math.round(rate)} B/s over ${seconds.toFixed(2)} s`);
  // Never above the cap by more than 15%; below it only by what a loaded machine costs.
  expect(rate).toBeLessThanOrEqual(cap * 1.15);
  expect(rate).toBeGreaterThan(cap * 0.5);
  const bw = await seeder.page.evaluate(() => window.tabswarm.client.bandwidth());
  expect(bw.throttledTakes).toBeGreaterThan(0);
  await peer.context.close();
  await seeder.context.close();
});
