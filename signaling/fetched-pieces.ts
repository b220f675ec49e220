/**
 * The pieces a partition's downloaders were granted to fetch from the CDN, as their CDN slot's
 * owner or one of its fallback group (docs/protocol.md, "CDN slots"): a bitmap of at most `LIMITS.maxCdnClaimPieces` bits (8 KiB),
 * grown in steps of 64 bytes to the highest piece set, and its base64 text, made once per change
 * when a reply asks for it.
 */
import { bitmapBytesFor, encodeFetched, FALLBACK_GROUP_LINKS, fallbackGroupOf, fallbackGroupsOf, slotOwnerOf } from '../src/protocol/cdn-slots.js';
import { LIMITS } from '../src/protocol/limits.js';

export class FetchedPieces {
  private bits = new Uint8Array(0);
  private text: string | undefined;

  /**
   * Marks piece `index`: true if it was not marked before. One past the bitmap's bound (or not an
   * index) is ignored (false).
   */
  set(index: number): boolean {
    if (!isClaimIndex(index)) return false;
    if (this.bits.length <= index >> 3) {
      const grown = new Uint8Array(Math.min(bitmapBytesFor(LIMITS.maxCdnClaimPieces), ((index >> 9) + 1) * 64));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 0x80 >> (index & 7);
    if ((this.bits[index >> 3]! & mask) !== 0) return false;
    this.bits[index >> 3] = this.bits[index >> 3]! | mask;
    this.text = undefined;
    return true;
  }

  /** The bitmap as the `peers` reply carries it (`cdnSlot.fetched`). */
  base64(): string {
    return (this.text ??= encodeFetched(this.bits));
  }
}

/** Whether `index` is a piece index a claim may name, and a bitmap hold. */
export const isClaimIndex = (index: number): boolean => Number.isInteger(index) && index >= 0 && index < LIMITS.maxCdnClaimPieces;

/**
 * Pieces of its fallback group, not of its slot, that one member may be granted. A tab whose
 * peers stalled asks for such pieces only while no one was granted them, which is rare (1,000
 * simulated peers: none granted; the replies showed them fetched already). A liar that asks
 * and never fetches makes the swarm wait `fetchedStallMs` for each, so it may not make it wait
 * for many. Past the bound, an honest tab's ask is refused, not marked: it fetches the piece
 * once `claimGrantWaitMs` passed, as before asks.
 */
export const MAX_FALLBACK_GRANTS = 16;

/** What a member may fetch: the pieces its slot owns, and those of its fallback group, up to a number (`groupLeft`). */
export interface ClaimRights {
  owns(index: number): boolean;
  inGroup(index: number): boolean;
  groupLeft: number;
}

/** Piece `index` is of the fallback group of slot `slot` of `of`, for tabs of FALLBACK_GROUP_LINKS links. */
function inFallbackGroup(index: number, slot: number, of: number): boolean {
  const groups = fallbackGroupsOf(of, FALLBACK_GROUP_LINKS);
  return fallbackGroupOf(index, groups) === slot % groups;
}

/**
 * The rights of a member whose slot is `slot` of `of` now, and `givenSlot` of `givenOf` in its
 * last reply (`givenOf` 0 or less: none yet), that was granted `groupGrants` pieces of its group.
 */
export function claimRights(m: { slot: number; givenSlot: number; givenOf: number; groupGrants: number }, of: number): ClaimRights {
  const given = m.givenOf > 0;
  return {
    owns: (i) => slotOwnerOf(i, of) === m.slot || (given && slotOwnerOf(i, m.givenOf) === m.givenSlot),
    inGroup: (i) => inFallbackGroup(i, m.slot, of) || (given && inFallbackGroup(i, m.givenSlot, m.givenOf)),
    groupLeft: MAX_FALLBACK_GRANTS - m.groupGrants,
  };
}

/**
 * What a claim (`cdnPieces`) is granted: of its first `maxCdnPiecesPerAnnounce` pieces, those the
 * claimant may fetch (`rights`) that `fetched` had not marked, now marked; and how many of them
 * were of its fallback group only. Without a bitmap (a partition too small for slots, where no
 * tab reads one) every piece it may fetch, and nothing is kept or counted.
 */
export function grantPieces(pieces: readonly number[], rights: ClaimRights, fetched: FetchedPieces | undefined): { granted: number[]; fromGroup: number } {
  const granted: number[] = [];
  let fromGroup = 0;
  for (const i of pieces.slice(0, LIMITS.maxCdnPiecesPerAnnounce)) {
    const own = rights.owns(i);
    if (!own && !(fromGroup < rights.groupLeft && rights.inGroup(i))) continue;
    if (fetched === undefined ? !isClaimIndex(i) : !fetched.set(i)) continue;
    granted.push(i);
    if (!own && fetched !== undefined) fromGroup++;
  }
  return { granted, fromGroup };
}
