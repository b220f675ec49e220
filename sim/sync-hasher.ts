/**
 * Hasher port over node:crypto's synchronous hash: the simulator's and the Node tests' hashing
 * double. Its promises resolve in the microtask queue, so a simulated clock that settles
 * microtasks between events sees every hash done (WebCrypto's would finish on the thread pool,
 * at a time no simulation could reproduce). The browser's worker pool is tested in Chromium.
 */
import { createHash, hash } from 'node:crypto';
import type { Hasher } from '../src/core/ports.js';

/** The simulator's file and piece buffers (simulate.ts): what a hash of a true piece may hand back. */
export interface PieceRecycling {
  /** The file's true piece whose SHA-256 is `digest` (its bytes as a latin1 string), if any. */
  truePiece(digest: string): Uint8Array | undefined;
  /** Takes back a piece buffer nothing refers to any more (sim-buffers.ts; others are ignored). */
  recycle(data: Uint8Array): void;
}

/**
 * With `recycling`, a digest of bytes that are a true piece hands back the file's own copy of
 * those bytes in place of `data` (a Hasher may hand back other bytes than it was given: the
 * browser's pass worker returns them transferred), and `data`'s buffer goes back to the pool.
 */
export function createNodeHasher(recycling?: PieceRecycling): Hasher & { digests: number } {
  const hasher = {
    digests: 0,
    async digest(data: Uint8Array) {
      hasher.digests++;
      // One-shot (no Hash object to build and collect per piece).
      const digest = hash('sha256', data, 'buffer');
      const truth = recycling?.truePiece(digest.toString('latin1'));
      if (truth && truth !== data) {
        recycling!.recycle(data);
        return { digest: new Uint8Array(digest), data: truth };
      }
      return { digest: new Uint8Array(digest), data };
    },
    createStream() {
      const h = createHash('sha256');
      return {
        async update(data: Uint8Array) {
          h.update(data);
        },
        async digest() {
          return new Uint8Array(h.digest());
        },
        close() {},
      };
    },
  };
  return hasher;
}
