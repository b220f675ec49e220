/**
 * Hasher port over node:crypto's synchronous hash: the simulator's and the Node tests' hashing
 * double. Its promises resolve in the microtask queue, so a simulated clock that settles
 * microtasks between events sees every hash done (WebCrypto's would finish on the thread pool,
 * at a time no simulation could reproduce). The browser's worker pool is tested in Chromium.
 */
import { createHash } from 'node:crypto';
import type { Hasher } from '../src/core/ports.js';

export function createNodeHasher(): Hasher & { digests: number } {
  const hasher = {
    digests: 0,
    async digest(data: Uint8Array) {
      hasher.digests++;
      return { digest: new Uint8Array(createHash('sha256').update(data).digest()), data };
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
