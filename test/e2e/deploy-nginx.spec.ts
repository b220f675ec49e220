/**
 * Deployment, for real: the app behind a real nginx with TLS, configured by the documented
 * site file (docs/deploy/nginx-tabswarm.conf, rendered by test/helpers/nginx.ts), in front of
 * a tabswarm server on 127.0.0.1 with `trustProxy`. Two Chromium contexts open the app through
 * https://127.0.0.1:<nginx port>/ and the second downloads the file from the first over
 * WebRTC, its Arrays WebSocket going through nginx. Then the client address: the server counts
 * Arrays sockets per the address nginx saw (X-Forwarded-For, set by nginx), and a client's own
 * X-Forwarded-For / -Proto / -Host are overwritten, not believed.
 * Fails (never skips) without nginx: CI installs it (.ci/run).
 */
import { request } from 'node:https';
import { expect, test } from '@playwright/test';
import { WebSocket } from 'ws';
import { freePort } from '../helpers/service-process.js';
import { startNginx, type NginxHandle } from '../helpers/nginx.js';
import { startTcpTap, type TcpTap } from '../helpers/tcp-tap.js';
import { lanAddress, openPeer, savedFileSha256, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
/** Arrays sockets per client address on the test server: small, so the test can reach it. */
const SOCKETS_PER_ADDRESS = 3;

let swarm: TestSwarmServer;
let nginx: NginxHandle;
/** Between nginx and the server: what nginx sent the server. */
let tap: TcpTap;
/** The namespace's own address (10.213.0.1): a client there reaches nginx from an address other than nginx's own 127.0.0.1. */
let otherAddress: string;
/** nginx's plain-HTTP port (the document's 80). */
let httpPort: number;

test.beforeAll(async () => {
  const lan = lanAddress();
  if (lan === undefined) throw new Error('no non-loopback IPv4 address: run the e2e tests with node test/in-netns.mjs (it gives 10.213.0.1)');
  otherAddress = lan;
  swarm = await startTestServer(8 * MiB + 777, 61, {
    trustProxy: true,
    // As docs/deploy.md says: every TCP connection comes from nginx.
    maxConnectionsPerAddress: 10_000,
    maxSocketsPerAddress: SOCKETS_PER_ADDRESS,
    announceIntervalMs: 2000,
  });
  tap = await startTcpTap(swarm.server.port);
  httpPort = await freePort();
  nginx = await startNginx({ httpsPort: await freePort(), httpPort, upstreamPort: tap.port }, [otherAddress]);
});

test.afterAll(async () => {
  await nginx?.stop();
  await tap?.close();
  await swarm?.close();
});

/** An HTTPS GET through nginx (self-signed certificate) with these extra headers. */
function httpsGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Opens an Arrays WebSocket through nginx: the open socket, or the HTTP status its upgrade was refused with. */
function openArrays(url: string, headers: Record<string, string>): Promise<{ ws: WebSocket } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, rejectUnauthorized: false, handshakeTimeout: 10_000 });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

test('two browser contexts share a file through nginx with TLS: bytes from the peer, signaling over wss through the proxy', async ({ browser }) => {
  const { contentId, fileSize, fileSha256 } = swarm;
  const https = { ignoreHTTPSErrors: true };
  const first = await openPeer(browser, `${nginx.url}/?httpDelayMs=0#c=${contentId}`, https);
  await waitComplete(first.page);
  // The second waits a minute before it would ask the CDN: every byte must come from the first.
  const second = await openPeer(browser, `${nginx.url}/?httpDelayMs=60000#c=${contentId}`, https);
  await waitComplete(second.page);
  const s = await stats(second.page);
  console.log(`second peer via nginx: ${(s.bytesFromPeers / MiB).toFixed(2)} MiB from the peer, ${(s.bytesFromCdn / MiB).toFixed(2)} MiB from the CDN`);
  expect(s.bytesFromPeers).toBeGreaterThan(0);
  expect(s.bytesFromPeers).toBe(fileSize);
  expect(s.bytesFromCdn).toBe(0);
  expect(await savedFileSha256(second.page)).toBe(fileSha256);
  // The pages are a secure context served by nginx, not the server itself.
  expect(await second.page.evaluate(() => [location.origin, isSecureContext])).toEqual([nginx.url, true]);

  // Both pages' Arrays sockets are open at the server; the server has no other client than nginx.
  expect(swarm.server.arrays.connections).toBeGreaterThanOrEqual(2);
  // The first downloaded from the server's CDN through nginx.
  expect(await nginx.accessLog()).toContain(`"GET /cdn/${contentId}/`);
  await first.context.close();
  await second.context.close();
  // nginx logs a WebSocket once it closes: both pages' Arrays sockets were upgrades (101) through it.
  const upgrades = async () => (await nginx.accessLog()).split('\n').filter((l) => l.startsWith('127.0.0.1 "GET /arrays HTTP/1.1" 101')).length;
  await expect.poll(upgrades, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
});

test('the server sees the address nginx saw, and a client cannot choose it with its own X-Forwarded-For', async () => {
  const arraysVia = (host: string) => `wss://${host}:${new URL(nginx.url).port}/arrays`;
  const open: WebSocket[] = [];
  try {
    // From the namespace address, each socket claiming another address: nginx replaces the
    // claim with the address it saw, so they all count against one address's cap.
    for (let i = 1; i <= SOCKETS_PER_ADDRESS; i++) {
      const r = await openArrays(arraysVia(otherAddress), { 'X-Forwarded-For': `203.0.113.${i}` });
      if (!('ws' in r)) throw new Error(`socket ${i} refused with ${r.status}`);
      open.push(r.ws);
    }
    const over = await openArrays(arraysVia(otherAddress), { 'X-Forwarded-For': '198.51.100.99, 203.0.113.200' });
    expect(over).toEqual({ status: 429 });
    // From 127.0.0.1 (nginx's own address towards the server): another address, admitted. Were
    // the server counting its socket's address (nginx's), this one would be the fourth.
    const other = await openArrays(arraysVia('127.0.0.1'), {});
    expect('ws' in other).toBe(true);
    if ('ws' in other) open.push(other.ws);
  } finally {
    for (const ws of open) ws.terminate();
  }
  // What nginx received: the client's claims. What the server received: nginx's one address
  // for each request, the claims replaced (set, not appended), and nginx's scheme.
  const log = await nginx.accessLog();
  expect(log).toContain(`${otherAddress} "GET /arrays HTTP/1.1" 429 xff="198.51.100.99, 203.0.113.200"`);
  const forwardedFor = tap.headerValues('X-Forwarded-For');
  expect(forwardedFor.length).toBeGreaterThanOrEqual(SOCKETS_PER_ADDRESS + 2);
  expect(new Set(forwardedFor)).toEqual(new Set(['127.0.0.1', otherAddress]));
  expect(forwardedFor.filter((v) => v === otherAddress).length).toBe(SOCKETS_PER_ADDRESS + 1);

  // Discovery builds the Arrays URL from what nginx set (https, the Host asked), not from a
  // client's X-Forwarded-Proto / X-Forwarded-Host.
  const discovery = await httpsGet(`${nginx.url}/api/discovery?contentId=${swarm.contentId}&mode=internet`, {
    'X-Forwarded-Proto': 'http',
    'X-Forwarded-Host': 'evil.example',
  });
  expect(discovery.status).toBe(200);
  expect((JSON.parse(discovery.body) as { arraysUrl: string }).arraysUrl).toBe(`wss://127.0.0.1:${new URL(nginx.url).port}/arrays`);
  expect(new Set(tap.headerValues('X-Forwarded-Proto'))).toEqual(new Set(['https']));
  expect(tap.headerValues('X-Forwarded-Host')).not.toContain('evil.example');

  // Plain HTTP is sent to HTTPS.
  const plain = await fetch(`http://127.0.0.1:${httpPort}/some/path?x=1`, { redirect: 'manual' });
  expect(plain.status).toBe(301);
  expect(plain.headers.get('location')).toBe(`https://127.0.0.1/some/path?x=1`);
});
