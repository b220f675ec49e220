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
import { createMetrics, OTHER_CONTENT, type SwarmsView } from '../../signaling/metrics.js';
import { isLoopbackAddress, operatorAllowed } from '../../signaling/operator-access.js';
import { buildMetadata, encodeMetadata, pieceCountOf } from '../../src/protocol/metadata.js';
import { deterministicChunk } from '../../signaling/deterministic-content.js';
import { MiB, peerId, sha256Hex, TestClient, useContentServer } from './helpers.js';

const TOKEN = 'operator-token-0123456789';
const silent = pino({ level: 'silent' });

function fakeReq(remoteAddress: string, authorization?: string): IncomingMessage {
  return { socket: { remoteAddress }, headers: authorization === undefined ? {} : { authorization } } as unknown as IncomingMessage;
}

/** Metadata bytes of a small deterministic file, as the share page builds them, and its content ID. */
function shareMetadata(seed: number): { bytes: Uint8Array; contentId: string } {
  const size = MiB + 7;
  const file = deterministicChunk(seed, 0, size);
  const pieceSha256 = Array.from({ length: pieceCountOf(size, MiB) }, (_, i) => sha256Hex(file.subarray(i * MiB, (i + 1) * MiB)));
  const bytes = encodeMetadata(buildMetadata({ name: `shared-${seed}.bin`, mimeType: 'application/octet-stream', fileSize: size, pieceSize: MiB, fileSha256: sha256Hex(file), pieceSha256 }));
  return { bytes, contentId: sha256Hex(bytes) };
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

  it('gives one content its own swarm at /api/swarm/<id>, public, no-store; malformed or unknown 404', async () => {
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
    // Anything but a known content ID is a 404, a malformed one included.
    for (const bad of ['xyz', contentId.toUpperCase(), `${contentId}/x`, `${contentId}0`, '0'.repeat(64)]) {
      expect((await fetch(`${server.url}/api/swarm/${bad}`)).status, bad).toBe(404);
    }
  });

  it('never names an unlisted classroom share in /metrics or /api/swarms, yet gives its sharer its counts', async () => {
    const { server, contentId } = fixture;
    const { bytes, contentId: shareId } = shareMetadata(43);
    const posted = await fetch(`${server.url}/api/share`, { method: 'POST', body: Buffer.from(bytes), headers: { 'Content-Type': 'application/json' } });
    expect(posted.status).toBe(201);
    const { groupId } = (await posted.json()) as { groupId: string };
    const sharer = await TestClient.connect(server.arraysUrl);
    const listed = await TestClient.connect(server.arraysUrl);
    try {
      sharer.announce(shareId, peerId(4), { left: 0, mode: 'group', group: groupId });
      await sharer.next();
      listed.announce(contentId, peerId(5), { left: 10 });
      await listed.next();
      const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
      const scrape = await (await fetch(`${server.url}/metrics`, auth)).text();
      expect(scrape).toContain(`tabswarm_swarm_seeders{content_id="${contentId}"}`);
      expect(scrape).not.toContain(shareId);
      // The share's member is still counted, under "other".
      expect(scrape).toMatch(/^tabswarm_swarm_seeders\{content_id="other"\} 1$/m);
      const view = (await (await fetch(`${server.url}/api/swarms`, auth)).json()) as SwarmsView;
      expect(view.swarms.map((r) => r.contentId)).toEqual([contentId]);
      expect(view.other).toEqual({ contents: 1, peers: 1, seeders: 1 });
      expect(JSON.stringify(view)).not.toContain(shareId);
      expect(await (await fetch(`${server.url}/api/swarm/${shareId}`)).json()).toEqual({ contentId: shareId, peers: 1, seeders: 1 });
    } finally {
      sharer.close();
      listed.close();
    }
  });
});

describe('the operator views behind a trusted proxy, without a token', () => {
  // Every request seems to come from the proxy: loopback means nothing, so nobody is the operator.
  const fixture = useContentServer(8, { trustProxy: true });

  it('answers /metrics and /api/swarms with 404 even from 127.0.0.1, and /api/swarm/<id> still', async () => {
    const { server, contentId } = fixture;
    for (const path of ['/metrics', '/api/swarms']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('tabswarm_');
    }
    expect((await fetch(`${server.url}/api/swarm/${contentId}`)).status).toBe(200);
  });
});

describe('top-N bounding at its edge', () => {
  const named = (body: string, metric: string) => [...body.matchAll(new RegExp(`^${metric}\\{content_id="([^"]+)"`, 'gm'))].map((m) => m[1]).sort();

  it('N contents: all named, no "other"; N+1: the smallest goes to "other"; vanished contents leave the next scrape', async () => {
    const id = (c: string) => c.repeat(64);
    let list = [report(id('a'), 5), report(id('b'), 4), report(id('c'), 3)];
    const metrics = createMetrics({ contentReports: async () => list, arraysConnections: () => 0, cdnLog: createCdnLog(), logger: silent, defaultMetrics: false, topContents: 3 });
    expect(named((await metrics.render()).body, 'tabswarm_swarm_seeders')).toEqual([id('a'), id('b'), id('c')]);
    expect((await metrics.swarms()).other).toEqual({ contents: 0, peers: 0, seeders: 0 });

    list = [...list, report(id('d'), 2)];
    const body = (await metrics.render()).body;
    expect(named(body, 'tabswarm_swarm_seeders')).toEqual([id('a'), id('b'), id('c'), OTHER_CONTENT]);
    expect(body).toMatch(/^tabswarm_swarm_peers\{content_id="other",scope="lan"\} 2$/m);
    expect((await metrics.swarms()).other).toEqual({ contents: 1, peers: 2, seeders: 1 });

    // Ties on members are broken by CDN bytes: the content the CDN served more keeps its name.
    list = [report(id('a'), 1), report(id('b'), 1), report(id('c'), 1), report(id('e'), 1)];
    const cdnLog = createCdnLog();
    cdnLog.recordBytes(id('e'), 1000, false);
    const tie = createMetrics({ contentReports: async () => list, arraysConnections: () => 0, cdnLog, logger: silent, defaultMetrics: false, topContents: 1 });
    expect((await tie.swarms()).swarms.map((r) => r.contentId)).toEqual([id('e')]);

    // The contents gone from the reports are gone from the scrape (no lingering series).
    list = [report(id('b'), 4)];
    const after = (await metrics.render()).body;
    expect(named(after, 'tabswarm_swarm_seeders')).toEqual([id('b')]);
    expect(after).not.toContain(id('a'));
    expect(after).not.toContain(id('d'));
  });

  it('bounds the CDN counters the same way: the top N by bytes, the rest and unlisted content as "other"', async () => {
    const id = (c: string) => c.repeat(64);
    const cdnLog = createCdnLog();
    const served = { a: 400, b: 300, c: 200, d: 100 };
    for (const [c, bytes] of Object.entries(served)) {
      cdnLog.recordRequest(id(c));
      cdnLog.recordBytes(id(c), bytes, false);
    }
    const metrics = createMetrics({ contentReports: async () => [], arraysConnections: () => 0, cdnLog, logger: silent, defaultMetrics: false, topContents: 2, isUnlisted: (c) => c === id('a') });
    const body = (await metrics.render()).body;
    // The top 2 by bytes are a and b; a is unlisted, so only b keeps its name.
    expect(named(body, 'tabswarm_cdn_served_bytes_total')).toEqual([id('b'), OTHER_CONTENT]);
    expect(body).toMatch(/^tabswarm_cdn_served_bytes_total\{content_id="other"\} 700$/m);
    expect(body).toMatch(/^tabswarm_cdn_requests_total\{content_id="other"\} 3$/m);
    expect(body).not.toContain(id('a'));
  });
});
