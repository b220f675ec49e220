/**
 * CDN slots (docs/protocol.md, "CDN slots"): the memory registry numbers the downloaders of a
 * partition 0..of-1, keeps the numbers dense as members complete or leave, and gives none to
 * seeders and cache nodes. (The Redis registry gives none: tabs then share the CDN among the
 * peers they see.)
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/protocol/arrays-messages.js';
import { MemorySwarmRegistry } from '../../signaling/swarm-registry.js';

const C = 'c'.repeat(64);
const id = (n: number) => n.toString(16).padStart(32, '0');
const report = (left: number): Report => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0, mode: 'internet' });

describe('MemorySwarmRegistry.cdnSlot', () => {
  it('numbers the downloaders of a partition densely, whatever joins, completes or leaves', async () => {
    const r = new MemorySwarmRegistry();
    for (let n = 0; n < 10; n++) await r.upsert(C, 'internet', id(n), report(100), 0);
    await r.upsert(C, 'lan:1.2.3.4', id(50), report(100), 0);
    await r.upsert(C, 'internet', id(3), report(0), 0); // completes: a seeder now
    await r.remove(C, id(7));
    const slots = await Promise.all(Array.from({ length: 10 }, (_, n) => r.cdnSlot(C, id(n))));
    expect(slots[3]).toBeUndefined();
    expect(slots[7]).toBeUndefined();
    const held = slots.filter((s) => s !== undefined);
    expect(held).toHaveLength(8);
    for (const s of held) expect(s!.of).toBe(8);
    expect(held.map((s) => s!.slot).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Its own partition: the LAN peer is alone there.
    expect(await r.cdnSlot(C, id(50))).toEqual({ slot: 0, of: 1 });
  });

  it('gives no slot to cache nodes, to strangers and for unknown contents', async () => {
    const r = new MemorySwarmRegistry();
    await r.upsert(C, 'internet', id(1), report(100), 0, true);
    await r.upsert(C, 'internet', id(2), report(100), 0);
    expect(await r.cdnSlot(C, id(1))).toBeUndefined();
    expect(await r.cdnSlot(C, id(2))).toEqual({ slot: 0, of: 1 });
    expect(await r.cdnSlot(C, id(9))).toBeUndefined();
    expect(await r.cdnSlot('d'.repeat(64), id(2))).toBeUndefined();
  });
});
