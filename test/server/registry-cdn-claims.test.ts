/**
 * What the swarm fetched from the CDN (docs/protocol.md, "CDN slots"): a downloader's announce
 * may ask to fetch pieces of its slot; the memory registry grants, and keeps in a bitmap per
 * partition, only the pieces that downloader's slot owns, or a few of its fallback group (by the
 * slot it was last given or by the one it has now), that no one was granted before, and gives
 * the bitmap with every slot. A liar can speak only for its own pieces and a few more; the
 * bitmap is bounded; small partitions keep none.
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/protocol/arrays-messages.js';
import { decodeFetched, FALLBACK_GROUP_LINKS, fallbackGroupOf, fallbackGroupsOf, hasBit, slotOwnerOf } from '../../src/protocol/cdn-slots.js';
import { MAX_FALLBACK_GRANTS } from '../../signaling/fetched-pieces.js';
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

/** Whether piece `i` is of the fallback group of slot `slot` of `of`, as the service counts groups. */
const inGroup = (i: number, slot: number, of: number) => {
  const groups = fallbackGroupsOf(of, FALLBACK_GROUP_LINKS);
  return fallbackGroupOf(i, groups) === slot % groups;
};

/** The first `count` pieces neither owned by slot `slot` of `of` nor of its fallback group (`grouped` false), or of its group only. */
function othersOf(slot: number, of: number, grouped: boolean, count: number): number[] {
  return piecesOf(slot, of, false, 4096).filter((i) => inGroup(i, slot, of) === grouped).slice(0, count);
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
    const others = othersOf(slot, of, false, 3);
    expect(mine).toHaveLength(3);
    expect(others).toHaveLength(3);
    expect(await r.claimCdnPieces(C, me, [...mine, ...others])).toEqual(mine);
    for (const peer of [me, id(0), id(39)]) {
      const bits = (await fetchedSeenBy(r, peer))!;
      expect(mine.every((i) => hasBit(bits, i))).toBe(true);
      // Pieces of other slots and groups: a liar's word, not kept.
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

  it(`keeps nothing for a partition of fewer than ${CLAIM_MIN_DOWNLOADERS} downloaders (it grants every piece: one fallback group), nor from seeders, cache nodes and strangers`, async () => {
    const small = await swarmOf(CLAIM_MIN_DOWNLOADERS - 1);
    const alone = (await small.cdnSlot(C, id(0)))!;
    const owned = piecesOf(alone.slot, alone.of, true, 5);
    const notOwned = piecesOf(alone.slot, alone.of, false, MAX_FALLBACK_GRANTS + 2);
    expect(await small.claimCdnPieces(C, id(0), [...owned, ...notOwned])).toEqual([...owned, ...notOwned]);
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

  it(`grants pieces of the fallback group, not of the slot, once each and at most ${MAX_FALLBACK_GRANTS} to a member; its own pieces do not count`, async () => {
    const of = 64;
    const r = await swarmOf(of);
    const me = id(5);
    const { slot } = (await r.cdnSlot(C, me))!;
    const group = othersOf(slot, of, true, MAX_FALLBACK_GRANTS + 4);
    const mine = piecesOf(slot, of, true, 2);
    expect(group).toHaveLength(MAX_FALLBACK_GRANTS + 4);
    // A group peer (same slot mod groups) asks for the first two first: they are its.
    const groups = fallbackGroupsOf(of, FALLBACK_GROUP_LINKS);
    // Slots are handed out in order of joining: id(k) has slot k.
    const peer = id([...Array(of).keys()].find((k) => k !== 5 && k % groups === slot % groups)!);
    const peerSlot = (await r.cdnSlot(C, peer))!.slot;
    expect(peerSlot % groups).toBe(slot % groups);
    expect(await r.claimCdnPieces(C, peer, group.slice(0, 2))).toEqual(group.slice(0, 2));
    // Ours: the rest of the group, up to the bound, and our own pieces besides.
    const granted = await r.claimCdnPieces(C, me, [...mine, ...group]);
    expect(granted).toEqual([...mine, ...group.slice(2, 2 + MAX_FALLBACK_GRANTS)]);
    // Past the bound, nothing more of the group; our own pieces still.
    const more = piecesOf(slot, of, true, 4).slice(2);
    expect(await r.claimCdnPieces(C, me, [...group.slice(2 + MAX_FALLBACK_GRANTS), ...more])).toEqual(more);
    const bits = (await fetchedSeenBy(r, id(0)))!;
    expect(group.filter((i) => hasBit(bits, i))).toEqual(group.slice(0, 2 + MAX_FALLBACK_GRANTS));
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
