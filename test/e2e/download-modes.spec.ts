/**
 * DO's download modes that do not peer, in real Chromium, each beside a seeding tab it must
 * ignore: HTTP only (0) verifies every piece but opens no WebRTC connection and never talks to
 * the Arrays service; Simple (99) asks the server for nothing but the file; Bypass (100)
 * downloads nothing itself and hands the file's URL to the browser.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(6 * MiB + 321, 17);
});
test.afterAll(async () => {
  await swarm?.close();
});

async function seeder(browser: Browser) {
  const peer = await openPeer(browser, `${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
  await waitComplete(peer.page);
  return peer;
}

/** Opens the page in `mode`, recording every request path and WebSocket URL and counting RTCPeerConnections. */
async function openInMode(browser: Browser, mode: string) {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    (window as unknown as { peerConnections: number }).peerConnections = 0;
    window.RTCPeerConnection = function (this: unknown, ...args: ConstructorParameters<typeof RTCPeerConnection>) {
      (window as unknown as { peerConnections: number }).peerConnections++;
      return new Original(...args);
    } as unknown as typeof RTCPeerConnection;
  });
  const page = await context.newPage();
  const paths: string[] = [];
  const sockets: string[] = [];
  page.on('request', (r) => paths.push(new URL(r.url()).pathname));
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`${swarm.server.url}/?httpDelayMs=0&downloadMode=${mode}#c=${swarm.contentId}`);
  return { context, page, paths, sockets };
}

const peerConnections = (page: Page) => page.evaluate(() => (window as unknown as { peerConnections: number }).peerConnections);

test('HTTP only (DO 0): verified, from the CDN, with no peer connection and no Arrays traffic', async ({ browser }) => {
  const seed = await seeder(browser);
  const tab = await openInMode(browser, 'http');
  await waitComplete(tab.page);
  const s = await stats(tab.page);
  expect(s.bytesFromCdn).toBe(swarm.fileSize);
  expect(s.bytesFromPeers).toBe(0);
  expect(s.bytesUploaded).toBe(0);
  expect(await peerConnections(tab.page)).toBe(0);
  expect(tab.sockets).toEqual([]);
  expect(tab.paths).toContain(`/meta/${swarm.contentId}`);
  await expect(tab.page.locator('#dl-state')).toContainText('verified');
  expect(await savedFileSha256(tab.page)).toBe(swarm.fileSha256);
  await tab.context.close();
  await seed.context.close();
});

test('Simple (DO 99): no policy, no metadata, no Arrays; the file from the CDN base, unverified', async ({ browser }) => {
  const seed = await seeder(browser);
  const tab = await openInMode(browser, 'simple');
  await waitComplete(tab.page);
  const s = await stats(tab.page);
  expect(s.bytesFromCdn).toBe(swarm.fileSize);
  expect(s.bytesFromPeers).toBe(0);
  expect(await peerConnections(tab.page)).toBe(0);
  expect(tab.sockets).toEqual([]);
  // The page's own catalog request aside, nothing about this content but the CDN.
  expect(tab.paths.filter((p) => p.includes(swarm.contentId) && !p.startsWith('/cdn/'))).toEqual([]);
  await expect(tab.page.locator('#dl-simple')).toContainText('Simple (99)');
  expect(await savedFileSha256(tab.page)).toBe(swarm.fileSha256);
  await tab.context.close();
  await seed.context.close();
});

test('Bypass (DO 100): tabswarm downloads nothing and offers the browser the file itself', async ({ browser }) => {
  const before = swarm.server.cdnLog.bytesFor(swarm.contentId);
  const tab = await openInMode(browser, 'bypass');
  const link = tab.page.locator('#dl-bypass');
  await expect(link).toBeVisible();
  await tab.page.screenshot({ path: 'test-results/download-mode-bypass.png', fullPage: true });
  const href = await link.getAttribute('href');
  expect(href).toMatch(new RegExp(`/cdn/${swarm.contentId}/`));
  expect(await tab.page.evaluate(() => window.tabswarm.current())).toBeFalsy();
  expect(tab.sockets).toEqual([]);
  expect(swarm.server.cdnLog.bytesFor(swarm.contentId)).toBe(before);
  // The link is the file: the browser's own download of it has the right bytes.
  const [download] = await Promise.all([tab.page.waitForEvent('download'), link.click()]);
  const { createHash } = await import('node:crypto');
  const { readFile } = await import('node:fs/promises');
  expect(createHash('sha256').update(await readFile((await download.path())!)).digest('hex')).toBe(swarm.fileSha256);
  await tab.context.close();
});

test('a browser without WebRTC downloads from the CDN, verified, and says why no peer shows up', async ({ browser }) => {
  const seed = await seeder(browser);
  const context = await browser.newContext({ acceptDownloads: true });
  // WebRTC turned off (a policy, a privacy extension): no RTCPeerConnection at all.
  await context.addInitScript(() => {
    delete (window as unknown as { RTCPeerConnection?: unknown }).RTCPeerConnection;
  });
  const page = await context.newPage();
  await page.goto(`${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
  await waitComplete(page);
  const s = await stats(page);
  expect(s.bytesFromCdn).toBe(swarm.fileSize);
  expect(s.bytesFromPeers).toBe(0);
  await expect(page.locator('#dl-simple')).toContainText('No peers: this browser offers no WebRTC');
  await expect(page.locator('#dl-state')).toContainText('verified');
  expect(await savedFileSha256(page)).toBe(swarm.fileSha256);
  await context.close();
  await seed.context.close();
});
