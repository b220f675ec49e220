/**
 * The embeddable library in real Chromium, through its built form (dist/lib/tabswarm.js,
 * served at /lib/ and imported by name through an import map, as a site would): the example
 * page (examples/embed.html) downloads a content from a seeding tab and the CDN, reads it back
 * as a stream, and reports DO's status; a plain URL downloads in simple mode; abort rejects.
 * Run alone with `npm run test:e2e -- embed`.
 */
import { expect, test, type Page } from '@playwright/test';
import { openPeer, screenshot, startTestServer, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(5 * MiB + 4321, 51, { announceIntervalMs: 2000 });
});
test.afterAll(async () => swarm?.close());

/** SHA-256 of the current download's Blob, computed in the page. */
function blobSha256(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const blob = await window.example.current.blob();
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  });
}

declare global {
  interface Window {
    // The example page's handle (examples/embed.js): plain JS, so typed loosely here.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    example: { client: any; current: any; streamedBytes: number | undefined };
  }
}

test('the example page downloads with the public API: from a seeding tab, verified, streamed, with DO status', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const seeder = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(seeder.page);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/examples/embed.html?target=${contentId}`);
  await page.waitForFunction((n) => window.example?.streamedBytes === n, fileSize, { timeout: 60_000 });
  expect(await blobSha256(page)).toBe(fileSha256);
  const status = await page.evaluate(() => window.example.current.status());
  console.log(`example page status: ${JSON.stringify({ ...status, Peers: status.Peers.length })}`);
  expect(status).toMatchObject({ FileId: contentId, FileSize: fileSize, Status: 'Complete', DownloadMode: 'Lan', DownloadModeNumber: 1, Priority: 'Foreground' });
  expect(status.BytesFromPeers + status.BytesFromHTTP).toBe(fileSize);
  expect(status.BytesFromPeers).toBeGreaterThan(0); // the seeding tab answered before the 2 s HTTP delay ran out
  expect(status.BytesFromLanPeers).toBe(status.BytesFromPeers);
  // The page's text says the same as the API.
  await expect(page.locator('#state')).toContainText(`${fileSize} bytes read back as a stream`);
  await screenshot(page, 'example-page');
  expect(errors).toEqual([]);
  await context.close();
  await seeder.context.close();
});

test('a plain URL downloads in simple mode; an aborted download rejects with kind aborted', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const context = await browser.newContext();
  const page = await context.newPage();
  const plain = `${server.url}/cdn/${contentId}/file.bin`;
  await page.goto(`${server.url}/examples/embed.html?target=${encodeURIComponent(plain)}`);
  await page.waitForFunction((n) => window.example?.streamedBytes === n, fileSize, { timeout: 60_000 });
  expect(await blobSha256(page)).toBe(fileSha256);
  const status = await page.evaluate(() => window.example.current.status());
  expect(status.SimpleReason).toMatch(/plain URL/);
  expect(status).toMatchObject({ FileSize: fileSize, BytesFromHTTP: fileSize, BytesFromPeers: 0, NumPeers: 0, Status: 'Complete' });
  const aborted = await page.evaluate(async (id) => {
    const controller = new AbortController();
    const dl = await window.example.client.download(id, { signal: controller.signal, config: { httpDelayMs: 60_000 } });
    controller.abort();
    try {
      await dl.done;
      return 'resolved';
    } catch (e) {
      return `${(e as { kind?: string }).kind}: ${dl.status().Status}`;
    }
  }, contentId);
  expect(aborted).toBe('aborted: Stopped');
  await context.close();
});
