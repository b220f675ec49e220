/**
 * An Arrays service alone on a plain `node:http` server (127.0.0.1, port 0), or on a
 * uWebSockets listener when TABSWARM_TEST_ARRAYS=uws, with the client address taken from a
 * test header (`x-test-address`), so tests can put sockets behind any public or private
 * address without owning those addresses. Any content ID is peerable.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createArraysService, type ArraysService } from '../../signaling/arrays.js';
import type { UpgradeRequest } from '../../signaling/arrays-socket.js';
import { listenUws } from '../../signaling/arrays-uws.js';
import { resolveConfig, type ServerConfig } from '../../signaling/config.js';
import { createLogger } from '../../signaling/logger.js';
import type { SwarmRegistry } from '../../signaling/swarm-registry.js';
import { loadUws } from '../../signaling/uws-loader.js';
import { TEST_ARRAYS_TRANSPORT, TestClient } from './helpers.js';

export const ADDRESS_HEADER = 'x-test-address';

export interface ArraysHarness {
  /** The Arrays URL (`ws://127.0.0.1:<port>/arrays`). */
  url: string;
  arrays: ArraysService;
  /** A client whose address the service sees as `address`. */
  connect(address: string): Promise<TestClient>;
  close(): Promise<void>;
}

export async function startArrays(options: Partial<ServerConfig> = {}, registry?: SwarmRegistry): Promise<ArraysHarness> {
  const config = resolveConfig({ logLevel: 'silent', ...options });
  const logger = createLogger('silent', false);
  const arrays = createArraysService({
    config,
    logger,
    registry,
    addressOf: (req: UpgradeRequest) => String(req.headers[ADDRESS_HEADER] ?? req.socket.remoteAddress ?? ''),
  });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => arrays.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const uws = TEST_ARRAYS_TRANSPORT === 'uws' ? await listenUws(await loadUws(), arrays, { host: '127.0.0.1', port: 0, path: '/arrays', logger }) : undefined;
  const url = `ws://127.0.0.1:${uws?.port ?? (server.address() as AddressInfo).port}/arrays`;
  return {
    url,
    arrays,
    connect: (address) => TestClient.connect(url, { [ADDRESS_HEADER]: address }),
    async close() {
      uws?.close();
      await arrays.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
