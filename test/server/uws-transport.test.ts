/**
 * The Arrays service on two transports at once (`arraysPort`): `ws` on the HTTP port and
 * uWebSockets on its own port serve one set of swarms; Bootstrap and Discovery send clients to
 * the uWebSockets port. The Arrays suites themselves also run over uWebSockets (the
 * `arrays-uws` vitest project).
 */
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bootstrapSchema, discoverySchema } from '../../src/protocol/bootstrap.js';
import { addressFromUws } from '../../signaling/arrays-uws.js';
import { arraysUrlFor } from '../../signaling/bootstrap.js';
import { ConfigError, resolveConfig } from '../../signaling/config.js';
import { configFromEnv } from '../../signaling/config-env.js';
import { lanKeyOf } from '../../signaling/lan-key.js';
import { makeTempDir, peerId, peerSecret, publishDeterministic, removeDir, startServer, TestClient, useContentServer } from './helpers.js';

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } as const;
const ANSWER = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' } as const;

describe('the Arrays service on ws and uWebSockets at once', () => {
  const fixture = useContentServer(21, { arraysPort: 0, maxSocketsPerAddress: 3 });

  it('sends clients to the uWebSockets port from Bootstrap and Discovery', async () => {
    const { server, contentId } = fixture;
    expect(server.arraysPort).toBeGreaterThan(0);
    expect(server.arraysPort).not.toBe(server.port);
    const expected = `ws://127.0.0.1:${server.arraysPort}/arrays`;
    expect(server.arraysUrl).toBe(expected);
    const boot = bootstrapSchema.parse(await (await fetch(`${server.url}/api/bootstrap`)).json());
    expect(boot.endpoints.arrays).toBe(expected);
    const found = discoverySchema.parse(await (await fetch(`${server.url}/api/discovery?contentId=${contentId}&mode=lan`)).json());
    expect(found.arraysUrl).toBe(expected);
    // Anything but /arrays on that port is 404.
    expect((await fetch(`http://127.0.0.1:${server.arraysPort}/api/health`)).status).toBe(404);
  });

  it('puts peers of both transports in one swarm and relays an offer and its answer between them', async () => {
    const { server, contentId } = fixture;
    const onWs = await TestClient.connect(`ws://127.0.0.1:${server.port}/arrays`);
    const onUws = await TestClient.connect(server.arraysUrl);
    try {
      onWs.announce(contentId, peerId(1));
      expect((await onWs.next()).peers).toEqual([]);
      onUws.announce(contentId, peerId(2), { left: 1000 });
      const reply = await onUws.next();
      // One address, one origin tag, whichever transport (docs/protocol.md, "Origin tags").
      const origin = reply.origin as string;
      expect(origin).toMatch(/^[0-9a-f]{16}$/);
      expect(reply.peers).toEqual([{ peerId: peerId(1), left: 0, origin }]);
      onUws.send({ type: 'signal', contentId, to: peerId(1), data: OFFER });
      expect(await onWs.next()).toEqual({ type: 'signal', contentId, from: peerId(2), data: OFFER, origin });
      onWs.send({ type: 'signal', contentId, to: peerId(2), data: ANSWER });
      expect(await onUws.next()).toEqual({ type: 'signal', contentId, from: peerId(1), data: ANSWER, origin });
      // A peer ID bound on one transport cannot be announced on the other without its secret.
      const thief = await TestClient.connect(server.arraysUrl);
      thief.hello(peerSecret(3));
      thief.announce(contentId, peerId(1));
      expect(await thief.next()).toMatchObject({ type: 'error', code: 'peer-id-mismatch' });
      // The per-address cap (3 here) counts both transports: a fourth socket is refused on either.
      await expect(TestClient.connect(server.arraysUrl)).rejects.toThrow(/429/);
      await expect(TestClient.connect(`ws://127.0.0.1:${server.port}/arrays`)).rejects.toThrow(/429/);
      thief.close();
      await (thief.closed);
    } finally {
      onWs.close();
      onUws.close();
    }
    await expect.poll(() => server.arrays.connections).toBe(0);
  });
});

describe('arraysPort configuration', () => {
  it('reads TABSWARM_ARRAYS_PORT and rejects impossible ports', () => {
    expect(resolveConfig(configFromEnv({ TABSWARM_ARRAYS_PORT: '8081' })).arraysPort).toBe(8081);
    expect(resolveConfig().arraysPort).toBeUndefined();
    expect(() => resolveConfig({ arraysPort: 70_000 })).toThrow(ConfigError);
  });

  it('fails to start with a clear error when the port is taken', async () => {
    const dir = await makeTempDir();
    const blocker = createHttpServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const contentDir = `${dir}/content`;
      await publishDeterministic(dir, contentDir, 1000, 22);
      const taken = (blocker.address() as AddressInfo).port;
      await expect(startServer(contentDir, { arraysPort: taken })).rejects.toThrow(/TABSWARM_ARRAYS_PORT/);
    } finally {
      blocker.close();
      await removeDir(dir);
    }
  });

  it('gives a TLS request the HTTP port (the uWebSockets port speaks plain ws:)', () => {
    const req = (host: string, encrypted: boolean) => ({ headers: { host }, socket: { encrypted } }) as unknown as IncomingMessage;
    const config = { publicUrl: undefined, trustProxy: false };
    expect(arraysUrlFor(req('10.0.0.5:8080', false), config, '/arrays', 8081)).toBe('ws://10.0.0.5:8081/arrays');
    expect(arraysUrlFor(req('[fd00::5]:8080', false), config, '/arrays', 8081)).toBe('ws://[fd00::5]:8081/arrays');
    expect(arraysUrlFor(req('school.example', false), config, '/arrays', 8081)).toBe('ws://school.example:8081/arrays');
    expect(arraysUrlFor(req('10.0.0.5:8443', true), config, '/arrays', 8081)).toBe('wss://10.0.0.5:8443/arrays');
  });
});

describe('addressFromUws', () => {
  it('reads IPv4-mapped addresses as IPv4 and leaves IPv6 to the LAN key', () => {
    expect(addressFromUws('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
    expect(addressFromUws('0000:0000:0000:0000:0000:ffff:cb00:7132')).toBe('203.0.113.50');
    const v6 = '2001:0db8:0001:0002:0000:0000:0000:0005';
    expect(addressFromUws(v6)).toBe(v6);
    expect(lanKeyOf(addressFromUws('0000:0000:0000:0000:0000:0000:0000:0001'))).toBe('private');
    expect(lanKeyOf(v6)).toBe(lanKeyOf('2001:db8:1:2::99'));
  });
});
