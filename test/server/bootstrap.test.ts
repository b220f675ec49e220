/**
 * GET /api/bootstrap (DO's KeyValue) and GET /api/discovery (DO's Discovery) in a real server,
 * the Arrays URL derivation, and the ICE server configuration checks.
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrapSchema, discoverySchema } from '../../src/protocol/bootstrap.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { arraysUrlFor } from '../../signaling/bootstrap.js';
import { ConfigError, resolveConfig } from '../../signaling/config.js';
import { configFromEnv } from '../../signaling/config-env.js';
import type { ServerHandle } from '../../signaling/server.js';
import { startServer, TestClient, useContentServer } from './helpers.js';

const STUN = { urls: 'stun:stun.example.org:3478' };
const TURN = { urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:443'], username: 'u', credential: 'p' };

/** A GET with exactly these headers (fetch would set Host itself). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bootstrap and discovery', () => {
  const fixture = useContentServer(9, { iceServers: [STUN, TURN], instanceId: 'arrays-eu-1', maxPeersPerReply: 30, announceIntervalMs: 20_000 });
  let server: ServerHandle;
  let contentId: string;
  beforeAll(() => ({ server, contentId } = fixture));

  it('GET /api/bootstrap gives endpoints, limits and ICE servers', async () => {
    const res = await fetch(`${server.url}/api/bootstrap`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = bootstrapSchema.parse(await res.json());
    expect(body).toEqual({
      version: 1,
      instanceId: 'arrays-eu-1',
      endpoints: {
        arrays: '/arrays',
        discovery: '/api/discovery',
        catalog: '/api/catalog',
        contentPolicy: '/api/content/{contentId}',
        metadata: '/meta/{contentId}',
      },
      limits: { maxPeersPerReply: 30, announceIntervalMs: 20_000, peerExpiryMs: 45_000, maxSignalingMessageBytes: LIMITS.maxSignalingMessageBytes },
      iceServers: [STUN, TURN],
    });
    // The endpoints it names answer.
    expect((await fetch(`${server.url}${body.endpoints.catalog}`)).status).toBe(200);
    expect((await fetch(`${server.url}${body.endpoints.contentPolicy.replace('{contentId}', contentId)}`)).status).toBe(200);
    expect((await fetch(`${server.url}${body.endpoints.metadata.replace('{contentId}', contentId)}`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/bootstrap`, { method: 'POST' })).status).toBe(405);
  });

  it('GET /api/discovery names this instance and an Arrays URL that works', async () => {
    const res = await fetch(`${server.url}/api/discovery?contentId=${contentId}&mode=lan`);
    expect(res.status).toBe(200);
    const body = discoverySchema.parse(await res.json());
    expect(body).toEqual({ contentId, mode: 'lan', instanceId: 'arrays-eu-1', arraysUrl: `ws://127.0.0.1:${server.port}/arrays` });
    const group = discoverySchema.parse(await (await fetch(`${server.url}/api/discovery?contentId=${contentId}&mode=group&group=site-7`)).json());
    expect(group).toMatchObject({ mode: 'group', group: 'site-7' });
    // The URL reaches the Arrays service.
    const client = await TestClient.connect(body.arraysUrl);
    client.close();
  });

  it('GET /api/discovery refuses bad queries with 400, and unknown content with 404', async () => {
    const bad = [
      '',
      'mode=lan',
      `contentId=${contentId}`,
      `contentId=${contentId.toUpperCase()}&mode=lan`,
      `contentId=${contentId.slice(1)}&mode=lan`,
      `contentId=${contentId}&mode=http`,
      `contentId=${contentId}&mode=group`,
      `contentId=${contentId}&mode=lan&group=g1`,
      `contentId=${contentId}&mode=group&group=${'g'.repeat(65)}`,
      `contentId=${contentId}&mode=group&group=a%20b`,
      `contentId=${contentId}&mode=lan&extra=1`,
      `contentId=${contentId}&mode=lan&mode=internet`,
    ];
    for (const q of bad) {
      const res = await fetch(`${server.url}/api/discovery?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: string }).error, q).toMatch(/\S/);
    }
    expect((await fetch(`${server.url}/api/discovery?contentId=${'f'.repeat(64)}&mode=internet`)).status).toBe(404);
  });

  it('answers 400 for a request without a usable Host, and follows the Host it is given', async () => {
    const url = `${server.url}/api/discovery?contentId=${contentId}&mode=lan`;
    expect((await rawGet(url, { Host: 'bad host' })).status).toBe(400);
    const ok = await rawGet(url, { Host: 'Swarm.Example.com:8443' });
    expect(ok.status).toBe(200);
    expect((ok.body as { arraysUrl: string }).arraysUrl).toBe('ws://swarm.example.com:8443/arrays');
    // X-Forwarded-* is ignored unless the proxy is trusted.
    const spoof = await rawGet(url, { Host: 'a.example', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' });
    expect((spoof.body as { arraysUrl: string }).arraysUrl).toBe('ws://a.example/arrays');
  });
});

describe('arraysUrlFor', () => {
  const req = (headers: Record<string, string>, encrypted = false) => ({ headers, socket: { encrypted } }) as unknown as IncomingMessage;

  it('prefers publicUrl, then a trusted proxy, then the request', () => {
    expect(arraysUrlFor(req({ host: 'x' }), { publicUrl: 'https://swarm.example.com/base', trustProxy: false }, '/arrays')).toBe('wss://swarm.example.com/base/arrays');
    expect(arraysUrlFor(req({ host: 'x' }), { publicUrl: 'http://10.0.0.5:8080', trustProxy: false }, '/arrays')).toBe('ws://10.0.0.5:8080/arrays');
    expect(arraysUrlFor(req({ host: 'x:1' }, true), { publicUrl: undefined, trustProxy: false }, '/arrays')).toBe('wss://x:1/arrays');
    expect(arraysUrlFor(req({ host: '[::1]:8080' }), { publicUrl: undefined, trustProxy: false }, '/arrays')).toBe('ws://[::1]:8080/arrays');
    const proxied = req({ host: 'internal:8080', 'x-forwarded-proto': 'http, https', 'x-forwarded-host': 'spoofed, swarm.example.com' });
    expect(arraysUrlFor(proxied, { publicUrl: undefined, trustProxy: true }, '/arrays')).toBe('wss://swarm.example.com/arrays');
    expect(arraysUrlFor(req({}), { publicUrl: undefined, trustProxy: false }, '/arrays')).toBeUndefined();
    expect(arraysUrlFor(req({ host: 'a/b' }), { publicUrl: undefined, trustProxy: false }, '/arrays')).toBeUndefined();
  });
});

describe('ICE servers, public URL and instance ID configuration', () => {
  it('reads TABSWARM_ICE_SERVERS, TABSWARM_PUBLIC_URL and TABSWARM_INSTANCE_ID', () => {
    const c = resolveConfig(
      configFromEnv({ TABSWARM_ICE_SERVERS: JSON.stringify([STUN, TURN]), TABSWARM_PUBLIC_URL: 'https://s.example/', TABSWARM_INSTANCE_ID: 'i-1' }),
    );
    expect(c.iceServers).toEqual([STUN, TURN]);
    expect(c.publicUrl).toBe('https://s.example');
    expect(c.instanceId).toBe('i-1');
    expect(resolveConfig().iceServers).toEqual([]);
    // One random ID per process.
    expect(resolveConfig().instanceId).toBe(resolveConfig().instanceId);
  });

  it('rejects bad configuration at startup with a clear error', async () => {
    expect(() => configFromEnv({ TABSWARM_ICE_SERVERS: '[{urls:' })).toThrow(/TABSWARM_ICE_SERVERS must be JSON/);
    const bad: unknown[] = [
      {},
      [{}],
      [{ urls: 'http://stun.example' }],
      [{ urls: [] }],
      [{ urls: 'turn:t.example' }], // TURN without credentials
      [{ ...STUN, extra: 1 }],
      Array(17).fill(STUN),
    ];
    for (const iceServers of bad) {
      expect(() => resolveConfig({ iceServers: iceServers as never }), JSON.stringify(iceServers)).toThrow(ConfigError);
      expect(() => resolveConfig({ iceServers: iceServers as never })).toThrow(/iceServers \(TABSWARM_ICE_SERVERS\) is invalid/);
    }
    expect(() => resolveConfig({ publicUrl: 'ftp://x' })).toThrow(/publicUrl/);
    expect(() => resolveConfig({ publicUrl: 'not a url' })).toThrow(/publicUrl/);
    expect(() => resolveConfig({ instanceId: 'has space' })).toThrow(/instanceId/);
    await expect(startServer(dirForBadStart, { iceServers: [{ urls: 'nope' }] as never })).rejects.toThrow(ConfigError);
  });

  it('reads TABSWARM_ICE_TRANSPORT_POLICY, and refuses relay without a TURN server', () => {
    expect(resolveConfig().iceTransportPolicy).toBe('all');
    const env = { TABSWARM_ICE_SERVERS: JSON.stringify([STUN, TURN]), TABSWARM_ICE_TRANSPORT_POLICY: 'relay' };
    expect(resolveConfig(configFromEnv(env)).iceTransportPolicy).toBe('relay');
    expect(() => resolveConfig(configFromEnv({ ...env, TABSWARM_ICE_TRANSPORT_POLICY: 'host' }))).toThrow(/iceTransportPolicy \(TABSWARM_ICE_TRANSPORT_POLICY\) must be all or relay/);
    expect(() => resolveConfig({ iceTransportPolicy: 'relay' })).toThrow(/needs a turn: or turns: server/);
    expect(() => resolveConfig({ iceTransportPolicy: 'relay', iceServers: [STUN] })).toThrow(/needs a turn: or turns: server/);
  });
});

describe('bootstrap with a relay-only transport policy', () => {
  const fixture = useContentServer(10, { iceServers: [TURN], iceTransportPolicy: 'relay' });

  it('hands out iceTransportPolicy relay with the ICE servers; the default document has no such field', async () => {
    const body = bootstrapSchema.parse(await (await fetch(`${fixture.server.url}/api/bootstrap`)).json());
    expect(body.iceServers).toEqual([TURN]);
    expect(body.iceTransportPolicy).toBe('relay');
    expect(bootstrapSchema.safeParse({ ...body, iceTransportPolicy: 'host' }).success).toBe(false);
    // What the default server sends (tested above) has no iceTransportPolicy key: older clients' strict schema reads it.
    const { iceTransportPolicy: _, ...withoutPolicy } = body;
    expect(bootstrapSchema.parse(withoutPolicy).iceTransportPolicy).toBeUndefined();
  });
});

const dirForBadStart = join(process.cwd(), 'no-such-content-dir');
