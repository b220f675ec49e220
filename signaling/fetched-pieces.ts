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

  /** Marks piece `index`; one past the bitmap's bound (or not an index) is ignored. */
  set(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= LIMITS.maxCdnClaimPieces) return;
    if (this.bits.length <= index >> 3) {
      const grown = new Uint8Array(Math.min(bitmapBytesFor(LIMITS.maxCdnClaimPieces), ((index >> 9) + 1) * 64));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 0x80 >> (index & 7);
    if ((this.bits[index >> 3]! & mask) !== 0) return;
    this.bits[index >> 3] = this.bits[index >> 3]! | mask;
    this.text = undefined;
  }

  /** The bitmap as the `peers` reply carries it (`cdnSlot.fetched`). */
  base64(): string {
    return (this.text ??= encodeFetched(this.bits));
  }
}
