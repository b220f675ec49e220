/** PieceStore port in memory, for Node tests of the core. */
import type { PieceStore } from '../../src/core/ports.js';

export class MemoryStore implements PieceStore {
  readonly pieces = new Map<string, Uint8Array>();

  async list(contentId: string): Promise<number[]> {
    const out: number[] = [];
    for (const key of this.pieces.keys()) {
      const at = key.lastIndexOf('#');
      if (key.slice(0, at) === contentId) out.push(Number(key.slice(at + 1)));
    }
    return out;
  }

  async get(contentId: string, index: number): Promise<Uint8Array | undefined> {
    return this.pieces.get(`${contentId}#${index}`);
  }

  async put(contentId: string, index: number, data: Uint8Array): Promise<void> {
    this.pieces.set(`${contentId}#${index}`, data.slice());
  }
}
