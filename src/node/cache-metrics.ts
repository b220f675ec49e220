/**
 * The cache node's own report: `GET /metrics` (Prometheus text, prom-client) and `GET /status`
 * (JSON: DO's PerfSnap of the node, its counters, and its store), on an address of its own
 * (127.0.0.1 by default: the node is a peer, not a public service). Every series is a total
 * over the node, never one per content or per peer, so the series stay few however many
 * contents pass through; `/status` names contents, bounded by the store's own limits.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CacheNode } from './cache-node.js';
import { listenOn } from './listen.js';

/** Connections the report takes at once (it is scraped, not browsed). */
const MAX_CONNECTIONS = 16;

export interface CacheReport {
  readonly url: string;
  close(): Promise<void>;
}

/** The metrics of `node`, read when they are scraped. */
export function cacheRegistry(node: CacheNode): Registry {
  const registry = new Registry();
  const snapshot = () => node.client.status();
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  const total = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  total('tabswarm_cache_node_bytes_served_total', 'Bytes the node sent to peers', () => snapshot().TotalBytesToPeers);
  total('tabswarm_cache_node_bytes_from_cdn_total', 'Bytes the node fetched from the CDN', () => snapshot().TotalBytesFromHTTP);
  total('tabswarm_cache_node_bytes_from_peers_total', 'Bytes the node received from peers', () => snapshot().TotalBytesFromPeers);
  total('tabswarm_cache_node_pieces_rejected_total', 'Pieces that failed their hash', () => snapshot().PiecesRejected);
  total('tabswarm_cache_node_peers_banned_total', 'Peers the node banned', () => snapshot().PeersBanned);
  total('tabswarm_cache_node_wanted_total', 'Contents the Arrays service said peers announced near the node', () => node.counters.wanted);
  total('tabswarm_cache_node_fills_total', 'Contents the node joined to fill on demand', () => node.counters.joined);
  total('tabswarm_cache_node_refused_total', 'Wanted contents the node may not serve (not published or not listed)', () => node.counters.refused);
  gauge('tabswarm_cache_node_filling', 'Contents filling now', () => node.filling().length);
  gauge('tabswarm_cache_node_serving', 'Contents complete and offered to peers now', () => snapshot().Downloads.filter((d) => d.Status === 'Complete').length);
  gauge('tabswarm_cache_node_peers', 'Peers linked now, over every content', () => snapshot().NumPeers);
  gauge('tabswarm_cache_node_upload_bps', 'Upload rate now, bytes per second', () => snapshot().UploadBps);
  const stored = new Gauge({ name: 'tabswarm_cache_node_stored_bytes', help: 'Bytes of pieces in the store', registers: [registry] });
  const contents = new Gauge({ name: 'tabswarm_cache_node_contents', help: 'Contents in the store', registers: [registry] });
  // The store's figures are read before each scrape (records, not pieces: cheap): `refresh`.
  return Object.assign(registry, {
    async refresh() {
      const records = await node.client.cache.list();
      stored.set(records.reduce((a, r) => a + r.bytesStored, 0));
      contents.set(records.length);
    },
  });
}

/** Serves the report on `host:port` (port 0: any free one). */
export async function serveCacheReport(node: CacheNode, host: string, port: number): Promise<CacheReport> {
  const registry = cacheRegistry(node) as Registry & { refresh(): Promise<void> };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
    if (path === '/metrics') {
      void registry
        .refresh()
        .then(() => registry.metrics())
        .then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      return;
    }
    if (path === '/status') {
      void node.client.cache.list().then(
        (records) => {
          const body = { status: node.client.status(), counters: node.counters, filling: node.filling(), store: records.map((r) => ({ contentId: r.contentId, fileName: r.fileName, fileSize: r.fileSize, bytesStored: r.bytesStored, complete: r.complete, lastUsedAt: r.lastUsedAt })) };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        },
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  const at = await listenOn(server, host, port);
  return {
    url: `http://${at}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
