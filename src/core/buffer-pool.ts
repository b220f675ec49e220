/**
 * Piece-sized ArrayBuffers used again instead of left to the collector.
 *
 * Why: a received piece's buffer crosses to the pass worker and comes back with the verdict
 * (storage/piece-pass-client.ts). Left as garbage, those megabytes pile up until the engine's
 * collector notices them (V8 collects after tens of MiB of external memory), and the tab's
 * memory swings by that much whatever the file size. Kept here, a download runs on a handful
 * of buffers.
 *
 * The contract: `give` only a buffer nothing else refers to (the one the worker handed back,
 * no view of it kept anywhere), since whoever `take`s it next writes into it. A detached
 * buffer, or one of a size not asked for lately, is ignored. Bounded: at most `maxBytes` are
 * kept in all.
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private keptBytes = 0;
  /** Buffers handed out again rather than allocated (for tests and diagnostics). */
  reused = 0;

  constructor(private readonly maxBytes = 32 * 1024 * 1024) {}

  /** A buffer of exactly `length` bytes: a kept one if there is one (its old bytes still in it), else a new one. */
  take(length: number): ArrayBuffer {
    const kept = this.free.get(length)?.pop();
    if (kept) {
      this.keptBytes -= length;
      this.reused++;
      return kept;
    }
    return new ArrayBuffer(length);
  }

  /** Hands back a buffer no one uses any more (see the contract above). */
  give(buffer: ArrayBuffer): void {
    const length = buffer.byteLength;
    // A detached buffer has length 0.
    if (length === 0 || this.keptBytes + length > this.maxBytes) return;
    let list = this.free.get(length);
    if (!list) {
      // One size in use at a time in practice (the piece size, and a shorter last piece):
      // a size not asked for lately makes room for the new one.
      if (this.free.size >= 2) this.drop(this.free.keys().next().value!);
      list = [];
      this.free.set(length, list);
    }
    list.push(buffer);
    this.keptBytes += length;
  }

  /** Bytes kept for reuse now. */
  get bytes(): number {
    return this.keptBytes;
  }

  private drop(length: number): void {
    const list = this.free.get(length);
    if (!list) return;
    this.keptBytes -= list.length * length;
    this.free.delete(length);
  }
}
