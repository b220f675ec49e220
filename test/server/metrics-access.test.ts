/**
 * The operator's views stay the operator's, and small (signaling/operator-access.ts,
 * signaling/metrics.ts): /metrics and /api/swarms need the bearer token when one is set, or a
 * client on this machine when not; a scrape with 40,000 swarms names only the top contents and
 * never an unlisted share; the share page reads its own swarm at /api/swarm/<id>.
 */
import type { IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createCdnLog } from '../../signaling/cdn-log.js';
import type { ContentReport } from '../../signaling/content-report.js';
import { createMetrics, OTHER_CONTENT } from '../../signaling/metrics.js';
import { isLoopbackAddress, operatorAllowed } from '../../signaling/operator-access.js';
import { peerId, TestClient, useContentServer } from './helpers.js';

const TOKEN = 'operator-token-0123456789';
const silent = pino({ level: 'silent' });

function fakeReq(remoteAddress: string, authorization?: string): IncomingMessage {
  return { socket: { remoteAddress }, headers: authorization === undefined ? {} : { authorization } } as unknown as IncomingMessage;
}

function report(contentId: string, peers: number): ContentReport {
  return { contentId, peers, seeders: 1, peersByScope: { lan: peers, group: 0, internet: 0 }, uploaded: 1, downloaded: 2, downloadedCdn: 3, left: 4, uploadedBps: 5, downloadBps: 6 };
}

describe('who may read the operator views', () => {
  it('without a token: loopback sockets only, and nobody behind a trusted proxy', () => {
    for (const a of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['10.0.0.1', '192.168.1.2', '203.0.113.5', '::ffff:10.0.0.1', '2001:db8::1', '', undefined]) expect(isLoopbackAddress(a), String(a)).toBe(false);
    const open = { metricsToken: undefined, trustProxy: false };
    expect(operatorAllowed(fakeReq('127.0.0.1'), open)).toBe(true);
    expect(operatorAllowed(fakeReq('203.0.113.5'), open)).toBe(false);
    expect(operatorAllowed(fakeReq('127.0.0.1'), { metricsToken: undefined, trustProxy: true })).toBe(false);
  });

  it('with a token: that bearer token from anywhere, nothing else (loopback included)', () => {
    const c = { metricsToken: TOKEN, trustProxy: true };
    expect(operatorAllowed(fakeReq('203.0.113.5', `Bearer ${TOKEN}`), c)).toBe(true);
    expect(operatorAllowed(fakeReq('203.0.113.5', `bearer ${TOKEN}`), c)).toBe(true);
    expect(operatorAllowed(fakeReq('127.0.0.1'), c)).toBe(false);
    expect(operatorAllowed(fakeReq('127.0.0.1', `Bearer ${TOKEN}x`), c)).toBe(false);
    expect(operatorAllowed(fakeReq('127.0.0.1', `Bearer ${TOKEN.slice(0, -1)}`), c)).toBe(false);
    expect(operatorAllowed(fakeReq('127.0.0.1', TOKEN), c)).toBe(false);
  });
});

describe('a scrape stays small whatever the number of swarms', () => {
  it('40,000 swarms: the 50 largest listed contents by name, the rest as "other", no unlisted share named', async () => {
    const id = (i: number) => i.toString(16).padStart(64, '0');
    const list = Array.from({ length: 40_000 }, (_, i) => report(id(i), 1 + (i % 997)));
    // The largest swarm of all is an unlisted classroom share.
    const secret = 'f'.repeat(64);
    list.push(report(secret, 5000));
    const cdnLog = createCdnLog();
    for (let i = 0; i < 2000; i++) cdnLog.recordRequest(id(i));
    const metrics = createMetrics({ contentReports: async () => list, arraysConnections: () => 0, cdnLog, logger: silent, defaultMetrics: false, topContents: 50, isUnlisted: (c) => c === secret });
    const t0 = performance.now();
    const { body } = await metrics.render();
    const ms = performance.now() - t0;
    const labels = new Set([...body.matchAll(/content_id="([^"]+)"/g)].map((m) => m[1]));
    expect(labels.size).toBeLessThanOrEqual(51 * 2);
    const seederLabels = new Set([...body.matchAll(/^tabswarm_swarm_seeders\{content_id="([^"]+)"\}/gm)].map((m) => m[1]));
    expect(seederLabels.size).toBe(51);
    expect(seederLabels.has(OTHER_CONTENT)).toBe(true);
    expect(body).not.toContain(secret);
    expect(body.length).toBeLessThan(200 * 1024);
    expect(ms).toBeLessThan(1000);
    // Every member is still counted: the named ones plus "other" add up to all of them.
    const total = [...body.matchAll(/^tabswarm_swarm_peers\{content_id="[^"]+",scope="lan"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(total).toBe(list.reduce((n, r) => n + r.peers, 0));
    const view = await metrics.swarms();
    expect(view.swarms).toHaveLength(50);
    expect(view.swarms.some((r) => r.contentId === secret)).toBe(false);
    expect(view.other.contents).toBe(list.length - 50);
  });
});

describe('the operator views in a real server with a token', () => {
  const fixture = useContentServer(7, { metricsToken: TOKEN });

  it('refuses /metrics and /api/swarms without the token (401), serves them with it', async () => {
    const { server } = fixture;
    for (const path of ['/metrics', '/api/swarms']) {
      const bare = await fetch(`${server.url}${path}`);
      expect(bare.status, path).toBe(401);
      expect(bare.headers.get('www-authenticate')).toBe('Bearer');
      expect((await fetch(`${server.url}${path}`, { headers: { Authorization: 'Bearer wrong-token-wrong-token' } })).status, path).toBe(401);
      expect((await fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, path).toBe(200);
    }
  });

  it('gives one content its own swarm at /api/swarm/<id>, public; malformed 400, unknown 404', async () => {
    const { server, contentId } = fixture;
    expect(await (await fetch(`${server.url}/api/swarm/${contentId}`)).json()).toEqual({ contentId, peers: 0, seeders: 0 });
    const client = await TestClient.connect(server.arraysUrl);
    try {
      client.announce(contentId, peerId(3), { left: 0 });
      await client.next();
      const res = await fetch(`${server.url}/api/swarm/${contentId}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ contentId, peers: 1, seeders: 1 });
    } finally {
      client.close();
    }
    expect((await fetch(`${server.url}/api/swarm/xyz`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/swarm/${'0'.repeat(64)}`)).status).toBe(404);
  });
});
