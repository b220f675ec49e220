/**
 * What the swarm fetched from the CDN (docs/protocol.md, "CDN slots"): a downloader's announce
 * may ask to fetch pieces of its slot; the memory registry grants, and keeps in a bitmap per
 * partition, only the pieces that downloader's slot owns (by the slot it was last given or by
 * the one it has now) that no one was granted before, and gives the bitmap with every slot. A
 * liar can speak only for its own pieces; the bitmap is bounded; small partitions keep none.
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/protocol/arrays-messages.js';
import { decodeFetched, hasBit, slotOwnerOf } from '../../src/protocol/cdn-slots.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { CLAIM_MIN_DOWNLOADERS, MemorySwarmRegistry } from '../../signaling/swarm-registry.js';

const C = 'c'.repeat(64);
const id = (n: number) => n.toString(16).padStart(32, '0');
const report = (left: number): Report => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0, mode: 'internet' });

async function swarmOf(n: number): Promise<MemorySwarmRegistry> {
  const r = new MemorySwarmRegistry();
  for (let k = 0; k < n; k++) await r.upsert(C, 'internet', id(k), report(100), 0);
  return r;
}

/** The first `count` pieces (of the first 4,096) whose owner, among `of` slots, is `slot` or is not. */
function piecesOf(slot: number, of: number, owned: boolean, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4096 && out.length < count; i++) if ((slotOwnerOf(i, of) === slot) === owned) out.push(i);
  return out;
}

async function fetchedSeenBy(r: MemorySwarmRegistry, peer: string): Promise<Uint8Array | undefined> {
  const slot = await r.cdnSlot(C, peer);
  return slot?.fetched === undefined ? undefined : decodeFetched(slot.fetched);
}

describe('MemorySwarmRegistry: pieces the swarm fetched from the CDN', () => {
  it("keeps a downloader's word for the pieces its slot owns, and gives them to every downloader of the partition", async () => {
    const of = 40;
    const r = await swarmOf(of);
    const me = id(7);
    const { slot } = (await r.cdnSlot(C, me))!;
    const mine = piecesOf(slot, of, true, 3);
    const others = piecesOf(slot, of, false, 3);
    expect(mine).toHaveLength(3);
    expect(await r.claimCdnPieces(C, me, [...mine, ...others])).toEqual(mine);
    for (const peer of [me, id(0), id(39)]) {
      const bits = (await fetchedSeenBy(r, peer))!;
      expect(mine.every((i) => hasBit(bits, i))).toBe(true);
      // Pieces of other slots: a liar's word, not kept.
      expect(others.some((i) => hasBit(bits, i))).toBe(false);
    }
  });

  it('grants a claim made under the slot last given, after the swarm grew and the piece moved on; each piece once', async () => {
    const r = await swarmOf(40);
    const me = id(3);
    const given = (await r.cdnSlot(C, me))!;
    // Pieces that move to a newcomer's slot once the swarm has 60 downloaders.
    const moved = piecesOf(given.slot, 40, true, 200)
      .filter((i) => slotOwnerOf(i, 60) !== given.slot)
      .slice(0, LIMITS.maxCdnPiecesPerAnnounce);
    expect(moved.length).toBeGreaterThan(1);
    for (let k = 40; k < 60; k++) await r.upsert(C, 'internet', id(k), report(100), 0);
    // Their new owners, by the slots they are given now (not ours: it has not heard since).
    const owners = new Map<number, string>();
    for (let k = 0; k < 60; k++) {
      if (id(k) === me) continue;
      const { slot, of } = (await r.cdnSlot(C, id(k)))!;
      for (const i of moved) if (slotOwnerOf(i, of) === slot) owners.set(i, id(k));
    }
    expect(owners.size).toBe(moved.length);
    // The new owner of the first asks first; the old owner asks for all, still on its old slot.
    const [first, ...rest] = moved;
    expect(await r.claimCdnPieces(C, owners.get(first!)!, [first!])).toEqual([first]);
    expect(await r.claimCdnPieces(C, me, moved)).toEqual(rest);
    const bits = (await fetchedSeenBy(r, id(59)))!;
    expect(moved.every((i) => hasBit(bits, i))).toBe(true);
    // Now nobody is granted them again: not the new owners, not the old one.
    for (const i of moved) expect(await r.claimCdnPieces(C, owners.get(i)!, [i])).toEqual([]);
    expect(await r.claimCdnPieces(C, me, moved)).toEqual([]);
  });

  it(`keeps nothing for a partition of fewer than ${CLAIM_MIN_DOWNLOADERS} downloaders (it grants every piece of the slot), nor from seeders, cache nodes and strangers`, async () => {
    const small = await swarmOf(CLAIM_MIN_DOWNLOADERS - 1);
    const alone = (await small.cdnSlot(C, id(0)))!;
    const owned = piecesOf(alone.slot, alone.of, true, 5);
    const notOwned = piecesOf(alone.slot, alone.of, false, 2);
    expect(await small.claimCdnPieces(C, id(0), [...owned, ...notOwned])).toEqual(owned);
    expect(await small.claimCdnPieces(C, id(0), owned)).toEqual(owned);
    expect(await fetchedSeenBy(small, id(0))).toBeUndefined();

    const r = await swarmOf(40);
    await r.upsert(C, 'internet', id(100), report(0), 0); // a seeder
    await r.upsert(C, 'internet', id(101), report(100), 0, true); // a cache node
    const all = Array.from({ length: 64 }, (_, i) => i);
    expect(await r.claimCdnPieces(C, id(100), all)).toEqual([]);
    expect(await r.claimCdnPieces(C, id(101), all)).toEqual([]);
    expect(await r.claimCdnPieces(C, id(999), all)).toEqual([]);
    expect(await r.claimCdnPieces('d'.repeat(64), id(0), [0, 1, 2])).toEqual([]);
    expect(await fetchedSeenBy(r, id(0))).toBeUndefined();
  });

  it('stays bounded: at most maxCdnClaimPieces pieces, 8 KiB of bitmap, however the claims are made', async () => {
    const of = CLAIM_MIN_DOWNLOADERS;
    const r = await swarmOf(of);
    // Every downloader claims, through many announces, every piece index it can send and more.
    let calls = 0;
    for (let k = 0; k < of; k++) {
      const { slot } = (await r.cdnSlot(C, id(k)))!;
      const owned: number[] = [];
      for (let i = LIMITS.maxCdnClaimPieces - 2000; i < LIMITS.maxCdnClaimPieces + 100; i++) if (slotOwnerOf(i, of) === slot) owned.push(i);
      for (let at = 0; at < owned.length; at += 500, calls++) await r.claimCdnPieces(C, id(k), owned.slice(at, at + 500));
      expect(await r.claimCdnPieces(C, id(k), [-1, 1.5, Number.NaN, 2 ** 40])).toEqual([]);
    }
    const slot = (await r.cdnSlot(C, id(0)))!;
    const bits = decodeFetched(slot.fetched!);
    expect(bits.length).toBeGreaterThan(0);
    expect(bits.length).toBeLessThanOrEqual(LIMITS.maxCdnClaimPieces / 8);
    expect(slot.fetched!.length).toBeLessThanOrEqual(4 * Math.ceil(LIMITS.maxCdnClaimPieces / 8 / 3));
    // Only the first maxCdnPiecesPerAnnounce of each call count.
    let set = 0;
    for (let i = 0; i < LIMITS.maxCdnClaimPieces; i++) if (hasBit(bits, i)) set++;
    expect(set).toBeGreaterThan(0);
    expect(set).toBeLessThanOrEqual(calls * LIMITS.maxCdnPiecesPerAnnounce);
  });

  it('forgets the bitmap with the partition', async () => {
    const r = await swarmOf(20);
    const { slot, of } = (await r.cdnSlot(C, id(0)))!;
    await r.claimCdnPieces(C, id(0), piecesOf(slot, of, true, 2));
    expect(await fetchedSeenBy(r, id(1))).toBeDefined();
    for (let k = 0; k < 20; k++) await r.remove(C, id(k));
    await r.upsert(C, 'internet', id(0), report(100), 0);
    expect(await fetchedSeenBy(r, id(0))).toBeUndefined();
  });
});
