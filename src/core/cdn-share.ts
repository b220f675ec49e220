/**
 * Which pieces are this tab's to fetch from the CDN, when tabs download together: each piece
 * has one owner among the downloading peers, the one whose ID ranks highest for that piece
 * (rendezvous hashing). Every tab that sees the same set of peers computes the same owners,
 * so each piece crosses the CDN about once. When a peer joins or leaves, only the pieces it
 * owned (or now owns) change hands; with "piece i is ours when i mod N is our rank" every
 * change of N moved most pieces to a new owner, who fetched again what its old owner already
 * had (eight tabs on a loaded machine, whose view of N went 8, 7, 5, 7, 6, fetched the file
 * four times).
 */

/** FNV-1a of a string: a peer ID's 32-bit key. */
function keyOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A piece's weight for a peer: MurmurHash3's finalizer over the peer's key and the index. */
function weight(key: number, index: number): number {
  let h = (key ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface CdnShare {
  /** Peers sharing the CDN's pieces, this tab included. */
  readonly size: number;
  /** Whether piece `index` is this tab's to fetch. */
  ours(index: number): boolean;
}

/** A tab alone: every piece is its own. */
export const ALONE: CdnShare = Object.freeze({ size: 1, ours: () => true });

/**
 * The share of `self` among `ids` (which may or may not include it) for `pieceCount` pieces.
 * Computed once per set: O(pieces × peers) integer hashes.
 */
export function cdnShareOf(self: string, ids: Iterable<string>, pieceCount: number): CdnShare {
  const others = [...new Set(ids)].filter((id) => id !== self).map(keyOf);
  if (others.length === 0) return ALONE;
  const me = keyOf(self);
  const mine = new Uint8Array(pieceCount);
  for (let i = 0; i < pieceCount; i++) {
    const w = weight(me, i);
    // Equal weights go to the higher key, so that every piece has exactly one owner.
    mine[i] = others.every((k) => {
      const o = weight(k, i);
      return o < w || (o === w && k < me);
    })
      ? 1
      : 0;
  }
  return { size: others.length + 1, ours: (index) => mine[index] === 1 };
}
