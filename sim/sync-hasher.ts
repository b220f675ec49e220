/** Hasher port over node:crypto, for Node tests of the core. */
import { createHash } from 'node:crypto';
import type { Hasher } from '../../src/core/ports.js';

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
