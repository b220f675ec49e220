/**
 * The cache keeps giving: a tab that downloaded a file and then opens the app again (a new
 * page, no download asked) offers the cached file to peers from IndexedDB, without fetching a
 * byte again; with `maxSeededContents=0` it offers nothing. Real Chromium, real WebRTC.
 * Run alone with `npm run test:e2e -- cache-seed`.
 */
import { expect, test } from '@playwright/test';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(6 * MiB + 3, 81, { announceIntervalMs: 2000 });
});
test.afterAll(async () => swarm?.close());

test('a page reopened without a download seeds what its cache holds; maxSeededContents=0 seeds nothing', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const a = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(a.page);
  const cdnAfterA = server.cdnLog.bytesFor(contentId);
  expect(cdnAfterA).toBe(fileSize);
  const cached = await a.page.evaluate(() => window.tabswarm.client.cached());
  expect(cached.map((r) => [r.contentId, r.complete, r.bytesStored, r.seedable])).toEqual([[contentId, true, fileSize, true]]);

  // The same browser profile opens the app again, on the catalog: nothing is downloading.
  await a.page.goto(`${server.url}/`);
  await a.page.waitForFunction(() => window.tabswarm.client.status().Files === 1, undefined, { timeout: 20_000 });
  // The seed opens its stored pieces first (Downloading, 0 bytes fetched), then is Complete.
  await a.page.waitForFunction(() => window.tabswarm.client.status().Downloads[0]?.Status !== 'Downloading', undefined, { timeout: 20_000 });
  const seed = await a.page.evaluate(() => window.tabswarm.client.status().Downloads[0]!);
  expect(seed).toMatchObject({ FileId: contentId, Status: 'Complete', TotalBytesDownloaded: 0 });

  // A newcomer that will not use the CDN for 10 minutes gets every byte from the cache's seed.
  const b = await openPeer(browser, `${server.url}/?httpDelayMs=600000#c=${contentId}`);
  await waitComplete(b.page);
  const sb = await stats(b.page);
  expect(sb.bytesFromPeers).toBe(fileSize);
  expect(await savedFileSha256(b.page)).toBe(fileSha256);
  const after = await a.page.evaluate(() => window.tabswarm.client.status());
  console.log(`seed from the cache: uploaded ${after.TotalBytesToPeers} B, downloaded ${after.TotalBytesDownloaded} B`);
  expect(after.TotalBytesToPeers).toBeGreaterThanOrEqual(fileSize);
  expect(after.TotalBytesDownloaded).toBe(0);
  expect(server.cdnLog.bytesFor(contentId)).toBe(cdnAfterA); // nobody fetched from the CDN again
  await b.context.close();

  // Opening the content link itself on a page whose cache holds it: one Download, not a seed and
  // a download racing (they would answer the same peers with one peer ID).
  await a.page.goto(`${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(a.page);
  await a.page.waitForTimeout(1000); // the cache seeding has run by now, if it was going to
  const reopened = await a.page.evaluate(() => window.tabswarm.client.status());
  expect(reopened.Files).toBe(1);
  expect(reopened.Downloads[0]).toMatchObject({ FileId: contentId, Status: 'Complete', BytesFromCache: fileSize, TotalBytesDownloaded: 0 });

  // With the seeding limit at 0, the reopened page offers nothing: the next newcomer uses the CDN.
  await a.page.goto(`${server.url}/?maxSeededContents=0`);
  await a.page.waitForTimeout(1500);
  expect(await a.page.evaluate(() => window.tabswarm.client.status().Files)).toBe(0);
  const c = await openPeer(browser, `${server.url}/?httpDelayMs=1500#c=${contentId}`);
  await waitComplete(c.page);
  const sc = await stats(c.page);
  expect(sc.bytesFromPeers).toBe(0);
  expect(sc.bytesFromCdn).toBe(fileSize);
  await c.context.close();
  await a.context.close();
});
