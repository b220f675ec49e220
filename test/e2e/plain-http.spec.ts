/**
 * A page opened over plain HTTP by the machine's LAN address (not a secure context: the
 * browser gives it no WebCrypto) still downloads a verified file: its workers hash with SHA-256
 * in WebAssembly. Inside the test network namespace the veth address plays the LAN; the seeder
 * is a tab on loopback. Both join one group (download mode Group), since LAN mode would put
 * 127.0.0.1 and the veth address in different partitions.
 */
import { expect, test } from '@playwright/test';
import { lanAddress, openPeer, savedFileSha256, screenshot, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  // A slow CDN (1 MB/s per request), so that the peer has pieces left to give once its link is up.
  swarm = await startTestServer(16 * MiB + 333, 81, { host: '0.0.0.0', cdnRateBytesPerSec: 1_000_000 });
});
test.afterAll(async () => {
  await swarm?.close();
});

test('over plain HTTP on a LAN address: pieces from a peer and the CDN, hashed in WebAssembly, the file verified, and a note on what HTTP leaves open', async ({ browser }) => {
  const address = lanAddress();
  // Every run of this suite is in a network namespace with a veth (test/in-netns.mjs): an address is there.
  expect(address, 'a non-loopback IPv4 address (the test namespace gives one)').toBeDefined();
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const query = 'downloadMode=group&groupId=plain-http-class';
  const seeder = await openPeer(browser, `${server.url}/?${query}&httpDelayMs=0#c=${contentId}`);
  await waitComplete(seeder.page);

  const url = `http://${address}:${server.port}/?${query}&httpDelayMs=0#c=${contentId}`;
  const lan = await openPeer(browser, url);
  expect(await lan.page.evaluate(() => ({ secure: window.isSecureContext, subtle: typeof globalThis.crypto?.subtle }))).toEqual({ secure: false, subtle: 'undefined' });
  const notice = lan.page.locator('#secure-context-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('opened over plain HTTP');
  await expect(notice).toContainText('Every piece is still checked');
  await expect(notice.getByRole('link')).toHaveAttribute('href', `https://${address}:${server.port}/?${query}&httpDelayMs=0#c=${contentId}`);
  await waitComplete(lan.page);

  const s = await stats(lan.page);
  console.log(`plain HTTP page: ${(s.bytesFromPeers / MiB).toFixed(2)} MiB from peers, ${(s.bytesFromCdn / MiB).toFixed(2)} MiB from the CDN, ${s.piecesRejected} rejected`);
  expect(s.bytesFromPeers + s.bytesFromCdn).toBe(fileSize);
  expect(s.bytesFromPeers, 'bytes from the seeding tab').toBeGreaterThan(0);
  expect(s.bytesFromCdn, 'bytes from the CDN').toBeGreaterThan(0);
  expect(s.piecesRejected).toBe(0);
  // Verified: the page's download says so, and the saved file is the file.
  expect(await lan.page.evaluate(() => window.tabswarm.current()?.download.fileSha256)).toBe(fileSha256);
  expect(await savedFileSha256(lan.page)).toBe(fileSha256);
  await screenshot(lan.page, 'plain-http-complete');
  await lan.context.close();
  await seeder.context.close();
});

test('over plain HTTP, a piece with wrong bytes is still caught: the CDN is blamed and the file comes out right', async ({ browser }) => {
  const address = lanAddress();
  expect(address).toBeDefined();
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const page = (await openPeer(browser, 'about:blank')).page;
  // The CDN's third piece arrives with one byte changed, once.
  let tampered = false;
  await page.route('**/cdn/**', async (route) => {
    const range = route.request().headers()['range'] ?? '';
    const response = await route.fetch();
    if (tampered || !range.startsWith(`bytes=${2 * MiB}-`)) return route.fulfill({ response });
    tampered = true;
    const body = Buffer.from(await response.body());
    body[0] = body[0]! ^ 0xff;
    return route.fulfill({ response, body });
  });
  await page.goto(`http://${address}:${server.port}/?downloadMode=http#c=${contentId}`);
  expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
  await waitComplete(page);
  const s = await stats(page);
  expect(tampered).toBe(true);
  expect(s.piecesRejected).toBe(1);
  expect(s.cdnErrors).toBe(1);
  expect(s.bytesFromCdn).toBe(fileSize);
  expect(await savedFileSha256(page)).toBe(fileSha256);
  await page.context().close();
});
