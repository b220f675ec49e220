/**
 * Simple mode in real Chromium: when the metadata is tampered with on the server, or its URL
 * fails, or the content policy fails, the download goes on from the CDN only, with no peer
 * connection, even though a seeder is in the swarm, and the page says so and why.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFile, writeFile } from 'node:fs/promises';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(6 * MiB + 99, 13);
});
test.afterAll(async () => {
  await swarm?.close();
});

/** A tab that downloaded the file and seeds it: simple-mode tabs must still not connect to it. */
async function seeder(browser: Parameters<Parameters<typeof test>[2]>[0]['browser']) {
  const peer = await openPeer(browser, `${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
  await waitComplete(peer.page);
  return peer;
}

async function expectSimpleDownload(page: Page, reason: RegExp): Promise<void> {
  await waitComplete(page);
  const s = await stats(page);
  const info = await page.evaluate(() => {
    const d = window.tabswarm.current()!.download;
    return { simpleReason: d.simpleReason, peering: d.peering, connected: d.connectedPeers };
  });
  expect(info.simpleReason).toMatch(reason);
  expect(info.peering).toBe(false);
  expect(info.connected).toBe(0);
  expect(s.peers).toEqual([]);
  expect(s.bytesFromPeers).toBe(0);
  expect(s.bytesFromCdn).toBe(swarm.fileSize);
  await expect(page.locator('#dl-simple')).toContainText('Simple mode');
  await expect(page.locator('#dl-state')).toContainText('not verified');
  expect(await savedFileSha256(page)).toBe(swarm.fileSha256);
}

test('metadata tampered on the server: simple mode, CDN only, no peers', async ({ browser }) => {
  const seed = await seeder(browser);
  // The metadata file changed on the server's disk after it was loaded.
  const record = swarm.server.contents.get(swarm.contentId)!;
  const original = await readFile(record.metadataPath);
  const tampered = Buffer.from(original);
  tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 1;
  await writeFile(record.metadataPath, tampered);
  try {
    const peer = await openPeer(browser, `${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
    await expectSimpleDownload(peer.page, /SHA-256 .* is not the content ID/);
    await peer.page.screenshot({ path: test.info().outputPath('simple-mode.png'), fullPage: true });
    await peer.context.close();
  } finally {
    await writeFile(record.metadataPath, original);
  }
  expect((await stats(seed.page)).bytesUploaded).toBe(0);
  await seed.context.close();
});

test('metadata URL failing: simple mode', async ({ browser }) => {
  const peer = await openPeer(browser, 'about:blank');
  await peer.page.route('**/meta/**', (route) => route.fulfill({ status: 500, body: 'broken' }));
  await peer.page.goto(`${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
  await expectSimpleDownload(peer.page, /metadata is unavailable/);
  await peer.context.close();
});

test('content policy failing: simple mode from the CDN base', async ({ browser }) => {
  const peer = await openPeer(browser, 'about:blank');
  await peer.page.route('**/api/content/**', (route) => route.fulfill({ status: 503, body: 'down' }));
  await peer.page.goto(`${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
  await expectSimpleDownload(peer.page, /content policy is unavailable/);
  await peer.context.close();
});
