/**
 * The HTTP port's listener. Without TLS, one HTTP server listens. With TLS, a TCP listener
 * looks at each connection's first byte: a TLS handshake (0x16) goes to the HTTPS server,
 * anything else to a plain HTTP server that redirects to https:. Both are fed connections;
 * only the listener listens. Every TCP connection passes the connection guard first (caps per
 * address and in total, the send timeout), and the HTTP timeouts are nginx's.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { createConnectionGuard, type ConnectionGuard } from './connection-guard.js';
import { sendText } from './http-util.js';
import type { TlsMaterial } from './tls.js';

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

export interface HttpListener {
  /** What listens on the port. */
  listener: NetServer;
  /** The server that answers requests (HTTPS with TLS). */
  server: HttpServer;
  /** With TLS, the plain server that redirects. */
  plain: HttpServer | undefined;
  /** With TLS, the raw sockets the listener holds. */
  sockets: Set<Socket>;
  connections: ConnectionGuard;
}

export function createHttpListener(
  config: ServerConfig,
  tls: TlsMaterial | undefined,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  logger: Logger,
): HttpListener {
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
  return { listener, server, plain, sockets, connections };
}

/** Listens on the configured port; a port in use or out of reach is a clear error. */
export async function listen(listener: NetServer, config: Pick<ServerConfig, 'port' | 'host'>, logger: Logger): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(config.port, config.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Error(
      code === 'EADDRINUSE'
        ? `port ${config.port} on ${config.host} is already in use; set TABSWARM_PORT to another port`
        : `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  listener.on('error', (err) => logger.error({ err }, 'http server error'));
}
