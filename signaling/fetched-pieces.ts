/**
 * The pieces a partition's downloaders said they asked the CDN for, as their CDN slot's owner
 * (docs/protocol.md, "CDN slots"): a bitmap of at most `LIMITS.maxCdnClaimPieces` bits (8 KiB),
 * grown in steps of 64 bytes to the highest piece set, and its base64 text, made once per change
 * when a reply asks for it.
 */
import { bitmapBytesFor, encodeFetched } from '../src/protocol/cdn-slots.js';
import { LIMITS } from '../src/protocol/limits.js';

export class FetchedPieces {
  private bits = new Uint8Array(0);
  private text: string | undefined;

  /**
   * Marks piece `index`: true if it was not marked before. One past the bitmap's bound (or not an
   * index) is ignored (false).
   */
  set(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= LIMITS.maxCdnClaimPieces) return false;
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

/**
 * What a claim (`cdnPieces`) is granted: of its first `maxCdnPiecesPerAnnounce` pieces, those the
 * claimant's slot `owns` that `fetched` had not marked, now marked. Without a bitmap (a partition
 * too small for slots, where no tab reads one) every piece index it owns, and nothing is kept.
 */
export function grantPieces(pieces: readonly number[], owns: (index: number) => boolean, fetched: FetchedPieces | undefined): number[] {
  const valid = (i: number) => Number.isInteger(i) && i >= 0 && i < LIMITS.maxCdnClaimPieces;
  return pieces.slice(0, LIMITS.maxCdnPiecesPerAnnounce).filter((i) => valid(i) && owns(i) && (fetched === undefined || fetched.set(i)));
}
