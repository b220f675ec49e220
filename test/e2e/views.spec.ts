/**
 * The live views say what the client says: after a seeder and a downloader share a file in
 * real Chromium, the downloader's piece map counts (by source, per peer) equal the download's
 * own counters, and the activity monitor's figures equal `client.status()`. Screenshots of the
 * page in light and dark, at desktop and phone widths, are kept with the test results.
 * Run alone with `npm run test:e2e -- views`.
 */
import { expect, test } from '@playwright/test';
import { formatBytes } from '../../src/ui/format.js';
import { openPeer, screenshot, startTestServer, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  // A slow CDN (1 MiB/s per response, 4 at once) so that the downloader's first pieces come
  // from it before its peer link is up, and the rest from the seeder.
  swarm = await startTestServer(9 * MiB + 99, 61, { cdnRateBytesPerSec: MiB });
});
test.afterAll(async () => swarm?.close());

test('the piece map and the activity monitor match the client', async ({ browser }) => {
  const { server, contentId } = swarm;
  const seeder = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(seeder.page);
  // The CDN from the start, the seeder once linked: both sources on the map.
  const peer = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(peer.page);
  await peer.page.waitForTimeout(1200); // one more activity sample and a redraw after completion

  const view = await peer.page.evaluate(() => {
    const d = window.tabswarm.current()!;
    window.tabswarm.swarmView()!.render();
    const counts = window.tabswarm.swarmView()!.map.counts(new Set(d.download.inFlightPieces()));
    const s = d.download.snapshot();
    const legend = [...document.querySelectorAll('#piece-legend li')].map((li) => li.textContent);
    const figures = Object.fromEntries([...document.querySelectorAll('#activity-figures dd')].map((dd) => [(dd as HTMLElement).dataset.figure, dd.textContent]));
    const sources = Object.fromEntries([...document.querySelectorAll('#activity-legend li')].map((li) => [(li as HTMLElement).dataset.source, li.textContent]));
    return { counts, snapshot: s, legend, figures, sources, status: window.tabswarm.client.status(), pieceCount: d.download.pieceCount };
  });
  const { counts, snapshot: s, status } = view;
  console.log(`piece map ${JSON.stringify(counts)}; client: ${s.piecesFromPeers} from peers, ${s.piecesFromCdn} from the CDN`);
  // The map: every piece accounted for, by the same source the client counted.
  expect(counts.missing + counts.inFlight + counts.rejected).toBe(0);
  expect(counts.cdn).toBe(s.piecesFromCdn);
  expect(counts.store).toBe(s.piecesFromStore);
  for (const p of s.peers) expect(counts.peers[p.peerId] ?? 0).toBe(p.piecesFrom);
  expect(counts.cdn + counts.store + Object.values(counts.peers).reduce((a, b) => a + b, 0)).toBe(view.pieceCount);
  expect(counts.cdn).toBeGreaterThan(0);
  expect(Object.keys(counts.peers).length).toBeGreaterThan(0);
  expect(view.legend).toContain(`CDN: ${counts.cdn}`);
  // The activity monitor: the status API's totals, in the page's units.
  expect(view.figures.total).toBe(formatBytes(status.TotalBytesFromLanPeers + status.TotalBytesFromHTTP));
  expect(view.figures['peer-share']).toBe(`${status.PercentPeerCaching.toFixed(1)}%`);
  expect(view.figures.uploaded).toBe(formatBytes(status.TotalBytesToPeers));
  expect(view.sources.lan).toContain(formatBytes(status.TotalBytesFromLanPeers));
  expect(view.sources.cdn).toContain(formatBytes(status.TotalBytesFromHTTP));
  expect(status.TotalBytesFromLanPeers).toBe(s.bytesFromPeers);
  expect(status.TotalBytesFromHTTP).toBe(s.bytesFromCdn);

  for (const scheme of ['light', 'dark'] as const) {
    await peer.page.emulateMedia({ colorScheme: scheme });
    await peer.page.setViewportSize({ width: 1280, height: 900 });
    await screenshot(peer.page, `app-${scheme}`);
    await peer.page.setViewportSize({ width: 390, height: 844 });
    await screenshot(peer.page, `app-${scheme}-phone`);
  }
  await peer.context.close();
  await seeder.context.close();
});

test('keyboard only: the catalog, the download and the status export are reachable and usable with Tab and Enter', async ({ browser }) => {
  const { server, contentId } = swarm;
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${server.url}/?httpDelayMs=0`);
  await page.locator('#catalog-list a').first().waitFor();
  // Tab until the catalog's Download link has the focus, then Enter.
  const focusedText = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
  for (let i = 0; i < 10 && (await focusedText()) !== 'Download'; i++) await page.keyboard.press('Tab');
  expect(await focusedText()).toBe('Download');
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => window.tabswarm.current()?.download.contentId === id && window.tabswarm.current()?.download.state === 'complete', contentId, { timeout: 60_000 });
  // Save file and Export status are buttons in the tab order.
  for (let i = 0; i < 20 && (await focusedText()) !== 'Save file'; i++) await page.keyboard.press('Tab');
  expect(await focusedText()).toBe('Save file');
  await page.keyboard.press('Tab');
  // Chromium has the File System Access API: "Save to…" is there too.
  expect(await focusedText()).toBe('Save to…');
  await page.keyboard.press('Tab');
  expect(await focusedText()).toBe('Export status (JSON)');
  const [exported] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  expect(exported.suggestedFilename()).toMatch(/^tabswarm-status-.*\.json$/);
  // Focus is visible: the focused button has an outline.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
  expect(outline).not.toBe('none');
  await context.close();
});
