/**
 * The restartable Arrays service (signaling/restartable-arrays.ts): stop() closes every socket
 * and refuses upgrades with 503 while HTTP keeps serving; start() brings up a fresh instance
 * with empty swarms; other members pass through to the current instance.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ArraysService } from '../../signaling/arrays.js';
import { createRestartableArrays } from '../../signaling/restartable-arrays.js';
import type { ServerHandle } from '../../signaling/server.js';
import { peerId, TestClient, useContentServer, waitFor } from './helpers.js';

/** The status of a refused WebSocket upgrade, or 101 if it opened. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

describe('restartable Arrays service', () => {
  const fixture = useContentServer(3);
  let server: ServerHandle;
  let contentId: string;
  beforeAll(() => ({ server, contentId } = fixture));

  it('stops (sockets closed with 1001, upgrades 503, HTTP still up) and starts again with empty swarms', async () => {
    const client = await TestClient.connect(server.arraysUrl);
    client.announce(contentId, peerId(1));
    expect((await client.next()).type).toBe('peers');
    expect(await server.arrays.swarmSize(contentId)).toBe(1);
    expect(server.arrays.running).toBe(true);

    await server.arrays.stop();
    expect(server.arrays.running).toBe(false);
    expect((await client.closed).code).toBe(1001);
    expect(server.arrays.connections).toBe(0);
    expect(await upgradeStatus(server.arraysUrl)).toBe(503);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    await server.arrays.stop(); // idempotent

    server.arrays.start();
    expect(server.arrays.running).toBe(true);
    expect(await server.arrays.swarmSize(contentId)).toBe(0);
    const again = await TestClient.connect(server.arraysUrl);
    again.announce(contentId, peerId(1));
    expect((await again.next()).type).toBe('peers');
    expect(await server.arrays.swarmSize(contentId)).toBe(1);
    expect(server.arrays.connections).toBe(1);
    again.close();
    await waitFor(() => server.arrays.connections === 0, 2000, 'the socket to close');
  });

  it('forwards members it does not define, including ones added to ArraysService later', async () => {
    let created = 0;
    const fake = (n: number) =>
      ({
        handleUpgrade: (_req: IncomingMessage, _socket: Duplex, _head: Buffer) => undefined,
        swarmSize: async () => n,
        connections: n,
        stats: async () => ({ swarms: n, peers: n, connections: n }),
        close: async () => undefined,
        contentReports: async () => [{ contentId: 'x', instance: n }],
      }) as unknown as ArraysService;
    const arrays = createRestartableArrays(() => fake(++created));
    expect(arrays.connections).toBe(1);
    expect(await arrays.swarmSize('x')).toBe(1);
    expect(await (arrays as unknown as { contentReports(): Promise<unknown[]> }).contentReports()).toEqual([{ contentId: 'x', instance: 1 }]);
    expect('contentReports' in arrays).toBe(true);
    await arrays.stop();
    arrays.start();
    expect(created).toBe(2);
    expect(arrays.connections).toBe(2);
    await arrays.close();
  });
});
