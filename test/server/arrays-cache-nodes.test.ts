/**
 * Cache nodes in the Arrays service (signaling/arrays-cache-nodes.ts): the cache key in hello,
 * cache nodes listed first and flagged, `watch` and `wanted` per scope (LAN, group, internet;
 * addresses faked as in arrays-scope.test.ts), repeat suppression, the caps; then the
 * bootstrap document's `cacheNodes` and the metrics.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RawData } from 'ws';
import { bootstrapSchema } from '../../src/protocol/bootstrap.js';
import { serverMessageSchema } from '../../src/protocol/arrays-messages.js';
import { MAX_STRIKES } from '../../signaling/arrays.js';
import { createCdnLog } from '../../signaling/cdn-log.js';
import { createMetrics } from '../../signaling/metrics.js';
import { startArrays, type ArraysHarness } from './arrays-harness.js';
import { TestClient, peerId, peerSecret, sha256Hex, sleep, useContentServer, type AnyMessage } from './helpers.js';

const KEY = 'cache-node-key_0123456789';
const content = (name: string) => sha256Hex(new TextEncoder().encode(`cache-nodes-${name}`));
type Mode = 'lan' | 'group' | 'internet';

/** A client that also keeps the `welcome` replies whole (TestClient keeps only their peer IDs). */
async function connect(harness: ArraysHarness, address: string): Promise<{ client: TestClient; welcomes: AnyMessage[] }> {
  const client = await harness.connect(address);
  const welcomes: AnyMessage[] = [];
  client.ws.on('message', (data: RawData) => {
    const m = JSON.parse(String(data)) as AnyMessage;
    if (m.type === 'welcome') welcomes.push(m);
  });
  return { client, welcomes };
}

/** Every message until the socket is quiet for `ms`, each checked against the server schema. */
async function drain(c: TestClient, ms = 250): Promise<AnyMessage[]> {
  const out: AnyMessage[] = [];
  for (;;) {
    let m: AnyMessage;
    try {
      m = await c.next(ms);
    } catch {
      return out;
    }
    expect(serverMessageSchema.safeParse(m).success, JSON.stringify(m)).toBe(true);
    out.push(m);
  }
}

describe('cache nodes in the Arrays service', () => {
  let harness: ArraysHarness;
  const clients: TestClient[] = [];
  let n = 0;

  beforeAll(async () => {
    harness = await startArrays({ cacheNodeKeys: ['another-key-0000000000', KEY], cacheWantedRepeatMs: 600, maxCacheNodes: 6, maxWatchesPerCacheNode: 3 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sleep(50);
  });
  afterAll(async () => {
    await harness?.close();
  });

  /** A cache node at `address`, said hello with KEY, watching `watches`. */
  async function cacheNode(address: string, watches: Array<{ mode: Mode; group?: string }> = []) {
    const k = 7000 + n++;
    const { client, welcomes } = await connect(harness, address);
    clients.push(client);
    client.hello(peerSecret(k), KEY);
    for (const w of watches) client.send({ type: 'watch', ...w });
    await expectWelcome(welcomes, { type: 'welcome', peerId: peerId(k), cache: true });
    return { client, peerId: peerId(k), secret: peerSecret(k) };
  }

  /** A tab at `address` announcing `contentId`; resolves with its `peers` reply. */
  async function tab(address: string, contentId: string, opts: Parameters<TestClient['announce']>[2] = {}) {
    const k = 8000 + n++;
    const client = await harness.connect(address);
    clients.push(client);
    client.announce(contentId, peerId(k), opts);
    const reply = await client.next();
    expect(reply.type).toBe('peers');
    return { client, peerId: peerId(k), secret: peerSecret(k), reply };
  }

  async function expectWelcome(welcomes: AnyMessage[], expected: AnyMessage): Promise<void> {
    for (let i = 0; i < 100 && welcomes.length === 0; i++) await sleep(10);
    expect(welcomes).toEqual([expected]);
  }

  it('makes a socket whose hello gives a configured key a cache node, listed first and flagged', async () => {
    const C = content('listed');
    const cache = await cacheNode('203.0.113.10');
    expect(harness.arrays.cacheNodes).toBe(1);
    // Five seeders, and the cache node holding less than any of them: still listed first.
    for (let i = 0; i < 5; i++) await tab('203.0.113.10', C, { left: 0 });
    cache.client.announce(C, cache.peerId, { left: 900 });
    const own = await cache.client.next();
    expect(own.peers).toHaveLength(5);
    expect(own.peers.every((p: AnyMessage) => p.cache === undefined)).toBe(true);
    for (const wanted of [1, 3]) {
      const asker = await tab('203.0.113.10', C, { left: 1000, peersWanted: wanted });
      expect(asker.reply.peers).toHaveLength(wanted);
      expect(asker.reply.peers[0]).toMatchObject({ peerId: cache.peerId, left: 900, cache: true });
      expect(asker.reply.peers.slice(1).every((p: AnyMessage) => p.cache === undefined && p.left === 0)).toBe(true);
    }
    // Not across scopes: a tab of another LAN does not get it.
    const elsewhere = await tab('198.51.100.20', C, { left: 1000 });
    expect(elsewhere.reply.peers).toEqual([]);
  });

  it('leaves a hello without a key as it was', async () => {
    const { client, welcomes } = await connect(harness, '203.0.113.11');
    clients.push(client);
    client.hello(peerSecret(7999));
    await expectWelcome(welcomes, { type: 'welcome', peerId: peerId(7999) });
    client.send({ type: 'watch', mode: 'internet' });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'not-a-cache-node', inReplyTo: { type: 'watch' } });
  });

  it('refuses a key it was not configured with: error, close 1008, and the peer ID is not taken from its holder', async () => {
    const holder = await tab('203.0.113.12', content('refused'));
    const { client, welcomes } = await connect(harness, '203.0.113.13');
    clients.push(client);
    // The holder's own secret with a wrong key: refused before anything is bound.
    client.hello(holder.secret, 'not-the-cache-node-key');
    expect(await client.next()).toMatchObject({ type: 'error', code: 'cache-key-refused', inReplyTo: { type: 'hello' } });
    expect((await client.closed).code).toBe(1008);
    expect(welcomes).toEqual([]);
    holder.client.announce(content('refused'), holder.peerId);
    expect((await holder.client.next()).type).toBe('peers');
  });

  it('refuses every cache hello from an address whose refusals are spent, even with the right key', async () => {
    for (let i = 0; i < 10; i++) {
      const { client } = await connect(harness, '192.0.2.77');
      client.hello(peerSecret(9000 + i), `wrong-key-guess-${String(i).padStart(4, '0')}`);
      expect((await client.next()).code).toBe('cache-key-refused');
      expect((await client.closed).code).toBe(1008);
    }
    const { client, welcomes } = await connect(harness, '192.0.2.77');
    client.hello(peerSecret(9100), KEY);
    expect((await client.next()).code).toBe('cache-key-refused');
    expect((await client.closed).code).toBe(1008);
    expect(welcomes).toEqual([]);
    // Another address is not affected.
    await cacheNode('192.0.2.78');
  });

  it('strikes a watch from a socket that is not a cache node, and closes it at the strike limit', async () => {
    const t = await tab('203.0.113.14', content('strikes'));
    for (let i = 0; i < MAX_STRIKES; i++) t.client.send({ type: 'watch', mode: 'lan' });
    const errors = await drain(t.client);
    expect(errors.filter((m) => m.code === 'not-a-cache-node')).toHaveLength(MAX_STRIKES);
    expect((await t.client.closed).code).toBe(1008);
  });

  it('tells each cache node of the joins in the scopes it watches, and no other', async () => {
    const lanA = await cacheNode('203.0.113.1', [{ mode: 'lan' }]);
    const lanB = await cacheNode('198.51.100.7', [{ mode: 'lan' }]);
    const g1 = await cacheNode('198.51.100.8', [{ mode: 'group', group: 'g1' }]);
    const g2 = await cacheNode('198.51.100.9', [{ mode: 'group', group: 'g2' }]);
    const net = await cacheNode('198.51.100.10', [{ mode: 'internet' }]);
    const all = [lanA, lanB, g1, g2, net];
    const expectOnly = async (who: typeof lanA, expected: AnyMessage) => {
      expect(await drain(who.client)).toEqual([expected]);
      for (const other of all) if (other !== who) expect(await other.client.silentFor(50)).toBe(true);
    };

    const L = content('lan');
    // The IPv4-mapped form of lanA's address is lanA's LAN.
    await tab('::ffff:203.0.113.1', L, { mode: 'lan' });
    await expectOnly(lanA, { type: 'wanted', contentId: L, mode: 'lan' });
    const G = content('group');
    await tab('192.0.2.1', G, { mode: 'group', group: 'g1' });
    await expectOnly(g1, { type: 'wanted', contentId: G, mode: 'group', group: 'g1' });
    const I = content('internet');
    await tab('192.0.2.2', I, { mode: 'internet' });
    await expectOnly(net, { type: 'wanted', contentId: I, mode: 'internet' });
    // A join in a scope nobody watches (group g3, a LAN with no cache node): nobody is told.
    await tab('192.0.2.3', G, { mode: 'group', group: 'g3' });
    await tab('192.0.2.4', L, { mode: 'lan' });
    for (const c of all) expect(await c.client.silentFor(50)).toBe(true);
    // A cache node's own announce tells no one.
    net.client.announce(content('cache-own'), net.peerId, { mode: 'group', group: 'g1' });
    expect((await net.client.next()).type).toBe('peers');
    expect(await g1.client.silentFor(150)).toBe(true);
    expect(harness.arrays.wantedSent).toBeGreaterThanOrEqual(3);
  });

  it('tells a cache node nothing of a swarm it is already in, and once per content and scope per repeat time', async () => {
    const node = await cacheNode('203.0.113.2', [{ mode: 'lan' }, { mode: 'internet' }]);
    const In = content('already-in');
    node.client.announce(In, node.peerId, { mode: 'lan' });
    expect((await node.client.next()).type).toBe('peers');
    await tab('203.0.113.2', In, { mode: 'lan' });
    expect(await node.client.silentFor(150)).toBe(true);
    // Its membership is in its LAN's partition: a join in the internet partition is news.
    await tab('192.0.2.5', In, { mode: 'internet' });
    expect(await drain(node.client)).toEqual([{ type: 'wanted', contentId: In, mode: 'internet' }]);

    const R = content('repeat');
    const first = await tab('203.0.113.2', R, { mode: 'lan' });
    expect(await drain(node.client)).toEqual([{ type: 'wanted', contentId: R, mode: 'lan' }]);
    await tab('203.0.113.2', R, { mode: 'lan' });
    first.client.announce(R, first.peerId, { mode: 'lan' });
    expect((await first.client.next()).type).toBe('peers');
    expect(await node.client.silentFor(200)).toBe(true);
    await sleep(650);
    // Past the repeat time (600 ms here), a join is news again; a re-announce is not a join.
    first.client.announce(R, first.peerId, { mode: 'lan' });
    expect((await first.client.next()).type).toBe('peers');
    expect(await node.client.silentFor(150)).toBe(true);
    // A member that moves to another scope joins that partition.
    first.client.announce(R, first.peerId, { mode: 'internet' });
    expect((await first.client.next()).type).toBe('peers');
    expect(await drain(node.client)).toEqual([{ type: 'wanted', contentId: R, mode: 'internet' }]);
    await tab('203.0.113.2', R, { mode: 'lan' });
    expect(await drain(node.client)).toEqual([{ type: 'wanted', contentId: R, mode: 'lan' }]);
  });

  it('caps the scopes one cache node watches; a repeated watch is one', async () => {
    const node = await cacheNode('203.0.113.3');
    for (const w of [{ mode: 'lan' }, { mode: 'internet' }, { mode: 'lan' }, { mode: 'group', group: 'a' }]) node.client.send({ type: 'watch', ...w });
    expect(await node.client.silentFor(200)).toBe(true);
    node.client.send({ type: 'watch', mode: 'group', group: 'b' });
    expect(await node.client.next()).toMatchObject({ type: 'error', code: 'too-many-watches', inReplyTo: { type: 'watch' } });
    // No strike: still open and served.
    await tab('192.0.2.6', content('cap-watch'), { mode: 'group', group: 'a' });
    expect(await drain(node.client)).toEqual([{ type: 'wanted', contentId: content('cap-watch'), mode: 'group', group: 'a' }]);
  });

  it('caps the cache nodes connected at once; a cache node that reconnects takes its own place', async () => {
    const nodes = [];
    for (let i = 0; i < 6; i++) nodes.push(await cacheNode(`203.0.114.${i + 1}`));
    expect(harness.arrays.cacheNodes).toBe(6);
    const { client, welcomes } = await connect(harness, '203.0.114.50');
    clients.push(client);
    client.hello(peerSecret(9500), KEY);
    expect(await client.next()).toMatchObject({ type: 'error', code: 'too-many-cache-nodes', inReplyTo: { type: 'hello' } });
    expect((await client.closed).code).toBe(1008);
    expect(welcomes).toEqual([]);
    // The first one again, on a new socket, before the server noticed its old one is gone.
    const again = await connect(harness, '203.0.114.1');
    clients.push(again.client);
    again.client.hello(nodes[0]!.secret, KEY);
    await expectWelcome(again.welcomes, { type: 'welcome', peerId: nodes[0]!.peerId, cache: true });
    expect((await nodes[0]!.client.closed).code).toBe(4001);
    nodes[1]!.client.close();
    await sleep(100);
    expect(harness.arrays.cacheNodes).toBe(5);
    await cacheNode('203.0.114.60');
  });

  it('lets a cache node be in more swarms than a tab, announcing them all at once', async () => {
    const node = await cacheNode('203.0.113.4');
    for (let i = 0; i < 100; i++) node.client.announce(content(`many-${i}`), node.peerId, { mode: 'internet' });
    const replies = await drain(node.client, 400);
    expect(replies.filter((m) => m.type === 'peers')).toHaveLength(100);
    // A tab's socket stops at 32 (and announces within its burst of 20, then 10/s).
    const t = await tab('203.0.113.5', content('tab-0'), { mode: 'internet' });
    const got: AnyMessage[] = [];
    for (let i = 1; i < 33; i++) {
      t.client.announce(content(`tab-${i}`), t.peerId, { mode: 'internet' });
      if (i % 16 === 0) got.push(...(await drain(t.client, 1700)));
    }
    got.push(...(await drain(t.client)));
    expect(got.filter((m) => m.type === 'peers')).toHaveLength(31);
    expect(got.filter((m) => m.type === 'error').map((m) => m.code)).toEqual(['too-many-swarms']);
  });
});

describe('cache nodes without configured keys', () => {
  let harness: ArraysHarness;
  beforeAll(async () => {
    harness = await startArrays({});
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('refuses every cache key', async () => {
    const client = await harness.connect('203.0.113.20');
    client.hello(peerSecret(9900), KEY);
    expect(await client.next()).toMatchObject({ type: 'error', code: 'cache-key-refused', inReplyTo: { type: 'hello' } });
    expect((await client.closed).code).toBe(1008);
    expect(harness.arrays.cacheNodes).toBe(0);
  });
});

describe('the bootstrap document names the configured cache nodes', () => {
  const urls = ['ws://10.0.0.5:8080/arrays', 'wss://cache.school.example/arrays'];
  const withNodes = useContentServer(31, { cacheNodes: urls });
  const without = useContentServer(32);

  it('as cacheNodes, only when there are some', async () => {
    const body = bootstrapSchema.parse(await (await fetch(`${withNodes.server.url}/api/bootstrap`)).json());
    expect(body.cacheNodes).toEqual(urls);
    const plain = (await (await fetch(`${without.server.url}/api/bootstrap`)).json()) as Record<string, unknown>;
    expect(bootstrapSchema.safeParse(plain).success).toBe(true);
    expect('cacheNodes' in plain).toBe(false);
  });
});

describe('cache-node metrics', () => {
  it('exposes the cache nodes connected and the wanted messages sent', async () => {
    let state = { connected: 2, wantedSent: 5 };
    const metrics = createMetrics({
      contentReports: async () => [],
      arraysConnections: () => 3,
      cacheNodes: () => state,
      cdnLog: createCdnLog(),
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
    });
    let { body } = await metrics.render();
    expect(body).toMatch(/^tabswarm_cache_nodes 2$/m);
    expect(body).toMatch(/^tabswarm_cache_wanted_total 5$/m);
    state = { connected: 1, wantedSent: 9 };
    ({ body } = await metrics.render());
    expect(body).toMatch(/^tabswarm_cache_nodes 1$/m);
    expect(body).toMatch(/^tabswarm_cache_wanted_total 9$/m);
  });
});
