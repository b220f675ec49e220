/**
 * The SwarmRegistry contract, run over both implementations: the memory registry and the
 * Redis one (against a real redis-server). Scope partitions, exclusions, seeders first,
 * hand-outs spread and forgotten, selection cost bounded, expiry, reports.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/protocol/arrays-messages.js';
import { RedisSwarmRegistry } from '../../signaling/redis-swarm-registry.js';
import { MemorySwarmRegistry, SAMPLE_PER_WANTED, type SwarmRegistry } from '../../signaling/swarm-registry.js';
import { RedisProcess, testPrefix } from './redis-harness.js';

const C = 'c'.repeat(64);
const D = 'd'.repeat(64);
const id = (n: number) => n.toString(16).padStart(32, '0');
const report = (left: number, extra: Partial<Report> = {}): Report => ({
  uploaded: 1,
  downloaded: 2,
  downloadedCdn: 3,
  left,
  peersWanted: 20,
  isBackground: false,
  uploadedBps: 4,
  downloadBps: 5,
  mode: 'internet',
  ...extra,
});

type Registry = SwarmRegistry & { lastSelectionCost: number };
type Factory = (opts?: { now?: () => number; handOutWindowMs?: number }) => Registry;

let redisProc: RedisProcess | undefined;
let client: Redis | undefined;

beforeAll(async () => {
  redisProc = await RedisProcess.start();
  client = new Redis(redisProc.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await client?.quit();
  await redisProc?.stop();
});

const implementations: Array<[string, Factory]> = [
  ['MemorySwarmRegistry', (o = {}) => new MemorySwarmRegistry({ now: o.now ?? (() => 0), handOutWindowMs: o.handOutWindowMs ?? 1e9 })],
  [
    'RedisSwarmRegistry',
    (o = {}) =>
      new RedisSwarmRegistry(client!, { prefix: testPrefix('reg'), instanceId: 'i1', now: o.now ?? (() => 0), handOutWindowMs: o.handOutWindowMs ?? 1e9 }),
  ],
];

describe.each(implementations)('%s (SwarmRegistry contract)', (_name, make) => {
  async function swarmOf(size: number, leftOf: (i: number) => number, scope = 'internet'): Promise<Registry> {
    const registry = make();
    const all: Array<Promise<void>> = [];
    for (let i = 0; i < size; i++) all.push(registry.upsert(C, scope, id(i), report(leftOf(i)), 0));
    await Promise.all(all);
    return registry;
  }

  it('never lists the asker or an excluded peer, and fills the reply despite exclusions', async () => {
    const registry = await swarmOf(30, () => 0);
    const exclude = new Set([id(1), id(2), id(3), id(4), id(5)]);
    for (let k = 0; k < 20; k++) {
      const peers = await registry.selectPeers({ contentId: C, peerId: id(0), left: 100, max: 24, exclude });
      expect(peers).toHaveLength(24);
      for (const p of peers) {
        expect(p.peerId).not.toBe(id(0));
        expect(exclude.has(p.peerId)).toBe(false);
      }
    }
  });

  it('lists only the asker partition; a member announcing another scope moves', async () => {
    const registry = await swarmOf(10, () => 0, 'group:a');
    await registry.upsert(C, 'group:b', id(100), report(0), 0);
    await registry.upsert(C, 'group:b', id(101), report(0), 0);
    expect((await registry.selectPeers({ contentId: C, peerId: id(100), left: 1, max: 20 })).map((p) => p.peerId)).toEqual([id(101)]);
    await registry.upsert(C, 'group:a', id(101), report(0), 0);
    expect(await registry.selectPeers({ contentId: C, peerId: id(100), left: 1, max: 20 })).toEqual([]);
    expect(await registry.selectPeers({ contentId: C, peerId: id(0), left: 1, max: 20 })).toHaveLength(10);
    expect(await registry.scopeOf(C, id(101))).toBe('group:a');
    expect(await registry.scopeOf(C, id(999))).toBeUndefined();
    expect(await registry.selectPeers({ contentId: C, peerId: id(999), left: 1, max: 20 })).toEqual([]);
  });

  it('puts seeders first, then peers holding more than the asker; a leecher that finishes becomes a seeder', async () => {
    const registry = await swarmOf(21, (i) => (i === 0 ? 0 : i <= 5 ? 10 : 900));
    await registry.upsert(C, 'internet', id(99), report(500), 0);
    const peers = await registry.selectPeers({ contentId: C, peerId: id(99), left: 500, max: 6 });
    expect(peers[0]).toEqual({ peerId: id(0), left: 0 });
    expect(peers.slice(1).every((p) => p.left === 10)).toBe(true);
    await registry.upsert(C, 'internet', id(20), report(0), 0);
    const again = await registry.selectPeers({ contentId: C, peerId: id(99), left: 500, max: 2 });
    expect(again.map((p) => p.left)).toEqual([0, 0]);
  });

  it('lists the partition\'s cache nodes first, flagged, whatever they hold; only in their partition; the flag follows the last upsert', async () => {
    const registry = await swarmOf(2000, (i) => (i % 2 === 0 ? 0 : 5000));
    await registry.upsert(C, 'internet', id(5000), report(4000), 0, true);
    await registry.upsert(C, 'internet', id(5001), report(4999), 0, true);
    await registry.upsert(C, 'group:x', id(5002), report(0), 0, true);
    for (let k = 0; k < 5; k++) {
      const peers = await registry.selectPeers({ contentId: C, peerId: id(1), left: 5000, max: 3 });
      expect(peers).toHaveLength(3);
      expect(peers.slice(0, 2).map((p) => p.peerId).sort()).toEqual([id(5000), id(5001)]);
      expect(peers.slice(0, 2).every((p) => p.cache === true)).toBe(true);
      expect(peers[2]).toEqual({ peerId: expect.any(String), left: 0 });
    }
    // max 1: one of the two, the one handed out less.
    const one = await registry.selectPeers({ contentId: C, peerId: id(1), left: 5000, max: 1 });
    expect(one).toHaveLength(1);
    expect(one[0]!.cache).toBe(true);
    // A cache node asking gets the other cache node first, never itself; an excluded one is skipped.
    const asked = await registry.selectPeers({ contentId: C, peerId: id(5000), left: 4000, max: 2 });
    expect(asked[0]).toEqual({ peerId: id(5001), left: 4999, cache: true });
    const excluded = await registry.selectPeers({ contentId: C, peerId: id(1), left: 5000, max: 2, exclude: new Set([id(5000)]) });
    expect(excluded[0]).toEqual({ peerId: id(5001), left: 4999, cache: true });
    expect(excluded[1]!.cache).toBeUndefined();
    // Upserted again without the flag: an ordinary member (a seeder now), listed as one.
    await registry.upsert(C, 'internet', id(5001), report(0), 0);
    const after = await registry.selectPeers({ contentId: C, peerId: id(1), left: 5000, max: 3 });
    expect(after[0]).toEqual({ peerId: id(5000), left: 4000, cache: true });
    expect(after.filter((p) => p.cache === true)).toHaveLength(1);
    expect(await registry.swarmSize(C)).toBe(2003);
    expect(await registry.remove(C, id(5000))).toBe(true);
    expect((await registry.selectPeers({ contentId: C, peerId: id(1), left: 5000, max: 20 })).some((p) => p.cache === true)).toBe(false);
    expect((await registry.contentReport(C))?.peersByScope).toEqual({ lan: 0, group: 1, internet: 2001 });
    // The group's cache node is listed in its group only.
    await registry.upsert(C, 'group:x', id(6000), report(10), 0);
    expect(await registry.selectPeers({ contentId: C, peerId: id(6000), left: 10, max: 5 })).toEqual([{ peerId: id(5002), left: 0, cache: true }]);
  });

  it('finds the few seeders of a big swarm, whatever the sample', async () => {
    const registry = await swarmOf(3000, (i) => (i % 600 === 1 ? 0 : 5000));
    const peers = await registry.selectPeers({ contentId: C, peerId: id(0), left: 5000, max: 20 });
    expect(peers.slice(0, 5).map((p) => p.left)).toEqual([0, 0, 0, 0, 0]);
    expect(peers).toHaveLength(20);
  });

  it('spreads newcomers: 1 seeder and 50 leechers, the seeder is not in every reply', async () => {
    const registry = make();
    await registry.upsert(C, 'internet', id(0), report(0), 0);
    const listed = new Map<string, number>();
    let withSeeder = 0;
    for (let i = 1; i <= 50; i++) {
      await registry.upsert(C, 'internet', id(i), report(1000), 0);
      const peers = await registry.selectPeers({ contentId: C, peerId: id(i), left: 1000, max: 10 });
      if (i > 10) expect(peers).toHaveLength(10);
      if (peers.some((p) => p.peerId === id(0))) withSeeder++;
      for (const p of peers) listed.set(p.peerId, (listed.get(p.peerId) ?? 0) + 1);
    }
    expect(withSeeder).toBeGreaterThan(5);
    expect(withSeeder).toBeLessThan(50);
    const counts = [...listed.entries()].filter(([p]) => p !== id(0)).map(([, n]) => n);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    expect(Math.max(...counts)).toBeLessThanOrEqual(3 * mean);
  });

  it('forgets hand-outs over time', async () => {
    let now = 0;
    const registry = make({ now: () => now, handOutWindowMs: 1000 });
    await registry.upsert(C, 'internet', id(0), report(0), 0);
    for (let i = 1; i <= 30; i++) await registry.upsert(C, 'internet', id(i), report(1000), 0);
    const seederListed = async () => (await registry.selectPeers({ contentId: C, peerId: id(1), left: 1000, max: 1 }))[0]?.peerId === id(0);
    let n = 0;
    while ((await seederListed()) && n < 100) n++;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(30);
    now += 60_000;
    expect(await seederListed()).toBe(true);
  });

  it('costs the same whatever the swarm size: candidates sampled are bounded by peers wanted', async () => {
    const max = 20;
    const bound = 2 * (SAMPLE_PER_WANTED * max + 1);
    for (const size of [50, 1000, 5000]) {
      const registry = await swarmOf(size, (i) => i % 3);
      const peers = await registry.selectPeers({ contentId: C, peerId: id(0), left: 5, max });
      expect(peers).toHaveLength(max);
      expect(registry.lastSelectionCost).toBeLessThanOrEqual(bound);
    }
  });

  it('removes, expires by lastSeen, counts swarms and members; empty swarms disappear', async () => {
    const registry = make();
    await registry.upsert(C, 'internet', id(1), report(0), 100);
    await registry.upsert(C, 'lan:private', id(2), report(5, { mode: 'lan' }), 200);
    await registry.upsert(D, 'internet', id(1), report(5), 300);
    expect(await registry.swarmSize(C)).toBe(2);
    expect(await registry.stats()).toEqual({ swarms: 2, peers: 3 });
    expect(await registry.remove(C, id(2))).toBe(true);
    expect(await registry.remove(C, id(2))).toBe(false);
    await registry.upsert(C, 'internet', id(1), report(0), 400); // a refresh moves lastSeen
    const expired = await registry.expire(350);
    expect(expired).toEqual([{ contentId: D, peerId: id(1) }]);
    expect(await registry.stats()).toEqual({ swarms: 1, peers: 1 });
    expect(await registry.swarmSize(D)).toBe(0);
    expect((await registry.contentReports()).map((r) => r.contentId)).toEqual([C]);
    expect(await registry.expire(1000)).toEqual([{ contentId: C, peerId: id(1) }]);
    expect(await registry.stats()).toEqual({ swarms: 0, peers: 0 });
    expect(await registry.contentReports()).toEqual([]);
  });

  it('sums the last reports per content over every scope, and counts members by scope kind', async () => {
    const registry = make();
    await registry.upsert(C, 'lan:private', id(1), report(0, { mode: 'lan' }), 0);
    await registry.upsert(C, 'lan:v4:203.0.113.1', id(2), report(10, { mode: 'lan' }), 0);
    await registry.upsert(C, 'group:x', id(3), report(20, { mode: 'group', group: 'x' }), 0);
    await registry.upsert(C, 'internet', id(4), report(30), 0);
    await registry.upsert(C, 'internet', id(4), report(40), 0); // a refresh replaces the report
    await registry.upsert(D, 'internet', id(1), report(5), 0);
    const reports = await registry.contentReports();
    expect(reports.find((r) => r.contentId === C)).toEqual({
      contentId: C,
      peers: 4,
      seeders: 1,
      peersByScope: { lan: 2, group: 1, internet: 1 },
      uploaded: 4,
      downloaded: 8,
      downloadedCdn: 12,
      left: 70,
      uploadedBps: 16,
      downloadBps: 20,
    });
    expect(reports).toHaveLength(2);
    await registry.remove(C, id(4));
    expect((await registry.contentReports()).find((r) => r.contentId === C)?.peersByScope.internet).toBe(0);
  });

  it('keeps byte counts near 2^53 exact in the sums', async () => {
    const registry = make();
    const big = 2 ** 52 + 1;
    await registry.upsert(C, 'internet', id(1), report(big, { uploaded: big }), 0);
    await registry.upsert(C, 'internet', id(2), report(3, { uploaded: 3 }), 0);
    const r = (await registry.contentReports())[0]!;
    expect(r.left).toBe(big + 3);
    expect(r.uploaded).toBe(big + 3);
    expect((await registry.selectPeers({ contentId: C, peerId: id(2), left: 3, max: 1 }))[0]).toEqual({ peerId: id(1), left: big });
  });
});
