/**
 * An Arrays service alone on a plain `node:http` server (127.0.0.1, port 0), with the client
 * address taken from a test header (`x-test-address`), so tests can put sockets behind any
 * public or private address without owning those addresses. Any content ID is peerable.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createArraysService, type ArraysService } from '../../signaling/arrays.js';
import { resolveConfig, type ServerConfig } from '../../signaling/config.js';
import { createLogger } from '../../signaling/logger.js';
import type { SwarmRegistry } from '../../signaling/swarm-registry.js';
import { TestClient } from './helpers.js';

export const ADDRESS_HEADER = 'x-test-address';

export interface ArraysHarness {
  url: string;
  arrays: ArraysService;
  /** A client whose address the service sees as `address`. */
  connect(address: string): Promise<TestClient>;
  close(): Promise<void>;
}

export async function startArrays(options: Partial<ServerConfig> = {}, registry?: SwarmRegistry): Promise<ArraysHarness> {
  const config = resolveConfig({ logLevel: 'silent', ...options });
  const arrays = createArraysService({
    config,
    logger: createLogger('silent', false),
    registry,
    addressOf: (req: IncomingMessage) => String(req.headers[ADDRESS_HEADER] ?? req.socket.remoteAddress ?? ''),
  });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => arrays.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    arrays,
    connect: (address) => TestClient.connect(url, { [ADDRESS_HEADER]: address }),
    async close() {
      await arrays.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
