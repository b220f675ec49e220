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
 *   tabswarm_cdn_served_bytes_total{content_id}        body bytes the CDN origin sent (cdn-log.ts)
 *   tabswarm_cdn_requests_total{content_id}            requests the CDN origin answered
 *   tabswarm_swarms                                    swarms with at least one member
 * and prom-client's default process metrics (CPU, memory, event loop lag, GC, handles).
 *
 * The swarm figures are gauges of the members' self-reported sums: a member leaving takes its
 * bytes out of them, so they are not counters. Every value is read at scrape time from its
 * source; scrapes run one at a time, so two concurrent ones never mix their values.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { CdnLog } from './cdn-log.js';
import { DOWNLOAD_MODES } from '../src/protocol/arrays-messages.js';
import type { ContentReport } from './content-report.js';
import { logRequest } from './http-api.js';
import { answeredByMethodCheck, sendJson, sendJsonError, sendText } from './http-util.js';

export const METRICS_PATH = '/metrics';

export interface MetricsDeps {
  /** The per-content aggregates, read at each scrape (`ArraysService.contentReports()`). */
  contentReports: () => Promise<ContentReport[]>;
  /** Open Arrays WebSocket connections. */
  arraysConnections: () => number;
  cdnLog: Pick<CdnLog, 'snapshot'>;
  logger: Logger;
  /** Register prom-client's default process metrics. @default true */
  defaultMetrics?: boolean;
}

export interface Metrics {
  /** The private registry (never prom-client's global one). */
  readonly registry: Registry;
  /** The exposition text and its content type, read fresh. */
  render(): Promise<{ contentType: string; body: string }>;
  /** `{ swarms }` as served at `GET /api/swarms`, sorted by content ID. */
  swarms(): Promise<{ swarms: ContentReport[] }>;
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

  async function reports(): Promise<ContentReport[]> {
    const list = await deps.contentReports();
    return [...list].sort((a, b) => (a.contentId < b.contentId ? -1 : a.contentId > b.contentId ? 1 : 0));
  }

  /** Sets every gauge from its source; a content no longer reported disappears from the output. */
  async function refresh(): Promise<void> {
    const list = await reports();
    const cdn = deps.cdnLog.snapshot();
    peers.reset();
    for (const g of perContentGauges) g.reset();
    for (const r of list) {
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
    swarmCount.set(list.filter((r) => r.peers > 0).length);
    connections.set(deps.arraysConnections());
    // The CDN log is the source of truth; the counters mirror it (it may be reset by tests).
    cdnBytes.reset();
    cdnRequests.reset();
    for (const [contentId, e] of Object.entries(cdn.contents)) {
      cdnBytes.inc({ content_id: contentId }, e.bytes);
      cdnRequests.inc({ content_id: contentId }, e.requests);
    }
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
    async swarms() {
      return { swarms: await reports() };
    },
    async handle(req, res, pathname) {
      if (pathname !== METRICS_PATH) return false;
      logRequest(log, req, res);
      if (answeredByMethodCheck(req, res)) return true;
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

/** `GET /api/swarms`: `{ swarms: ContentReport[] }`; 500 (logged) if the source fails. */
export function createSwarmsRoute(metrics: Pick<Metrics, 'swarms'>, logger: Logger) {
  const log = logger.child({ component: 'metrics' });
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      sendJson(req, res, 200, await metrics.swarms(), { 'Cache-Control': 'no-store' });
    } catch (err) {
      log.error({ err }, 'swarm reports failed');
      sendJsonError(req, res, 500, 'swarm reports unavailable');
    }
  };
}
