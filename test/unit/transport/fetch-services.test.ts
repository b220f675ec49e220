import { describe, expect, it } from 'vitest';
import { isTabswarmError } from '../../../src/core/errors.js';
import { defaultArraysUrl, fetchBootstrap, fetchDiscovery } from '../../../src/transport/fetch-services.js';

const ID = 'ab'.repeat(32);
const BOOTSTRAP = {
  version: 1,
  instanceId: 'a1',
  endpoints: { arrays: '/arrays', discovery: '/api/discovery', catalog: '/api/catalog', contentPolicy: '/api/content/{contentId}', metadata: '/meta/{contentId}' },
  limits: { maxPeersPerReply: 20, announceIntervalMs: 15000, peerExpiryMs: 60000, maxSignalingMessageBytes: 65536 },
  iceServers: [{ urls: 'stun:stun.example.org:3478' }],
};
const DISCOVERY = { contentId: ID, mode: 'lan', instanceId: 'a1', arraysUrl: 'ws://10.0.0.2:8080/arrays' };

/** A fetch that answers every URL with `body` (a string as is, anything else as JSON) and records what was asked. */
function fakeFetch(body: unknown, status = 200) {
  const asked: string[] = [];
  const impl = (async (input: RequestInfo | URL) => {
    asked.push(String(input));
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as typeof fetch;
  return { impl, asked };
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('bootstrap and discovery, client side', () => {
  it('takes a valid bootstrap document', async () => {
    const f = fakeFetch(BOOTSTRAP);
    const b = await fetchBootstrap('http://10.0.0.2:8080/page', f.impl);
    expect(b.iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }]);
    expect(f.asked).toEqual(['http://10.0.0.2:8080/api/bootstrap']);
  });

  it('refuses a bootstrap document that is not JSON, fails its schema, is too large or is an error', async () => {
    for (const f of [
      fakeFetch('{not json'),
      fakeFetch({ ...BOOTSTRAP, version: 2 }),
      fakeFetch({ ...BOOTSTRAP, iceServers: [{ urls: 'turn:turn.example.org' }] }), // TURN without credentials
      fakeFetch({ ...BOOTSTRAP, extra: 'x'.repeat(70 * 1024) }),
      fakeFetch(BOOTSTRAP, 500),
    ]) {
      expect(isTabswarmError(await errorOf(fetchBootstrap('http://h/', f.impl)), 'policy-unavailable')).toBe(true);
    }
  });

  it('asks Discovery about one swarm and takes only an answer about that swarm', async () => {
    const f = fakeFetch(DISCOVERY);
    const d = await fetchDiscovery('http://h/', { contentId: ID, mode: 'lan' }, f.impl);
    expect(d.arraysUrl).toBe('ws://10.0.0.2:8080/arrays');
    expect(f.asked).toEqual([`http://h/api/discovery?contentId=${ID}&mode=lan`]);

    const other = fakeFetch({ ...DISCOVERY, mode: 'internet' });
    expect(isTabswarmError(await errorOf(fetchDiscovery('http://h/', { contentId: ID, mode: 'lan' }, other.impl)), 'policy-unavailable')).toBe(true);
    const notWs = fakeFetch({ ...DISCOVERY, arraysUrl: 'http://evil/arrays' });
    expect(isTabswarmError(await errorOf(fetchDiscovery('http://h/', { contentId: ID, mode: 'lan' }, notWs.impl)), 'policy-unavailable')).toBe(true);
  });

  it('passes the group of group mode', async () => {
    const f = fakeFetch({ ...DISCOVERY, mode: 'group', group: 'class-7b' });
    await fetchDiscovery('http://h/', { contentId: ID, mode: 'group', group: 'class-7b' }, f.impl);
    expect(f.asked[0]).toBe(`http://h/api/discovery?contentId=${ID}&mode=group&group=class-7b`);
  });

  it('derives the default Arrays URL from the server URL', () => {
    expect(defaultArraysUrl('http://10.0.0.2:8080/x')).toBe('ws://10.0.0.2:8080/arrays');
    expect(defaultArraysUrl('https://example.org')).toBe('wss://example.org/arrays');
  });
});
