/**
 * The Arrays service on its own uWebSockets port (`arraysPort`) in real Chromium: the pages
 * open the app on the HTTP port, Discovery sends their signaling to the uWebSockets port, and
 * two contexts complete a download from each other over real WebRTC.
 * Run alone with `npm run test:e2e -- arrays-port`.
 */
import { expect, test, type Browser } from '@playwright/test';
import { savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(6 * MiB + 777, 31, { arraysPort: 0, announceIntervalMs: 2000 });
});
test.afterAll(async () => swarm?.close());

/** A context on `url`, with every WebSocket URL its page opens. */
async function open(browser: Browser, url: string) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(url);
  return { context, page, sockets };
}

test('two contexts signal through the uWebSockets port and share the file', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const arraysPort = server.arraysPort!;
  expect(arraysPort).toBeGreaterThan(0);
  const first = await open(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(first.page);
  const second = await open(browser, `${server.url}/?httpDelayMs=60000#c=${contentId}`);
  await waitComplete(second.page);
  const s = await stats(second.page);
  console.log(`second peer: ${(s.bytesFromPeers / MiB).toFixed(2)} MiB from the first, ${(s.bytesFromCdn / MiB).toFixed(2)} MiB from the CDN; sockets ${second.sockets.join(', ')}`);
  expect(s.bytesFromPeers).toBe(fileSize);
  expect(s.bytesFromCdn).toBe(0);
  expect(await savedFileSha256(second.page)).toBe(fileSha256);
  for (const p of [first, second]) {
    expect(p.sockets.length).toBeGreaterThanOrEqual(1);
    for (const url of p.sockets) expect(url).toBe(`ws://127.0.0.1:${arraysPort}/arrays`);
  }
  await first.context.close();
  await second.context.close();
});
