/**
 * The tabswarm server: one `node:http` server carrying
 *   /api/*, /meta/*   content policy, catalog, metadata     (http-api.ts)
 *                     bootstrap and discovery               (bootstrap.ts), swarms (metrics.ts)
 *   /cdn/*            the CDN origin, HTTP Range             (cdn.ts)
 *   /metrics          Prometheus exposition                  (metrics.ts)
 *   /arrays           the Arrays WebSocket service           (arrays.ts)
 *   /api/share, /api/join/*, /j/*   classroom sharing: peer-only content, join codes (share-api.ts)
 *   /lib/*            the built library, /examples/* its example pages (libDir, examplesDir)
 *   everything else   the web app from `appDir` (single-page), or a note to build it.
 *
 * With TLS (`tlsAuto`, or `tlsCertFile` and `tlsKeyFile`: tls.ts) the same port speaks HTTPS
 * (and WSS for /arrays); a plain-HTTP request that reaches it is redirected to its https: URL,
 * so an address typed without `https://` still lands on the secure page.
 *
 * `createServer` resolves once the server listens; `close()` terminates every WebSocket and
 * HTTP connection (including downloads in progress) and resolves when the port is released.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createArraysService } from './arrays.js';
import type { ConnectionGuard } from './connection-guard.js';
import { createHttpListener, listen } from './http-listener.js';
import { createStaticFiles } from './static-files.js';
import { createMetadataChecker } from './metadata-checker.js';
import { listenUws, type UwsTransport } from './arrays-uws.js';
import { loadUws, type UwsModule } from './uws-loader.js';
import { createBootstrapRoutes } from './bootstrap.js';
import { CDN_PREFIX, createCdnHandler } from './cdn.js';
import { effectiveCdnMaxStreams, kernelTcpMemory } from './cdn-streams.js';
import { createCdnLog, type CdnLog } from './cdn-log.js';
import { resolveConfig, type ServerConfig } from './config.js';
import { loadContentStore, type ContentStore } from './content-store.js';
import { createApiHandler } from './http-api.js';
import { sendText } from './http-util.js';
import { createLogger } from './logger.js';
import { createMetrics, createSwarmsRoute, type Metrics } from './metrics.js';
import { createRedisScaleOut, type RedisScaleOut } from './redis-scale-out.js';
import { createRestartableArrays, type RestartableArrays } from './restartable-arrays.js';
import { createShareApi } from './share-api.js';
import type { SwarmRegistry } from './swarm-registry.js';
import { loadTls, type TlsMaterial } from './tls.js';

export const ARRAYS_PATH = '/arrays';

export interface ServerHandle {
  /** Base URL for local clients, e.g. `http://127.0.0.1:8080` (`https:` with TLS; no trailing slash). */
  url: string;
  /** The certificate served when TLS is on (never the key): fingerprint, names, where it is. */
  tls: Omit<TlsMaterial, 'key'> | undefined;
  /** The bound port (the real one when `port: 0` was asked). */
  port: number;
  /** The uWebSockets Arrays listener's bound port, when `arraysPort` is set. */
  arraysPort: number | undefined;
  /** The Arrays URL for local clients: on `arraysPort` when set, else `/arrays` on `port`. */
  arraysUrl: string;
  /** Counters of the CDN origin: `bytesFor(id)`, `totalBytes()`, `snapshot()`. */
  cdnLog: CdnLog;
  /** The Arrays service: `swarmSize(id)`, `connections`, `stats()`; `stop()` and `start()` for recovery tests. */
  arrays: RestartableArrays;
  /** The published content served. */
  contents: ContentStore;
  /** The configuration in effect (after defaults and checks). */
  config: ServerConfig;
  logger: Logger;
  /** The metrics registry behind `/metrics` and `/api/swarms`. */
  metrics: Metrics;
  /** The shared registry, relay and instance map when `redisUrl` is set (`instanceFor` for Discovery). */
  scaleOut: RedisScaleOut | undefined;
  /** The HTTP port's TCP connections: open, refused at a cap, closed for a stalled send. */
  connections: Pick<ConnectionGuard, 'open' | 'maxConnections' | 'refused' | 'sendTimeouts'>;
  close(): Promise<void>;
}

/** Optional collaborators; tests and future deployments may swap them. */
export interface ServerDeps {
  logger?: Logger;
  registry?: SwarmRegistry;
  /** Loads uWebSockets when `arraysPort` is set. @default uws-loader.ts's loadUws */
  loadUws?: () => Promise<UwsModule>;
}

/** The host part of the URL that reaches a server bound to `host` from this machine. */
function localUrlHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Path of a request target, without query or fragment; not decoded (IDs are hex). */
function pathnameOf(req: IncomingMessage): string {
  const raw = req.url ?? '/';
  const end = raw.search(/[?#]/);
  return end === -1 ? raw : raw.slice(0, end);
}

/** `/metrics` and `/api/swarms` over this server's Arrays service, contents and CDN log. */
function createServerMetrics(arrays: RestartableArrays, contents: ContentStore, cdnLog: CdnLog, config: ServerConfig, logger: Logger): Metrics {
  return createMetrics({
    contentReports: () => arrays.contentReports(),
    arraysConnections: () => arrays.connections,
    cacheNodes: () => ({ connected: arrays.cacheNodes, wantedSent: arrays.wantedSent }),
    cdnLog,
    logger,
    access: config,
    topContents: config.metricsTopContents,
    // Peer-only content is a classroom share: listed to no one (and unknown content neither).
    isUnlisted: (contentId) => contents.get(contentId)?.filePath === undefined,
  });
}

export async function createServer(options: Partial<ServerConfig> = {}, deps: ServerDeps = {}): Promise<ServerHandle> {
  const config = resolveConfig(options);
  const logger = deps.logger ?? createLogger(config.logLevel);
  // Before anything listens: a bad certificate, or uWebSockets unable to run (uws-loader.ts), stops the start.
  const tls = await loadTls(config, logger.child({ component: 'tls' }));
  const uwsModule = config.arraysPort === undefined ? undefined : await (deps.loadUws ?? loadUws)();
  // Metadata is hashed and parsed in a worker thread: a large document never stalls the loop.
  const checker = createMetadataChecker();
  const contents = await loadContentStore(config.contentDir, logger.child({ component: 'content' }), (bytes) => checker.check(bytes));
  const cdnLog = createCdnLog();
  // Scale-out: with a Redis URL, the registry and the signal relay are shared through Redis.
  const scaleOut =
    config.redisUrl === undefined || deps.registry !== undefined
      ? undefined
      : await createRedisScaleOut({
          url: config.redisUrl,
          prefix: config.redisKeyPrefix,
          instanceId: config.instanceId,
          publicUrl: config.publicUrl,
          logger,
          handOutWindowMs: config.announceIntervalMs,
        });
  // Restartable so the recovery tests can take the service down and up in a running server.
  const arrays = createRestartableArrays(() =>
    createArraysService({
      config,
      logger,
      registry: deps.registry ?? scaleOut?.registry,
      relay: scaleOut?.relay,
      // Every published content is peerable for now (its policy says `peering: true`).
      isPeerable: async (contentId) => (await contents.lookup(contentId)) !== undefined,
    }),
  );
  /** The uWebSockets Arrays listener (`arraysPort`), opened after the HTTP server. */
  let uws: UwsTransport | undefined;
  const handleCdn = createCdnHandler({ contents, cdnLog, logger, config, maxStreams: effectiveCdnMaxStreams(config.cdnMaxStreams, kernelTcpMemory(), logger) });
  const metrics = createServerMetrics(arrays, contents, cdnLog, config, logger);
  const shareApi = createShareApi({ contents, config, logger });
  const handleApi = createApiHandler({
    contents,
    cdnLog,
    config,
    logger,
    health: async () => ({ arrays: await arrays.stats() }),
    swarmReport: (contentId) => arrays.contentReport(contentId),
    routes: {
      swarms: createSwarmsRoute(metrics, logger),
      ...createBootstrapRoutes({
        config,
        arraysPath: ARRAYS_PATH,
        arraysPort: () => uws?.port,
        logger,
        isKnownContent: async (contentId) => (await contents.lookup(contentId)) !== undefined,
        ...(scaleOut ? { instanceFor: (contentId: string, scopeKey: string) => scaleOut.instanceFor(contentId, scopeKey) } : {}),
      }),
    },
  });
  const serveStatic = createStaticFiles(config, logger);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = pathnameOf(req);
    if (pathname.startsWith(CDN_PREFIX)) return handleCdn(req, res, pathname);
    if (await shareApi.handle(req, res, pathname)) return;
    if (await handleApi(req, res, pathname)) return;
    if (await metrics.handle(req, res, pathname)) return;
    serveStatic(req, res, pathname);
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) sendText(req, res, 500, 'internal error\n');
      else res.destroy();
    });
  };
  const { listener, server, plain, sockets, connections } = createHttpListener(config, tls, onRequest, logger);
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (pathnameOf(req) === ARRAYS_PATH) {
      arrays.handleUpgrade(req, socket, head);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });

  try {
    await listen(listener, config, logger);
  } catch (err) {
    await arrays.close();
    await scaleOut?.close();
    throw err;
  }
  if (config.arraysPort !== undefined && uwsModule) {
    try {
      uws = await listenUws(uwsModule, arrays, { host: config.host, port: config.arraysPort, path: ARRAYS_PATH, logger });
    } catch (err) {
      await arrays.close();
      await scaleOut?.close();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      throw new Error(`${(err as Error).message}; set TABSWARM_ARRAYS_PORT to another port`, { cause: err });
    }
  }

  const port = (listener.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  logger.info({ host: config.host, port, tls: tls?.source ?? 'off', contentDir: config.contentDir, contents: contents.size }, 'listening');
  const scheme = tls ? 'https' : 'http';

  return {
    url: `${scheme}://${localUrlHost(config.host)}:${port}`,
    tls: tls ? { cert: tls.cert, source: tls.source, fingerprint256: tls.fingerprint256, altNames: tls.altNames, validTo: tls.validTo, certPath: tls.certPath } : undefined,
    port,
    arraysPort: uws?.port,
    arraysUrl: uws ? `ws://${localUrlHost(config.host)}:${uws.port}${ARRAYS_PATH}` : `${tls ? 'wss' : 'ws'}://${localUrlHost(config.host)}:${port}${ARRAYS_PATH}`,
    cdnLog,
    arrays,
    contents,
    config,
    logger,
    metrics,
    scaleOut,
    connections,
    close() {
      closing ??= (async () => {
        connections.close();
        shareApi.close();
        await checker.close();
        uws?.close();
        await arrays.close();
        await scaleOut?.close();
        await new Promise<void>((resolve) => {
          listener.close(() => resolve());
          server.closeAllConnections();
          plain?.closeAllConnections();
          for (const socket of sockets) socket.destroy();
        });
      })();
      return closing;
    },
  };
}
