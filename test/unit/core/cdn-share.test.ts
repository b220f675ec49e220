/**
 * The CDN share (rendezvous hashing): every piece has exactly one owner among the peers, the
 * split is about even, and a peer leaving moves only the pieces it owned.
 */
import { describe, expect, it } from 'vitest';
import { cdnShareOf } from '../../../src/core/cdn-share.js';

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
