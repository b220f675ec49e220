/**
 * The whole path in real Chromium: three peers, each in its own browser context, over real
 * WebRTC, against a real server. The first gets the file from the CDN; the next two join
 * while it seeds and get most of their bytes from peers.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import type { PerfSnapshot } from '../../src/core/status.js';
import { mainThreadDigests, openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(24 * MiB + 777, 11);
});
test.afterAll(async () => {
  await swarm?.close();
});

test('three browser contexts form a verified swarm and spare the CDN', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const link = (delayMs: number) => `${server.url}/?httpDelayMs=${delayMs}#c=${contentId}`;

  const t0 = Date.now();
  const first = await openPeer(browser, link(500));
  await waitComplete(first.page);
  const firstSeconds = (Date.now() - t0) / 1000;

  const t1 = Date.now();
  const others = await Promise.all([openPeer(browser, link(4000)), openPeer(browser, link(4000))]);
  const otherSeconds = await Promise.all(
    others.map(async (p) => {
      await waitComplete(p.page);
      return (Date.now() - t1) / 1000;
    }),
  );

  const all = [first, ...others];
  const snapshots = await Promise.all(all.map((p) => stats(p.page)));
  const seconds = [firstSeconds, ...otherSeconds];
  const cdnServed = server.cdnLog.bytesFor(contentId);
  const table = snapshots.map((s, i) => ({
    peer: i + 1,
    fromPeersMiB: +(s.bytesFromPeers / MiB).toFixed(2),
    fromCdnMiB: +(s.bytesFromCdn / MiB).toFixed(2),
    uploadedMiB: +(s.bytesUploaded / MiB).toFixed(2),
    rejected: s.piecesRejected,
    cdnErrors: s.cdnErrors,
    seconds: +seconds[i]!.toFixed(2),
  }));
  console.log(`file ${(fileSize / MiB).toFixed(2)} MiB; CDN served ${(cdnServed / MiB).toFixed(2)} MiB (${(cdnServed / fileSize).toFixed(2)}x) in ${server.cdnLog.requestsFor(contentId)} requests`);
  console.table(table);

  // What a user sees at the end, kept with the test results to be looked at.
  await others[0]!.page.screenshot({ path: test.info().outputPath('peer2-complete.png'), fullPage: true });
  // Every copy is the file, byte for byte, as the user saves it.
  for (const p of all) expect(await savedFileSha256(p.page)).toBe(fileSha256);
  // The first peer had nobody to ask: all of it came from the CDN.
  expect(snapshots[0]!.bytesFromCdn).toBe(fileSize);
  expect(snapshots[0]!.bytesUploaded).toBeGreaterThan(0);
  // The others got at least half of their bytes from peers.
  for (const s of snapshots.slice(1)) {
    expect(s.bytesFromPeers + s.bytesFromCdn).toBe(fileSize);
    expect(s.bytesFromPeers).toBeGreaterThanOrEqual(fileSize / 2);
  }
  // Every piece, the metadata and the whole file were hashed in workers, none on the page's thread.
  for (const p of all) expect(await mainThreadDigests(p.page)).toBe(0);
  // The CDN did not serve the file once per peer.
  expect(cdnServed).toBeLessThan(3 * fileSize);
  expect(cdnServed).toBeGreaterThanOrEqual(fileSize);

  // DO's status, exported from the page as a user would (the "Export status (JSON)" button):
  // the same bytes as the client's counters, by source and scope.
  const [exported] = await Promise.all([others[0]!.page.waitForEvent('download'), others[0]!.page.getByRole('button', { name: 'Export status (JSON)' }).click()]);
  const snap = JSON.parse(await readFile(await exported.path(), 'utf8')) as PerfSnapshot;
  await writeFile(test.info().outputPath('status-peer2.json'), JSON.stringify(snap, null, 2));
  console.log(`status export of peer 2:\n${JSON.stringify(snap, null, 2)}`);
  const mine = snapshots[1]!;
  expect(snap.Files).toBe(1);
  expect(snap.Downloads[0]).toMatchObject({
    FileId: contentId,
    FileSize: fileSize,
    Status: 'Complete',
    DownloadMode: 'Lan',
    Priority: 'Foreground',
    BytesFromPeers: mine.bytesFromPeers,
    BytesFromLanPeers: mine.bytesFromPeers,
    BytesFromHTTP: mine.bytesFromCdn,
    TotalBytesDownloaded: fileSize,
  });
  expect(snap.Downloads[0]!.BytesToPeers).toBeGreaterThanOrEqual(mine.bytesUploaded);
  expect(snap.Downloads[0]!.PercentPeerCaching).toBeCloseTo((100 * mine.bytesFromPeers) / fileSize, 0);
  const peersWithBytes = snap.Downloads[0]!.Peers.filter((p) => p.BytesFrom > 0);
  expect(peersWithBytes.reduce((a, p) => a + p.BytesFrom, 0)).toBe(mine.bytesFromPeers);
  expect(snap.TotalBytesFromPeers).toBe(mine.bytesFromPeers);
  for (const p of all) await p.context.close();
});
