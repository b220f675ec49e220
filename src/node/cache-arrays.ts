/**
 * A cache node's own Arrays service (`tabswarm cache --listen`), for networks where discovery
 * through the main server's service is not wanted: the server's bootstrap document names the
 * node's URL (TABSWARM_CACHE_NODES), tabs announce each content there too (client/peering-
 * adapters.ts merges it with the main service), and find the node listed as a cache node.
 *
 * It is the server's own Arrays code (signaling/arrays.ts: its schemas, per-address limits,
 * relay rule and bans), on a plain HTTP listener that answers nothing but the `/arrays`
 * upgrade. The node itself joins it with a key made at start and known to no one else, so it
 * is the only cache node there; it watches the scopes it serves and so learns what tabs want.
 * A swarm forms only for contents the node may serve (`isPeerable`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createArraysService, type ArraysService } from '../../signaling/arrays.js';
import { resolveConfig } from '../../signaling/config.js';
import { createLogger } from '../../signaling/logger.js';
import { listenOn } from './listen.js';

export interface CacheArrays {
  /** ws://host:port/arrays, as tabs are to be told (the bootstrap document's `cacheNodes`). */
  readonly url: string;
  /** The key the node's own connection presents here. */
  readonly key: string;
  close(): Promise<void>;
}

/** Connections the listener holds at once, besides the Arrays service's own caps per address and in total. */
const MAX_SOCKETS = 4096;

export async function startCacheArrays(host: string, port: number, isPeerable: (contentId: string) => Promise<boolean>): Promise<CacheArrays> {
  const key = randomBytes(24).toString('base64url');
  const config = resolveConfig({ host, port, cacheNodeKeys: [key], logLevel: 'warn' });
  const arrays: ArraysService = createArraysService({ config, logger: createLogger('warn', false), isPeerable });
  const server: Server = createServer((_req, res) => res.writeHead(404, { connection: 'close' }).end());
  server.maxConnections = MAX_SOCKETS;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if ((req.url ?? '').split('?')[0] === '/arrays') arrays.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  const at = await listenOn(server, host, port);
  return {
    url: `ws://${at}/arrays`,
    key,
    async close() {
      await arrays.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
