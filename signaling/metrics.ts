/**
 * Observability: `GET /metrics` (Prometheus text exposition, prom-client, a private Registry)
 * and `GET /api/swarms` (the same per-content data as JSON).
 *
 * Per content (label `content_id`), the aggregate of its swarm members' last DO reports
 * (`ContentReport`, signaling/content-report.ts):
 *   tabswarm_swarm_peers{scope="lan|group|internet"}   members by the download mode they announced with
 *   tabswarm_swarm_seeders                             members with nothing left
 *   tabswarm_swarm_uploaded_bytes                      sum of Uploaded
 *   tabswarm_swarm_downloaded_bytes                    sum of Downloaded (from peers)
 *   tabswarm_swarm_downloaded_cdn_bytes                sum of DownloadedCdn
 *   tabswarm_swarm_left_bytes                          sum of Left
 *   tabswarm_swarm_upload_bps, tabswarm_swarm_download_bps   sums of UploadedBPS, DownloadBPS
 * Server-wide:
 *   tabswarm_arrays_connections                        open Arrays WebSockets
 *   tabswarm_cache_nodes                               open Arrays WebSockets of cache nodes (docs/cache-node.md)
 *   tabswarm_cache_wanted_total                        `wanted` messages sent to cache nodes
 *   tabswarm_cdn_served_bytes_total{content_id}        body bytes the CDN origin sent (cdn-log.ts)
 *   tabswarm_cdn_requests_total{content_id}            requests the CDN origin answered
 *   tabswarm_swarms                                    swarms with at least one member
 * and prom-client's default process metrics (CPU, memory, event loop lag, GC, handles).
 *
 * The swarm figures are gauges of the members' self-reported sums: a member leaving takes its
 * bytes out of them, so they are not counters. Every value is read at scrape time from its
 * source; scrapes run one at a time, so two concurrent ones never mix their values.
 *
 * Bounded and private: only the `topContents` largest swarms (by members, then CDN bytes) have
 * series of their own; every other content is summed under `content_id="other"`, so a scrape
 * stays the same size with 40,000 swarms. Unlisted content (classroom shares, `isUnlisted`)
 * never gets a series or an entry of its own. Both views answer only the operator
 * (operator-access.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { CdnLog } from './cdn-log.js';
import { DOWNLOAD_MODES } from '../src/protocol/arrays-messages.js';
import type { ContentReport } from './content-report.js';
import { logRequest } from './http-api.js';
import { answeredByMethodCheck, sendJson, sendJsonError, sendText } from './http-util.js';
import { refusedNonOperator, type OperatorAccessConfig } from './operator-access.js';

/** The label of everything summed outside the top contents. */
export const OTHER_CONTENT = 'other';

export const METRICS_PATH = '/metrics';

export interface MetricsDeps {
  /** The per-content aggregates, read at each scrape (`ArraysService.contentReports()`). */
  contentReports: () => Promise<ContentReport[]>;
  /** Open Arrays WebSocket connections. */
  arraysConnections: () => number;
  /** Open cache-node sockets and `wanted` messages sent so far (the Arrays service's). @default none */
  cacheNodes?: () => { connected: number; wantedSent: number };
  cdnLog: Pick<CdnLog, 'snapshot'>;
  logger: Logger;
  /** Register prom-client's default process metrics. @default true */
  defaultMetrics?: boolean;
  /** Who may scrape. @default loopback clients only, no proxy */
  access?: OperatorAccessConfig;
  /** Contents with series of their own (`metricsTopContents`). @default 50 */
  topContents?: number;
  /** Whether a content is unlisted (a classroom share): never named in a scrape. @default none */
  isUnlisted?: (contentId: string) => boolean;
}

/** `/api/swarms`: the top contents' reports by content ID, and the rest summed. */
export interface SwarmsView {
  swarms: ContentReport[];
  other: { contents: number; peers: number; seeders: number };
}

export interface Metrics {
  /** The private registry (never prom-client's global one). */
  readonly registry: Registry;
  /** The exposition text and its content type, read fresh. */
  render(): Promise<{ contentType: string; body: string }>;
  /** As served at `GET /api/swarms`: the top contents sorted by content ID, the rest summed. */
  swarms(): Promise<SwarmsView>;
  /** Who may read it. */
  readonly access: OperatorAccessConfig;
  /** Handles `GET /metrics`; returns false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const log = deps.logger.child({ component: 'metrics' });
  const registry = new Registry();
  if (deps.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const perContent = (name: string, help: string) => new Gauge({ name, help, labelNames: ['content_id'] as const, registers: [registry] });
  const peers = new Gauge({
    name: 'tabswarm_swarm_peers',
    help: 'Members of the swarm of a content, by the download mode (scope) they announced with',
    labelNames: ['content_id', 'scope'] as const,
    registers: [registry],
  });
  const seeders = perContent('tabswarm_swarm_seeders', 'Members of the swarm with nothing left to download');
  const uploaded = perContent('tabswarm_swarm_uploaded_bytes', "Sum of the members' reported bytes uploaded to peers (DO Uploaded)");
  const downloaded = perContent('tabswarm_swarm_downloaded_bytes', "Sum of the members' reported bytes downloaded from peers (DO Downloaded)");
  const downloadedCdn = perContent('tabswarm_swarm_downloaded_cdn_bytes', "Sum of the members' reported bytes downloaded from the CDN (DO DownloadedCdn)");
  const left = perContent('tabswarm_swarm_left_bytes', "Sum of the members' reported bytes still missing (DO Left)");
  const uploadBps = perContent('tabswarm_swarm_upload_bps', "Sum of the members' reported upload rates, bytes per second (DO UploadedBPS)");
  const downloadBps = perContent('tabswarm_swarm_download_bps', "Sum of the members' reported download rates, bytes per second (DO DownloadBPS)");
  const swarmCount = new Gauge({ name: 'tabswarm_swarms', help: 'Swarms with at least one member', registers: [registry] });
  const connections = new Gauge({ name: 'tabswarm_arrays_connections', help: 'Open WebSocket connections to the Arrays service', registers: [registry] });
  const cacheNodes = new Gauge({ name: 'tabswarm_cache_nodes', help: 'Open Arrays connections of cache nodes (a hello with a configured cache key)', registers: [registry] });
  const wantedSent = new Counter({ name: 'tabswarm_cache_wanted_total', help: 'wanted messages sent to cache nodes (a peer joined a swarm in a scope they watch)', registers: [registry] });
  const cdnBytes = new Counter({
    name: 'tabswarm_cdn_served_bytes_total',
    help: 'Body bytes sent by the CDN origin, per content (an upper bound for aborted responses)',
    labelNames: ['content_id'] as const,
    registers: [registry],
  });
  const cdnRequests = new Counter({
    name: 'tabswarm_cdn_requests_total',
    help: 'GET and HEAD requests answered by the CDN origin, per content',
    labelNames: ['content_id'] as const,
    registers: [registry],
  });
  const perContentGauges = [seeders, uploaded, downloaded, downloadedCdn, left, uploadBps, downloadBps];

  const access = deps.access ?? { metricsToken: undefined, trustProxy: false };
  const topN = deps.topContents ?? 50;
  const isUnlisted = deps.isUnlisted ?? (() => false);

  /** The top contents (listed, largest swarms first, then most CDN bytes) and the rest summed. */
  function rank(list: ContentReport[]): { top: ContentReport[]; other: ContentReport } {
    const cdn = deps.cdnLog.snapshot().contents;
    const cdnBytesOf = (id: string) => cdn[id]?.bytes ?? 0;
    const ranked = list.filter((r) => !isUnlisted(r.contentId)).sort((a, b) => b.peers - a.peers || cdnBytesOf(b.contentId) - cdnBytesOf(a.contentId));
    const top = ranked.slice(0, topN);
    const named = new Set(top.map((r) => r.contentId));
    const other: ContentReport = { contentId: OTHER_CONTENT, peers: 0, seeders: 0, peersByScope: { lan: 0, group: 0, internet: 0 }, uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 0, uploadedBps: 0, downloadBps: 0 };
    for (const r of list) {
      if (named.has(r.contentId)) continue;
      other.peers += r.peers;
      other.seeders += r.seeders;
      for (const scope of DOWNLOAD_MODES) other.peersByScope[scope] += r.peersByScope[scope] ?? 0;
      other.uploaded += r.uploaded;
      other.downloaded += r.downloaded;
      other.downloadedCdn += r.downloadedCdn;
      other.left += r.left;
      other.uploadedBps += r.uploadedBps;
      other.downloadBps += r.downloadBps;
    }
    top.sort((a, b) => (a.contentId < b.contentId ? -1 : a.contentId > b.contentId ? 1 : 0));
    return { top, other };
  }

  /** Sets every gauge from its source; a content no longer reported disappears from the output. */
  async function refresh(): Promise<void> {
    const all = await deps.contentReports();
    const { top, other } = rank(all);
    const cdn = deps.cdnLog.snapshot();
    peers.reset();
    for (const g of perContentGauges) g.reset();
    for (const r of other.peers > 0 ? [...top, other] : top) {
      const id = { content_id: r.contentId };
      for (const scope of DOWNLOAD_MODES) peers.set({ ...id, scope }, r.peersByScope[scope] ?? 0);
      seeders.set(id, r.seeders);
      uploaded.set(id, r.uploaded);
      downloaded.set(id, r.downloaded);
      downloadedCdn.set(id, r.downloadedCdn);
      left.set(id, r.left);
      uploadBps.set(id, r.uploadedBps);
      downloadBps.set(id, r.downloadBps);
    }
    swarmCount.set(all.filter((r) => r.peers > 0).length);
    connections.set(deps.arraysConnections());
    // Mirrors the Arrays service's count (a restarted service starts again from 0: a counter reset).
    const cache = deps.cacheNodes?.() ?? { connected: 0, wantedSent: 0 };
    cacheNodes.set(cache.connected);
    wantedSent.reset();
    wantedSent.inc(cache.wantedSent);
    // The CDN log is the source of truth; the counters mirror it (it may be reset by tests).
    // The same bound: the top contents by bytes, the rest under "other".
    cdnBytes.reset();
    cdnRequests.reset();
    const byBytes = Object.entries(cdn.contents).sort(([, a], [, b]) => b.bytes - a.bytes);
    byBytes.forEach(([contentId, e], i) => {
      const label = i < topN && !isUnlisted(contentId) ? contentId : OTHER_CONTENT;
      cdnBytes.inc({ content_id: label }, e.bytes);
      cdnRequests.inc({ content_id: label }, e.requests);
    });
  }

  let tail: Promise<unknown> = Promise.resolve();
  function render(): Promise<{ contentType: string; body: string }> {
    const run = tail.then(async () => {
      await refresh();
      return { contentType: registry.contentType, body: await registry.metrics() };
    });
    tail = run.catch(() => undefined);
    return run;
  }

  return {
    registry,
    render,
    access,
    async swarms() {
      const all = await deps.contentReports();
      const { top, other } = rank(all);
      return { swarms: top, other: { contents: all.length - top.length, peers: other.peers, seeders: other.seeders } };
    },
    async handle(req, res, pathname) {
      if (pathname !== METRICS_PATH) return false;
      logRequest(log, req, res);
      if (answeredByMethodCheck(req, res)) return true;
      if (refusedNonOperator(req, res, access)) return true;
      try {
        const { contentType, body } = await render();
        sendText(req, res, 200, body, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
      } catch (err) {
        log.error({ err }, 'metrics scrape failed');
        sendText(req, res, 500, 'metrics unavailable\n');
      }
      return true;
    },
  };
}

/** `GET /api/swarms` (the operator's, as /metrics): a SwarmsView; 500 (logged) if the source fails. */
export function createSwarmsRoute(metrics: Pick<Metrics, 'swarms' | 'access'>, logger: Logger) {
  const log = logger.child({ component: 'metrics' });
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (refusedNonOperator(req, res, metrics.access)) return;
    try {
      sendJson(req, res, 200, await metrics.swarms(), { 'Cache-Control': 'no-store' });
    } catch (err) {
      log.error({ err }, 'swarm reports failed');
      sendJsonError(req, res, 500, 'swarm reports unavailable');
    }
  };
}
