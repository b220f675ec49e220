/**
 * Piece buffers used again across the whole simulation (core/buffer-pool.ts, shared by every
 * simulated tab): a peer's piece is assembled in one of them (DownloadOptions.buffers), a CDN
 * response is one, and the hasher (sync-hasher.ts) hands each back once the piece's SHA-256
 * is known. Without them every piece that crossed a link was a new ArrayBuffer: gigabytes over
 * a run, outside the JS heap, and each few tens of MiB of them made the engine run a full
 * collection of a heap that grows with the swarm (so the run cost grew with the square of it).
 *
 * Only buffers this pool handed out are taken back, each once until handed out again.
 */
import { BufferPool } from '../src/core/buffer-pool.js';

export class SimBuffers extends BufferPool {
  /** Buffers handed out and not yet given back. */
  private readonly out = new WeakSet<ArrayBuffer>();

  override take(length: number): ArrayBuffer {
    const buffer = super.take(length);
    this.out.add(buffer);
    return buffer;
  }

  /** `view`'s buffer back, if it is one of ours (handed out, not back yet) and `view` covers all of it. */
  recycle(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || view.byteOffset !== 0 || view.byteLength !== buffer.byteLength || !this.out.has(buffer)) return;
    this.out.delete(buffer);
    this.give(buffer);
  }
}
