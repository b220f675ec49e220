/**
 * The CDN share (rendezvous hashing): every piece has exactly one owner among the peers, the
 * split is about even, and a peer leaving moves only the pieces it owned; in a big swarm the
 * service's slot decides, and keeps deciding to the swarm's end.
 */
import { describe, expect, it } from 'vitest';
import { cdnShareOf, cdnShareOfSlot } from '../../../src/core/cdn-share.js';
import { CdnShares } from '../../../src/core/download/cdn-shares.js';
import type { Swarm } from '../../../src/core/swarm.js';

const ids = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(32).slice(0, 32).replace(/^./, String.fromCharCode(97 + i)));
const PIECES = 1024;

function owners(peers: string[]): string[] {
  const shares = peers.map((p) => cdnShareOf(p, peers, PIECES));
  return Array.from({ length: PIECES }, (_, i) => {
    const own = peers.filter((_, k) => shares[k]!.ours(i));
    expect(own, `owners of piece ${i}`).toHaveLength(1);
    return own[0]!;
  });
}

describe('cdnShareOf', () => {
  it('gives each piece exactly one owner, about evenly', () => {
    const o = owners(ids);
    for (const id of ids) {
      const n = o.filter((x) => x === id).length;
      expect(n).toBeGreaterThan(PIECES / 8 / 1.4);
      expect(n).toBeLessThan((PIECES / 8) * 1.4);
    }
    expect(cdnShareOf(ids[0]!, ids, PIECES).size).toBe(8);
  });

  it('moves only the pieces of a peer that left', () => {
    const before = owners(ids);
    const gone = ids[3]!;
    const after = owners(ids.filter((id) => id !== gone));
    for (let i = 0; i < PIECES; i++) if (before[i] !== gone) expect(after[i]).toBe(before[i]);
  });

  it('alone (or listed only with itself), every piece is ours', () => {
    const alone = cdnShareOf(ids[0]!, [ids[0]!], PIECES);
    expect(alone.size).toBe(1);
    for (let i = 0; i < PIECES; i++) expect(alone.ours(i)).toBe(true);
  });
});

describe('cdnShareOfSlot (a swarm bigger than any tab sees)', () => {
  const PIECES_256 = 256;
  const ownersOf = (of: number) => {
    const shares = Array.from({ length: of }, (_, slot) => cdnShareOfSlot(slot, of, PIECES_256, 16));
    return Array.from({ length: PIECES_256 }, (_, i) => {
      const own = shares.flatMap((s, slot) => (s.ours(i) ? [slot] : []));
      expect(own, `owners of piece ${i}`).toHaveLength(1);
      return own[0]!;
    });
  };

  it('gives each piece exactly one owner swarm-wide, spread over the slots', () => {
    const o = ownersOf(1000);
    // 256 pieces over 1,000 slots: most owners own one piece, none owns many.
    const perSlot = new Map<number, number>();
    for (const slot of o) perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
    expect(perSlot.size).toBeGreaterThan(200);
    expect(Math.max(...perSlot.values())).toBeLessThanOrEqual(5);
    // 40 slots, 256 pieces: about 6.4 each.
    const few = ownersOf(40);
    for (let slot = 0; slot < 40; slot++) expect(few.filter((x) => x === slot).length).toBeLessThan(20);
  });

  it('moves only the pieces it must when the swarm grows by one (a consistent hash)', () => {
    const before = ownersOf(500);
    const after = ownersOf(501);
    const moved = before.filter((slot, i) => after[i] !== slot);
    // Each moved piece went to the new slot, and about 256/501 of them move.
    for (const [i, slot] of after.entries()) if (slot !== before[i]) expect(slot).toBe(500);
    expect(moved.length).toBeLessThan(8);
  });

  it('lets about maxPeers tabs swarm-wide fall back to the CDN for each piece, not every tab', () => {
    const of = 1000;
    const shares = Array.from({ length: of }, (_, slot) => cdnShareOfSlot(slot, of, PIECES_256, 16));
    for (let i = 0; i < PIECES_256; i += 17) {
      const n = shares.filter((s) => s.fallback!(i)).length;
      // 1,000 slots in 62 groups: 16 or 17 tabs hold each piece's fallback.
      expect(n).toBeGreaterThanOrEqual(16);
      expect(n).toBeLessThanOrEqual(17);
    }
  });
});

describe('CdnShares (a download\'s share, kept while its inputs hold)', () => {
  const swarmWith = (slot: { slot: number; of: number } | undefined, downloaders: string[] = []) =>
    ({ listed: { cdnSlot: slot }, listedDownloaders: () => downloaders, listedAsSeeder: () => false }) as unknown as Swarm;

  it('a small swarm splits among the peers it sees; a big one by slot, and stays so once its downloaders are few (its seeders hold the rest)', () => {
    const shares = new CdnShares();
    const me = ids[0]!;
    expect(shares.current(me, swarmWith({ slot: 1, of: 20 }, ids.slice(1, 4)), [], PIECES, 16).fallback).toBeUndefined();
    expect(shares.current(me, swarmWith({ slot: 1, of: 20 }, ids.slice(1, 4)), [], PIECES, 16).size).toBe(4);
    expect(shares.current(me, swarmWith({ slot: 7, of: 900 }), [], PIECES, 16).fallback).toBeDefined();
    const late = shares.current(me, swarmWith({ slot: 2, of: 5 }, ids.slice(1, 4)), [], PIECES, 16);
    expect(late.fallback).toBeDefined();
    expect(late.size).toBe(5);
    // No slot (a registry that gives none): the peers it sees decide again.
    expect(shares.current(me, swarmWith(undefined, ids.slice(1, 4)), [], PIECES, 16).fallback).toBeUndefined();
  });
});
