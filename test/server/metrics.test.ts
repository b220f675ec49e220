/**
 * GET /metrics and GET /api/swarms (signaling/metrics.ts): the module against a fake report
 * source, then the wiring in a real server; and the request logging of /api and /metrics.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCdnLog } from '../../signaling/cdn-log.js';
import type { ContentReport } from '../../signaling/content-report.js';
import type { ContentStore } from '../../signaling/content-store.js';
import { createApiHandler } from '../../signaling/http-api.js';
import { createMetrics, createSwarmsRoute } from '../../signaling/metrics.js';
import type { ServerHandle } from '../../signaling/server.js';
import { peerId, TestClient, useContentServer, waitFor } from './helpers.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const silent = pino({ level: 'silent' });

function report(contentId: string, over: Partial<ContentReport> = {}): ContentReport {
  return {
    contentId,
    peers: 3,
    seeders: 1,
    peersByScope: { lan: 2, group: 0, internet: 1 },
    uploaded: 1000,
    downloaded: 2000,
    downloadedCdn: 3000,
    left: 4000,
    uploadedBps: 50,
    downloadBps: 60,
    ...over,
  };
}

/** `name{labels} value` lines of an exposition, as a map (comments dropped). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('createMetrics (fake sources)', () => {
  it('exposes every DO report field per content, the server-wide gauges and the default process metrics', async () => {
    let list = [report(B), report(A, { peers: 1, seeders: 0, peersByScope: { lan: 0, group: 1, internet: 0 }, left: 7 })];
    const cdnLog = createCdnLog();
    cdnLog.recordRequest(A);
    cdnLog.recordBytes(A, 12345, false);
    cdnLog.recordRequest(A);
    let conns = 4;
    const metrics = createMetrics({ contentReports: async () => list, arraysConnections: () => conns, cdnLog, logger: silent });
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = samples(body);
    expect(s.get(`tabswarm_swarm_peers{content_id="${B}",scope="lan"}`)).toBe(2);
    expect(s.get(`tabswarm_swarm_peers{content_id="${B}",scope="group"}`)).toBe(0);
    expect(s.get(`tabswarm_swarm_peers{content_id="${B}",scope="internet"}`)).toBe(1);
    expect(s.get(`tabswarm_swarm_peers{content_id="${A}",scope="group"}`)).toBe(1);
    expect(s.get(`tabswarm_swarm_seeders{content_id="${B}"}`)).toBe(1);
    expect(s.get(`tabswarm_swarm_uploaded_bytes{content_id="${B}"}`)).toBe(1000);
    expect(s.get(`tabswarm_swarm_downloaded_bytes{content_id="${B}"}`)).toBe(2000);
    expect(s.get(`tabswarm_swarm_downloaded_cdn_bytes{content_id="${B}"}`)).toBe(3000);
    expect(s.get(`tabswarm_swarm_left_bytes{content_id="${B}"}`)).toBe(4000);
    expect(s.get(`tabswarm_swarm_left_bytes{content_id="${A}"}`)).toBe(7);
    expect(s.get(`tabswarm_swarm_upload_bps{content_id="${B}"}`)).toBe(50);
    expect(s.get(`tabswarm_swarm_download_bps{content_id="${B}"}`)).toBe(60);
    expect(s.get('tabswarm_swarms')).toBe(2);
    expect(s.get('tabswarm_arrays_connections')).toBe(4);
    expect(s.get(`tabswarm_cdn_served_bytes_total{content_id="${A}"}`)).toBe(12345);
    expect(s.get(`tabswarm_cdn_requests_total{content_id="${A}"}`)).toBe(2);
    expect(body).toMatch(/^# TYPE tabswarm_swarm_peers gauge$/m);
    expect(body).toMatch(/^# TYPE tabswarm_cdn_served_bytes_total counter$/m);
    expect(body).toMatch(/^# HELP tabswarm_swarm_downloaded_cdn_bytes .*DownloadedCdn/m);
    // prom-client's default process metrics, on the private registry.
    expect(body).toMatch(/^process_cpu_user_seconds_total /m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // Never the global registry.
    expect(await globalRegistry.metrics()).not.toMatch(/tabswarm_/);

    // Values are read at each scrape: a content gone from the reports disappears, the rest update.
    list = [report(B, { left: 0, seeders: 3 })];
    conns = 1;
    cdnLog.reset();
    const again = samples((await metrics.render()).body);
    expect(again.get(`tabswarm_swarm_left_bytes{content_id="${A}"}`)).toBeUndefined();
    expect(again.get(`tabswarm_swarm_peers{content_id="${A}",scope="group"}`)).toBeUndefined();
    expect(again.get(`tabswarm_swarm_seeders{content_id="${B}"}`)).toBe(3);
    expect(again.get('tabswarm_arrays_connections')).toBe(1);
    expect(again.get(`tabswarm_cdn_served_bytes_total{content_id="${A}"}`)).toBeUndefined();
  });

  it('serves /api/swarms data sorted by content ID, and never mixes concurrent scrapes', async () => {
    let n = 0;
    const metrics = createMetrics({
      // Each call returns a different left value after a delay, so interleaved scrapes would mix them.
      contentReports: async () => {
        const mine = ++n;
        await new Promise((r) => setTimeout(r, 20 - mine * 5));
        return [report(B, { left: mine }), report(A, { left: mine })];
      },
      arraysConnections: () => 0,
      cdnLog: createCdnLog(),
      logger: silent,
      defaultMetrics: false,
    });
    const bodies = await Promise.all([metrics.render(), metrics.render(), metrics.render()]);
    bodies.forEach(({ body }, i) => {
      const s = samples(body);
      expect(s.get(`tabswarm_swarm_left_bytes{content_id="${A}"}`)).toBe(i + 1);
      expect(s.get(`tabswarm_swarm_left_bytes{content_id="${B}"}`)).toBe(i + 1);
    });
    expect(bodies[0]!.body).not.toMatch(/process_cpu/);
    const { swarms } = await metrics.swarms();
    expect(swarms.map((r) => r.contentId)).toEqual([A, B]);
  });
});

describe('/metrics and /api/swarms in a real server', () => {
  const fixture = useContentServer(5);
  let server: ServerHandle;
  let contentId: string;
  beforeAll(() => ({ server, contentId } = fixture));

  it('serves the exposition with the open Arrays connections and the CDN bytes', async () => {
    const client = await TestClient.connect(server.arraysUrl);
    try {
      client.announce(contentId, peerId(1), { left: 1000 });
      await client.next();
      const cdn = await fetch(`${server.url}/cdn/${contentId}/x`, { headers: { Range: 'bytes=0-99' } });
      expect(cdn.status).toBe(206);
      await cdn.arrayBuffer();
      await waitFor(() => server.cdnLog.bytesFor(contentId) === 100, 2000, 'the CDN log');

      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const s = samples(await res.text());
      expect(s.get('tabswarm_arrays_connections')).toBe(1);
      expect(s.get(`tabswarm_cdn_served_bytes_total{content_id="${contentId}"}`)).toBe(100);
      expect(s.has('process_resident_memory_bytes')).toBe(true);
      if ('contentReports' in server.arrays) {
        // Wired to ArraysService.contentReports(): the member's report is in.
        expect(s.get(`tabswarm_swarm_peers{content_id="${contentId}",scope="lan"}`)).toBe(1);
        expect(s.get(`tabswarm_swarm_left_bytes{content_id="${contentId}"}`)).toBe(1000);
      }

      const swarms = await fetch(`${server.url}/api/swarms`);
      expect(swarms.status).toBe(200);
      expect(swarms.headers.get('access-control-allow-origin')).toBe('*');
      const json = (await swarms.json()) as { swarms: ContentReport[] };
      expect(Array.isArray(json.swarms)).toBe(true);
      if ('contentReports' in server.arrays) expect(json.swarms).toEqual([expect.objectContaining({ contentId, peers: 1, left: 1000 })]);

      expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      client.close();
    }
  });
});

describe('request logging of /api and /metrics', () => {
  let http: Server;
  let base: string;
  const lines: Array<{ level: number; msg: string; status?: number }> = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as (typeof lines)[number]);
        cb();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const failing = createMetrics({
      contentReports: () => Promise.reject(new Error('registry down')),
      arraysConnections: () => 0,
      cdnLog: createCdnLog(),
      logger,
      defaultMetrics: false,
    });
    const contents = { size: 0, list: () => [], refresh: async () => undefined, lookup: async () => undefined } as unknown as ContentStore;
    const api = createApiHandler({ contents, cdnLog: createCdnLog(), config: { cdnBaseUrl: undefined }, logger, routes: { swarms: createSwarmsRoute(failing, logger) } });
    http = createHttpServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      void (async () => {
        if (await api(req, res, path)) return;
        if (await failing.handle(req, res, path)) return;
        res.statusCode = 404;
        res.end();
      })();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => http.close(r));
  });

  it('logs nothing at info level for successful requests, and an error for each failed one', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/api/catalog`)).status).toBe(200);
    expect((await fetch(`${base}/api/nope`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines).toEqual([]);

    expect((await fetch(`${base}/api/swarms`)).status).toBe(500);
    expect((await fetch(`${base}/metrics`)).status).toBe(500);
    await waitFor(() => lines.filter((l) => l.msg === 'request failed').length === 2, 2000, 'the request error lines');
    const errors = lines.filter((l) => l.level >= 50);
    expect(errors.map((l) => l.msg).sort()).toEqual(['metrics scrape failed', 'request failed', 'request failed', 'swarm reports failed']);
    expect(lines.filter((l) => l.level < 50)).toEqual([]);
  });
});
