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
import { fallbackGroupOf, fallbackGroupsOf, hasBit, slotOwnerOf, weight } from '../protocol/cdn-slots.js';

/** FNV-1a of a string: a peer ID's 32-bit key. */
function keyOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface CdnShare {
  /** Peers sharing the CDN's pieces, this tab included. */
  readonly size: number;
  /** Whether piece `index` is this tab's to fetch. */
  ours(index: number): boolean;
  /**
   * Whether piece `index` is this tab's to fetch when peers fail it (they stalled, or the one
   * asked is slow in the endgame); absent: any piece is. In a big swarm most tabs see no holder
   * of most pieces for a while, and each such fallback would be a copy of the piece: there the
   * scheduler also fetches such pieces one at a time.
   */
  fallback?(index: number): boolean;
  /**
   * Whether the service says the swarm fetched piece `index` from the CDN already (a big
   * swarm's fetched bitmap); absent: not known. Such a piece is somewhere among the peers.
   */
  fetched?(index: number): boolean;
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

/**
 * A swarm bigger than any tab sees (`of` downloaders, more than `bigSwarmFactor` times
 * `maxPeers`): the pieces each tab's CDN share gets from the peers it sees would add up to a
 * copy of the file per neighbourhood (1,000 tabs in neighbourhoods of ~30 fetched it 30
 * times over in the simulator). There the Arrays service's slot decides instead: piece i's
 * owner is slot `jump(i, of)` swarm-wide, so the CDN sends each piece about once and the
 * swarm spreads it. The jump consistent hash (Lamping & Veach) moves only the pieces it must
 * when `of` changes (a tab joins, completes or leaves), as rendezvous hashing does above.
 * The pieces peers fail go to the CDN from a few tabs only (`fallback`).
 *
 * `fetched`: the pieces the service says the swarm has fetched from the CDN already (their
 * owners said so). Not ours any more: as a flash crowd grows, `of` grows and the jump moves
 * each piece to newer slots, and each newer owner fetched again a piece its older owner had
 * (1,000 simulated peers x 256 MiB: 1.6 of the CDN's 3.5 copies of the file).
 */
export function cdnShareOfSlot(slot: number, of: number, pieceCount: number, maxPeers: number, fetched?: Uint8Array): CdnShare {
  // The fallback's owners: the slots of one of `groups` groups (slot mod groups), about
  // `maxPeers` tabs swarm-wide for each piece, so that a piece whose owner left or lags is
  // still fetched, but by a few tabs, not by every tab that waits for it.
  const groups = fallbackGroupsOf(of, maxPeers);
  const mine = new Uint8Array(pieceCount);
  for (let i = 0; i < pieceCount; i++) {
    const inSwarm = fetched !== undefined && hasBit(fetched, i);
    mine[i] = (slotOwnerOf(i, of) === slot && !inSwarm ? 1 : 0) | (fallbackGroupOf(i, groups) === slot % groups ? 2 : 0) | (inSwarm ? 4 : 0);
  }
  return {
    size: of,
    ours: (index) => (mine[index]! & 1) === 1,
    fallback: (index) => (mine[index]! & 2) === 2,
    fetched: (index) => (mine[index]! & 4) === 4,
  };
}

/** A swarm is big (slots decide) past this many times `maxPeers` downloaders. */
export const BIG_SWARM_FACTOR = 2;
