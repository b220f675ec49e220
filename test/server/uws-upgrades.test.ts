/**
 * Upgrades on the uWebSockets Arrays port (`arraysPort`): an unknown WebSocket version is
 * refused (426, naming 13). Needs uWebSockets' native build (Node 20): the newest-LTS run leaves
 * this file out (vitest.config.ts), and uws-loader.test.ts checks the refusal there instead.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, makeTempDir, publishDeterministic, removeDir, startServer } from './helpers.js';

describe('Arrays on uWebSockets: upgrades', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    dir = await makeTempDir();
    await publishDeterministic(dir, join(dir, 'content'), 1000, 1);
    server = await startServer(join(dir, 'content'), { arraysPort: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await removeDir(dir);
  });

  function upgrade(version: string): Promise<{ status: number; header: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: server.arraysPort,
        path: '/arrays',
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': version },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, header: undefined });
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, header: res.headers['sec-websocket-version'] as string | undefined });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('refuses a WebSocket version other than 13 (426, naming 13), and accepts 13', async () => {
    expect(await upgrade('99')).toEqual({ status: 426, header: '13' });
    expect((await upgrade('13')).status).toBe(101);
    const c = await TestClient.connect(server.arraysUrl);
    c.close();
  });
});
