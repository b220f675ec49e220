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

