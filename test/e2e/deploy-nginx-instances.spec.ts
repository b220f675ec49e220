/**
 * Deployment, for real: two tabswarm instances sharing one real Redis behind one real nginx
 * with TLS, as docs/deploy.md describes them (docs/deploy/nginx-tabswarm.conf with both
 * instances in its upstream, and docs/deploy/nginx-instances.conf for each instance's Arrays
 * URL; rendered by test/helpers/nginx.ts). Each instance has its own instance ID and public URL
 * (https://<nginx>/i/a, /i/b). Two Chromium contexts open the same https URL; nginx spreads
 * their requests over both instances, Discovery sends both to the Arrays instance that serves
 * the swarm, and the second downloads every byte from the first.
 * Fails (never skips) without nginx or redis-server: CI installs them (.ci/run).
 */
import { expect, test } from '@playwright/test';
import { createServer, type ServerHandle } from '../../signaling/server.js';
import { RedisProcess } from '../server/redis-harness.js';
import { startNginx, type NginxHandle } from '../helpers/nginx.js';
import { freePort } from '../helpers/service-process.js';
import { openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;

let redis: RedisProcess;
let a: TestSwarmServer;
let b: ServerHandle;
let nginx: NginxHandle;

test.beforeAll(async () => {
  redis = await RedisProcess.start();
  const httpsPort = await freePort();
  const base = `https://127.0.0.1:${httpsPort}`;
  // As docs/deploy.md says for each instance behind nginx.
  const shared = { redisUrl: redis.url, redisKeyPrefix: 'e2e-deploy:', trustProxy: true, maxConnectionsPerAddress: 10_000, announceIntervalMs: 2000 };
  a = await startTestServer(8 * MiB + 99, 63, { ...shared, instanceId: 'a', publicUrl: `${base}/i/a` });
  b = await createServer({ port: 0, host: '127.0.0.1', contentDir: a.server.config.contentDir, demoSize: 0, logLevel: 'warn', ...shared, instanceId: 'b', publicUrl: `${base}/i/b` });
  nginx = await startNginx({ httpsPort, httpPort: await freePort(), instances: { a: a.server.port, b: b.port } });
});

test.afterAll(async () => {
  await nginx?.stop();
  await b?.close();
  await a?.close();
  await redis?.stop();
});

test('two contexts through nginx to two instances on one Redis: Discovery names one instance, the second gets every byte from the first', async ({ browser }) => {
  const { contentId, fileSize, fileSha256 } = a;
  const https = { ignoreHTTPSErrors: true };
  const first = await openPeer(browser, `${nginx.url}/?httpDelayMs=0#c=${contentId}`, https);
  await waitComplete(first.page);
  const second = await openPeer(browser, `${nginx.url}/?httpDelayMs=60000#c=${contentId}`, https);
  await waitComplete(second.page);
  const s = await stats(second.page);
  console.log(`second peer: ${(s.bytesFromPeers / MiB).toFixed(2)} MiB from the peer, ${(s.bytesFromCdn / MiB).toFixed(2)} MiB from the CDN`);
  expect(s.bytesFromPeers).toBe(fileSize);
  expect(s.bytesFromCdn).toBe(0);
  expect(await savedFileSha256(second.page)).toBe(fileSha256);

  // The first's CDN ranges went through nginx's upstream, to both instances.
  const cdnA = a.server.cdnLog.bytesFor(contentId);
  const cdnB = b.cdnLog.bytesFor(contentId);
  console.log(`CDN bytes served: instance a ${(cdnA / MiB).toFixed(2)} MiB, instance b ${(cdnB / MiB).toFixed(2)} MiB`);
  expect(cdnA + cdnB).toBe(fileSize);

  // Discovery named one instance for the swarm, whichever instance answered, by its public URL.
  const discovered = await second.page.evaluate(async (id) => (await (await fetch(`/api/discovery?contentId=${id}&mode=lan`)).json()) as { instanceId: string; arraysUrl: string }, contentId);
  expect(['a', 'b']).toContain(discovered.instanceId);
  expect(discovered.arraysUrl).toBe(`wss://127.0.0.1:${new URL(nginx.url).port}/i/${discovered.instanceId}/arrays`);
  // Both pages' sockets are on that instance, reached through its own location in nginx.
  const owner = discovered.instanceId === 'a' ? a.server : b;
  expect(owner.arrays.connections).toBe(2);
  await first.context.close();
  await second.context.close();
  const upgrades = async () => (await nginx.accessLog()).split('\n').filter((l) => l.includes(`"GET /i/${discovered.instanceId}/arrays HTTP/1.1" 101`)).length;
  await expect.poll(upgrades, { timeout: 10_000 }).toBe(2);
});
