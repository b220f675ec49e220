/**
 * The JSON API (DO's Content Policy service) and the metadata files.
 *
 *   GET /api/health              liveness and counts
 *   GET /api/catalog             { contents: CatalogEntry[] }        (catalogSchema)
 *   GET /api/content/<id>        the content policy                  (contentPolicySchema)
 *   GET /api/cdn-log             the CDN log snapshot (cdn-log.ts)
 *   GET /api/swarm/<id>          { contentId, peers, seeders } of one content's swarm (public)
 *   GET /api/<name>              extra routes given in `ApiDeps.routes` (swarms, bootstrap, discovery)
 *   GET /meta/<id>               the exact metadata bytes; sha256(bytes) = id
 *
 * A malformed content ID is 400, an unknown one 404. Metadata replies are content-addressed,
 * so they carry a strong ETag (the ID) and immutable caching; policy and catalog may change
 * and are `no-cache`.
 *
 * Requests are not logged at info level one by one (monitoring polls /api and /metrics all
 * the time): each is logged at debug level when it completes, and at error level when it
 * was answered with a 5xx (`logRequest`).
 */
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { contentPolicySchema, type Catalog, type ContentPolicy } from '../src/protocol/content-policy.js';
import type { CdnLog } from './cdn-log.js';
import type { ServerConfig } from './config.js';
import { isContentId } from './content-paths.js';
import type { ContentRecord, ContentStore } from './content-store.js';
import type { ContentReport } from './content-report.js';
import { answeredByMethodCheck, etagMatches, sendJson, sendJsonError, setCors } from './http-util.js';

export const API_PREFIX = '/api/';
export const META_PREFIX = '/meta/';
/** Longest URL a content policy may carry (contentPolicySchema). */
const MAX_URL_LENGTH = 2048;
/** Most entries in a catalog reply (catalogSchema). */
const MAX_CATALOG_ENTRIES = 10_000;
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The content policy of `record`. CDN URLs end with the file name when it fits in a URL.
 * Peer-only content (no `filePath`: shared from a browser) has no CDN URL at all: peers only.
 */
export function contentPolicyFor(record: Pick<ContentRecord, 'contentId' | 'name' | 'fileSize'> & { filePath?: string | undefined }, cdnBaseUrl: string | undefined): ContentPolicy {
  const peerOnly = 'filePath' in record && record.filePath === undefined;
  const base = `${cdnBaseUrl ?? '/cdn'}/${record.contentId}`;
  const named = `${base}/${encodeURIComponent(record.name)}`;
  return {
    contentId: record.contentId,
    metadataUrl: `${META_PREFIX}${record.contentId}`,
    metadataSha256: record.contentId,
    cdnUrls: peerOnly ? [] : [named.length <= MAX_URL_LENGTH ? named : base],
    peering: true,
    name: record.name,
    fileSize: record.fileSize,
  };
}

/** An extra `/api/<name>` route; `url` is the parsed request URL (for the query). */
export type ApiRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/**
 * Logs `req` once its response is sent or abandoned: debug level, or error level for a 5xx.
 * For the polled endpoints (/api, /metrics), where a line per request at info level is noise.
 */
export function logRequest(log: Logger, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  const done = (aborted: boolean) => () => {
    const fields = { method: req.method, url: req.url, status: res.statusCode, ms: Math.round(performance.now() - started), aborted };
    if (res.statusCode >= 500) log.error(fields, 'request failed');
    else log.debug(fields, 'request');
  };
  res.once('finish', done(false));
  res.once('close', () => {
    if (!res.writableFinished) done(true)();
  });
}

export interface ApiDeps {
  contents: ContentStore;
  cdnLog: CdnLog;
  config: Pick<ServerConfig, 'cdnBaseUrl'>;
  logger: Logger;
  /** Extra fields for `/api/health` (e.g. Arrays counts). */
  health?: () => Promise<object>;
  /** Extra routes by name: `/api/<name>` (exact match), e.g. `swarms`, `bootstrap`, `discovery`. */
  routes?: Record<string, ApiRoute>;
  /**
   * One content's swarm, for `GET /api/swarm/<contentId>` (public: knowing the ID is the
   * capability, and nothing lists the IDs of unlisted shares). @default no swarm anywhere
   */
  swarmReport?: (contentId: string) => Promise<Pick<ContentReport, 'peers' | 'seeders'> | undefined>;
}

export function createApiHandler(deps: ApiDeps) {
  const { contents, cdnLog, config } = deps;
  const log = deps.logger.child({ component: 'api' });
  const startedAt = Date.now();

  async function serveMeta(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    setCors(res);
    if (!isContentId(id)) return sendJsonError(req, res, 400, 'malformed content ID');
    const record = await contents.lookup(id);
    if (record === undefined) return sendJsonError(req, res, 404, 'unknown content');
    const etag = `"${id}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', IMMUTABLE);
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // From disk, as checked when loaded: no metadata is held in memory. (The client checks the
    // bytes against the content ID anyway: a file changed since is caught there.)
    let file;
    try {
      file = await open(record.metadataPath, 'r');
    } catch {
      res.removeHeader('ETag');
      res.removeHeader('Cache-Control');
      return sendJsonError(req, res, 404, 'unknown content');
    }
    const size = (await file.stat()).size;
    res.statusCode = 200;
    res.setHeader('Content-Length', String(size));
    if (req.method === 'HEAD') {
      await file.close();
      res.end();
      return;
    }
    const stream = file.createReadStream();
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  }

  /**
   * `GET /api/swarm/<contentId>`: `{ contentId, peers, seeders }` of that content's swarm (zeros
   * when empty). Anything but a known content ID is a 404, a malformed one included: the route
   * tells nothing about IDs beyond "this one exists", which its holder already knows.
   */
  async function serveSwarm(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    setCors(res);
    if (!isContentId(id)) return sendJsonError(req, res, 404, 'unknown content');
    if ((await contents.lookup(id)) === undefined) return sendJsonError(req, res, 404, 'unknown content');
    const r = await deps.swarmReport?.(id);
    sendJson(req, res, 200, { contentId: id, peers: r?.peers ?? 0, seeders: r?.seeders ?? 0 }, { 'Cache-Control': 'no-store' });
  }

  async function servePolicy(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (!isContentId(id)) return sendJsonError(req, res, 400, 'malformed content ID');
    const record = await contents.lookup(id);
    if (record === undefined) return sendJsonError(req, res, 404, 'unknown content');
    const policy = contentPolicyFor(record, config.cdnBaseUrl);
    const checked = contentPolicySchema.safeParse(policy);
    if (!checked.success) {
      // Our own broken invariant (e.g. a CDN base URL too long): fail loudly, serve nothing wrong.
      log.error({ contentId: id, issues: checked.error.issues }, 'built an invalid content policy');
      return sendJsonError(req, res, 500, 'invalid content policy');
    }
    sendJson(req, res, 200, checked.data);
  }

  /** Handles `/api/*` and `/meta/*`; returns false for other paths. */
  return async function handleApi(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    const isApi = pathname.startsWith(API_PREFIX);
    if (!isApi && !pathname.startsWith(META_PREFIX)) return false;
    if (isApi) logRequest(log, req, res);
    if (answeredByMethodCheck(req, res)) return true;
    if (!isApi) {
      await serveMeta(req, res, pathname.slice(META_PREFIX.length));
      return true;
    }
    const route = pathname.slice(API_PREFIX.length);
    const extra = deps.routes !== undefined && Object.hasOwn(deps.routes, route) ? deps.routes[route] : undefined;
    if (extra !== undefined) {
      setCors(res);
      await extra(req, res, new URL(req.url ?? '/', 'http://localhost'));
    } else if (route === 'health') {
      const extra = deps.health ? await deps.health() : {};
      sendJson(req, res, 200, { ok: true, uptimeMs: Date.now() - startedAt, contents: contents.size, ...extra });
    } else if (route === 'catalog') {
      await contents.refresh();
      const catalog: Catalog = { contents: contents.list().slice(0, MAX_CATALOG_ENTRIES) };
      sendJson(req, res, 200, catalog);
    } else if (route.startsWith('content/')) {
      await servePolicy(req, res, route.slice('content/'.length));
    } else if (route.startsWith('swarm/')) {
      await serveSwarm(req, res, route.slice('swarm/'.length));
    } else if (route === 'cdn-log') {
      sendJson(req, res, 200, cdnLog.snapshot());
    } else {
      sendJsonError(req, res, 404, 'no such API');
    }
    return true;
  };
}
