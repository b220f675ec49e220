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
import { existsSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import sirv from 'sirv';
import { createArraysService } from './arrays.js';
import { createConnectionGuard, type ConnectionGuard } from './connection-guard.js';
import { createMetadataChecker } from './metadata-checker.js';
import { listenUws, type UwsTransport } from './arrays-uws.js';
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

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** A plain-HTTP request that reached the TLS port: sent to the same URL over https. */
function redirectToHttps(req: IncomingMessage, res: ServerResponse): void {
  const host = req.headers.host;
  if (host === undefined || !/^[A-Za-z0-9.:[\]-]{1,300}$/.test(host)) {
    return sendText(req, res, 400, 'this tabswarm server speaks HTTPS only: open the https:// address it printed\n');
  }
  res.statusCode = 308;
  res.setHeader('Location', `https://${host}${req.url ?? '/'}`);
  res.setHeader('Content-Length', '0');
  res.end();
}

export async function createServer(options: Partial<ServerConfig> = {}, deps: ServerDeps = {}): Promise<ServerHandle> {
  const config = resolveConfig(options);
  const logger = deps.logger ?? createLogger(config.logLevel);
  // Before anything listens or connects: a bad certificate stops the start with its reason.
  const tls = await loadTls(config, logger.child({ component: 'tls' }));
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
  const cdnMaxStreams = effectiveCdnMaxStreams(config.cdnMaxStreams, kernelTcpMemory());
  if (cdnMaxStreams < config.cdnMaxStreams) logger.info({ configured: config.cdnMaxStreams, cdnMaxStreams }, 'CDN stream cap lowered to fit the kernel TCP memory');
  const handleCdn = createCdnHandler({
    contents,
    cdnLog,
    logger,
    rateBytesPerSec: config.cdnRateBytesPerSec,
    streamsPerAddress: config.cdnStreamsPerAddress,
    maxStreams: cdnMaxStreams,
    trustProxy: config.trustProxy,
  });
  const metrics = createMetrics({
    contentReports: () => arrays.contentReports(),
    arraysConnections: () => arrays.connections,
    cdnLog,
    logger,
    access: config,
    topContents: config.metricsTopContents,
    // Peer-only content is a classroom share: listed to no one (and unknown content neither).
    isUnlisted: (contentId) => contents.get(contentId)?.filePath === undefined,
  });
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

  const serveApp = isDirectory(config.appDir)
    ? sirv(config.appDir, {
        single: true,
        // Look files up on each request: with the cached list, a file removed under a running
        // server (a rebuild, a deploy) made sirv stream a missing file, whose unhandled error
        // killed the process. The price: assets are revalidated by ETag, not cached for a year.
        dev: true,
        etag: true,
        setHeaders(res, pathname) {
          // Vite puts content-hashed files under /assets/; everything else may change.
          res.setHeader('Cache-Control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      })
    : undefined;
  if (serveApp === undefined) logger.warn({ appDir: config.appDir }, 'web app not built: run `npm run build`');
  // The library and its examples, as a site embedding tabswarm would serve them.
  const files = (dir: string) => (isDirectory(dir) ? sirv(dir, { dev: true, etag: true }) : undefined);
  const serveLib = files(config.libDir);
  const serveExamples = files(config.examplesDir);

  function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    // Static files are the app's assets, the library and its examples: small, and always
    // sent whole. sirv's Range handling mis-serves suffix ranges (`bytes=-5` gave the first 6
    // bytes) and throws on reversed or huge ones, so no range reaches it.
    delete req.headers.range;
    delete req.headers['if-range'];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(req, res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    } else if (pathname === ARRAYS_PATH) {
      sendText(req, res, 426, 'the Arrays service speaks WebSocket\n', { Upgrade: 'websocket' });
    } else if (pathname.startsWith('/lib/') || pathname.startsWith('/examples/')) {
      const lib = pathname.startsWith('/lib/');
      const serve = lib ? serveLib : serveExamples;
      const prefix = lib ? '/lib' : '/examples';
      if (serve === undefined) return sendText(req, res, 404, lib ? 'the library is not built: run `npm run build`\n' : 'no examples here\n');
      req.url = (req.url ?? '/').slice(prefix.length) || '/';
      serve(req, res, () => sendText(req, res, 404, 'not found\n'));
    } else if (serveApp !== undefined) {
      serveApp(req, res, () => sendText(req, res, 404, 'not found\n'));
    } else {
      const note = `tabswarm server is running, but the web app is not built.\nRun \`npm run build\` (or \`npm start\`, which builds and serves).\nAPI: /api/catalog\n`;
      sendText(req, res, pathname === '/' ? 200 : 404, note);
    }
  }

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
  // Without TLS, one HTTP server listens. With TLS, a TCP listener looks at each connection's
  // first byte: a TLS handshake (0x16) goes to the HTTPS server, anything else to a plain HTTP
  // server that redirects to https:. Both are fed connections; only the listener listens.
  // Timeouts as nginx's client_header_timeout, client_body_timeout and keepalive_timeout; the
  // check runs every second (Node's default is 30 s, which lets a slow-header client hold a
  // socket that long whatever the timeout).
  const timeouts = {
    headersTimeout: Math.min(config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs),
    requestTimeout: config.httpRequestTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.httpHeadersTimeoutMs),
  };
  const server: HttpServer = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, ...timeouts }, onRequest) : createHttpServer(timeouts, onRequest);
  const plain: HttpServer | undefined = tls ? createHttpServer(timeouts, redirectToHttps) : undefined;
  const sockets = new Set<Socket>();
  // Per-address and total connection caps and the send timeout, on the TCP connections of
  // the HTTP port (the TLS listener's, or the plain server's).
  const connections = createConnectionGuard(config, logger.child({ component: 'connections' }));
  const listener: NetServer = tls
    ? createNetServer((socket) => {
        if (!connections.admit(socket)) return;
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
        socket.once('data', (first: Buffer) => {
          socket.pause();
          socket.unshift(first);
          (first[0] === 0x16 ? server : plain!).emit('connection', socket);
          process.nextTick(() => socket.resume());
        });
      })
    : server;
  if (!tls) server.on('connection', (socket: Socket) => connections.admit(socket));
  plain?.on('clientError', (_err, socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    // Closed for good once the answer is out: a client that does not read would otherwise keep
    // the half-closed socket (and its descriptor) as long as it likes.
    if (socket.writable) socket.end(timedOut ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n', () => socket.destroy());
    else socket.destroy();
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (pathnameOf(req) === ARRAYS_PATH) {
      arrays.handleUpgrade(req, socket, head);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(config.port, config.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await arrays.close();
    await scaleOut?.close();
    const code = (err as { code?: string }).code;
    throw new Error(
      code === 'EADDRINUSE'
        ? `port ${config.port} on ${config.host} is already in use; set TABSWARM_PORT to another port`
        : `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  listener.on('error', (err) => logger.error({ err }, 'http server error'));
  if (config.arraysPort !== undefined) {
    try {
      uws = await listenUws(arrays, { host: config.host, port: config.arraysPort, path: ARRAYS_PATH, logger });
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
