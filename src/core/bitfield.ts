/** A fixed-size set of piece indexes, stored as bits (MSB first, as on the wire). */
export class Bitfield {
  readonly size: number;
  private readonly bits: Uint8Array;
  private count = 0;

  constructor(size: number, bits?: Uint8Array) {
    this.size = size;
    this.bits = new Uint8Array(Math.ceil(size / 8));
    if (bits) {
      this.bits.set(bits.subarray(0, this.bits.length));
      for (let i = 0; i < size; i++) if (this.has(i)) this.count++;
    }
  }

  has(i: number): boolean {
    return (this.bits[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  /** Sets bit i; returns true if it was not set before. */
  set(i: number): boolean {
    if (i < 0 || i >= this.size || this.has(i)) return false;
    const byte = i >> 3;
    this.bits[byte] = (this.bits[byte] ?? 0) | (0x80 >> (i & 7));
    this.count++;
    return true;
  }

  /** Clears bit i; returns true if it was set. */
  unset(i: number): boolean {
    if (i < 0 || i >= this.size || !this.has(i)) return false;
    this.bits[i >> 3] = this.bits[i >> 3]! & ~(0x80 >> (i & 7));
    this.count--;
    return true;
  }

  get cardinality(): number {
    return this.count;
  }

  get complete(): boolean {
    return this.count === this.size;
  }

  /** The byte holding bits 8k..8k+7 (to record a change without copying the whole field). */
  byteAt(k: number): number {
    return this.bits[k] ?? 0;
  }

  toBytes(): Uint8Array {
    return this.bits.slice();
  }
}
