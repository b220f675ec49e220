/**
 * Scale-out in real Chromium: two server instances share one real Redis; two browser
 * contexts open the app from different instances and complete a download from each other
 * over real WebRTC, their signals relayed between the instances through Redis pub/sub.
 * Run alone with `npm run test:e2e -- redis`.
 */
import { expect, test } from '@playwright/test';
import { createServer, type ServerHandle } from '../../signaling/server.js';
import { RedisProcess } from '../server/redis-harness.js';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
let redis: RedisProcess;
let a: TestSwarmServer;
let b: ServerHandle;

test.beforeAll(async () => {
  redis = await RedisProcess.start();
  const shared = { redisUrl: redis.url, redisKeyPrefix: 'e2e:', announceIntervalMs: 2000 };
  a = await startTestServer(8 * MiB + 333, 21, { ...shared, instanceId: 'inst-a' });
  b = await createServer({
    port: 0,
    host: '127.0.0.1',
    contentDir: a.server.config.contentDir,
    demoSize: 0,
    logLevel: 'warn',
    ...shared,
    instanceId: 'inst-b',
  });
});
test.afterAll(async () => {
  await b?.close();
  await a?.close();
  await redis?.stop();
});

test('two browser contexts on two instances sharing a Redis swarm with each other', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = a;
  const first = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(first.page);
  // The second opens the app from the other instance and waits long before asking the CDN.
  const second = await openPeer(browser, `${b.url}/?httpDelayMs=60000#c=${contentId}`);
  await waitComplete(second.page);
  const s = await stats(second.page);
  console.log(`second peer (instance B): ${(s.bytesFromPeers / MiB).toFixed(2)} MiB from the peer on instance A, ${(s.bytesFromCdn / MiB).toFixed(2)} MiB from the CDN`);
  expect(s.bytesFromPeers).toBe(fileSize);
  expect(s.bytesFromCdn).toBe(0);
  expect(await savedFileSha256(second.page)).toBe(fileSha256);
  expect(b.cdnLog.bytesFor(contentId)).toBe(0);
  await first.context.close();
  await second.context.close();
});
