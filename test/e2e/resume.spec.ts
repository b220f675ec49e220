/**
 * A reload resumes: verified pieces live in IndexedDB, so the reloaded page takes them from
 * storage and asks the CDN only for the rest.
 */
import { expect, test } from '@playwright/test';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(20 * MiB, 12);
});
test.afterAll(async () => {
  await swarm?.close();
});

test('a reloaded page resumes from the pieces it stored', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const peer = await openPeer(browser, `${server.url}/?httpDelayMs=0&cdnRequestsInFlight=1#c=${contentId}`);
  await peer.page.waitForFunction(() => (window.tabswarm?.current()?.download.have.cardinality ?? 0) >= 4, undefined, { polling: 10 });
  await peer.page.reload();
  await waitComplete(peer.page);

  const s = await stats(peer.page);
  const pieceCount = fileSize / MiB;
  expect(s.piecesFromStore).toBeGreaterThanOrEqual(4);
  expect(s.piecesFromStore + s.piecesFromCdn).toBe(pieceCount);
  // Besides what was stored, the CDN served at most the one piece in flight at the reload.
  expect(server.cdnLog.bytesFor(contentId)).toBeLessThanOrEqual(fileSize + MiB);
  expect(await savedFileSha256(peer.page)).toBe(fileSha256);
  await peer.context.close();
});

test('a piece write that IndexedDB fails once is written again, and the download completes', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const context = await browser.newContext({ acceptDownloads: true });
  // The first write of piece 3 fails the way Chromium fails a Blob write under load: the
  // transaction aborts with a DataError.
  await context.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    let failed = 0;
    (globalThis as { failedPuts?: () => number }).failedPuts = () => failed;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (failed === 0 && Array.isArray(key) && key[1] === 3) {
        failed++;
        this.transaction.abort();
      }
      return put.call(this, value, key);
    };
  });
  const page = await context.newPage();
  await page.goto(`${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(page);
  expect(await page.evaluate(() => (globalThis as { failedPuts?: () => number }).failedPuts?.())).toBe(1);
  const s = await stats(page);
  expect(s.piecesFromCdn).toBe(fileSize / MiB);
  expect(await savedFileSha256(page)).toBe(fileSha256);
  await context.close();
});
