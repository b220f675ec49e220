/**
 * The registry's peer selection: within the asker's scope partition, never the asker or a
 * banned peer, seeders first, hand-outs spread, and a cost bounded by the number of peers
 * wanted (counted in candidate evaluations, not timed).
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/protocol/arrays-messages.js';
import { MemorySwarmRegistry, SAMPLE_PER_WANTED } from '../../signaling/swarm-registry.js';

const C = 'c'.repeat(64);
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

/** A seeded PRNG (mulberry32), so the sampled runs are reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function swarmOf(size: number, leftOf: (i: number) => number, scope = 'internet') {
  const registry = new MemorySwarmRegistry({ random: seeded(size), now: () => 0, handOutWindowMs: 1e9 });
  for (let i = 0; i < size; i++) await registry.upsert(C, scope, id(i), report(leftOf(i)), 0);
  return registry;
}

describe('MemorySwarmRegistry.selectPeers', () => {
  it('never lists the asker or an excluded peer, and fills the reply despite exclusions', async () => {
    const registry = await swarmOf(30, () => 0);
    const exclude = new Set([id(1), id(2), id(3), id(4), id(5)]);
    for (let k = 0; k < 50; k++) {
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
    expect(await registry.selectPeers({ contentId: C, peerId: id(999), left: 1, max: 20 })).toEqual([]);
  });

  it('puts seeders first, then peers holding more than the asker', async () => {
    // 0: seeder; 1-5 hold more than the asker (left 10 < 500); 6-20 hold less (left 900).
    const registry = await swarmOf(21, (i) => (i === 0 ? 0 : i <= 5 ? 10 : 900));
    await registry.upsert(C, 'internet', id(99), report(500), 0);
    const peers = await registry.selectPeers({ contentId: C, peerId: id(99), left: 500, max: 6 });
    expect(peers[0]).toEqual({ peerId: id(0), left: 0 });
    expect(peers.slice(1).every((p) => p.left === 10)).toBe(true);
  });

  it('finds the few seeders of a big swarm, whatever the sample', async () => {
    const registry = await swarmOf(10_000, (i) => (i % 2000 === 1 ? 0 : 5000));
    const peers = await registry.selectPeers({ contentId: C, peerId: id(0), left: 5000, max: 20 });
    expect(peers.slice(0, 5).map((p) => p.left)).toEqual([0, 0, 0, 0, 0]);
    expect(peers).toHaveLength(20);
  });

  it('spreads newcomers: 1 seeder and 50 leechers, the seeder is not in every reply', async () => {
    const registry = new MemorySwarmRegistry({ random: seeded(7), now: () => 0, handOutWindowMs: 1e9 });
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
    // Hand-outs spread over the swarm: no leecher is listed much more than the average.
    const counts = [...listed.entries()].filter(([p]) => p !== id(0)).map(([, n]) => n);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    expect(Math.max(...counts)).toBeLessThanOrEqual(3 * mean);
    console.log(`spread: seeder in ${withSeeder}/50 replies; leechers listed ${Math.min(...counts)}-${Math.max(...counts)} times (mean ${mean.toFixed(1)})`);
  });

  it('forgets hand-outs over time: the counters halve every window', async () => {
    let now = 0;
    const registry = new MemorySwarmRegistry({ random: seeded(3), now: () => now, handOutWindowMs: 1000 });
    await registry.upsert(C, 'internet', id(0), report(0), 0);
    for (let i = 1; i <= 30; i++) await registry.upsert(C, 'internet', id(i), report(1000), 0);
    const seederListed = async () =>
      (await registry.selectPeers({ contentId: C, peerId: id(1), left: 1000, max: 1 }))[0]?.peerId === id(0);
    let n = 0;
    while (await seederListed()) n++;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(30);
    now += 60_000;
    expect(await seederListed()).toBe(true);
  });

  it('costs the same whatever the swarm size: candidates evaluated are bounded by peers wanted', async () => {
    const max = 20;
    // At most n seeders and n others sampled, n = SAMPLE_PER_WANTED * max + 1.
    const bound = 2 * (SAMPLE_PER_WANTED * max + 1);
    const costs: number[] = [];
    for (const size of [50, 1000, 20_000]) {
      const registry = await swarmOf(size, (i) => i % 3);
      const peers = await registry.selectPeers({ contentId: C, peerId: id(0), left: 5, max });
      expect(peers).toHaveLength(max);
      costs.push(registry.lastSelectionCost);
      expect(registry.lastSelectionCost).toBeLessThanOrEqual(bound);
    }
    // A big swarm costs no more than a mid-size one.
    expect(costs[2]).toBeLessThanOrEqual(costs[1]!);
    console.log(`selection cost (candidates evaluated) at 50 / 1,000 / 20,000 members: ${costs.join(' / ')} (bound ${bound})`);
  });
});

describe('MemorySwarmRegistry.contentReports', () => {
  it('sums the last reports per content over every scope, and counts members by scope kind', async () => {
    const registry = new MemorySwarmRegistry();
    await registry.upsert(C, 'lan:private', id(1), report(0, { mode: 'lan' }), 0);
    await registry.upsert(C, 'lan:v4:203.0.113.1', id(2), report(10, { mode: 'lan' }), 0);
    await registry.upsert(C, 'group:x', id(3), report(20, { mode: 'group', group: 'x' }), 0);
    await registry.upsert(C, 'internet', id(4), report(30), 0);
    await registry.upsert(C, 'internet', id(4), report(40), 0); // a refresh replaces the report
    await registry.upsert('d'.repeat(64), 'internet', id(1), report(5), 0);
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
});
