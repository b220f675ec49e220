/**
 * A simulated peer's storage (issue 18): the PieceStore port without the bytes. A thousand
 * peers holding a file each would not fit in memory, so the store compares what the core
 * stores with the true piece (a wrong one is counted, the run then fails: "every peer's bytes
 * right") and keeps only which pieces it has; reads hand back the true piece, which is what
 * was stored.
 */
import type { PieceStore } from '../src/core/ports.js';
import type { SimContent } from './sim-content.js';

export class SimStore implements PieceStore {
  private readonly held = new Set<number>();
  /** Pieces stored whose bytes were not the file's. */
  wrong = 0;

  constructor(private readonly content: SimContent) {}

  async list(): Promise<number[]> {
    return [...this.held];
  }

  async get(_storageId: string, index: number): Promise<Uint8Array | undefined> {
    return this.held.has(index) ? this.content.piece(index) : undefined;
  }

  async put(_storageId: string, index: number, data: Uint8Array): Promise<void> {
    const piece = this.content.piece(index);
    // The hasher hands back the file's own bytes for a true piece (sync-hasher.ts): nothing to compare.
    const same = data.buffer === piece.buffer && data.byteOffset === piece.byteOffset && data.byteLength === piece.byteLength;
    if (!same && !Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(piece)) this.wrong++;
    this.held.add(index);
  }

  async remove(_storageId: string, index: number): Promise<void> {
    this.held.delete(index);
  }

  get count(): number {
    return this.held.size;
  }
}
