/**
 * The Hasher port (core/ports.ts) in Node. A piece's digest goes through WebCrypto, which
 * hashes on libuv's thread pool rather than the event loop (a cache node serving many peers
 * keeps answering while it hashes); the whole-file stream uses node:crypto's incremental hash.
 * Nothing is transferred: `data` comes back as it went in.
 */
import { createHash, webcrypto } from 'node:crypto';
import type { Hasher } from '../core/ports.js';

export function createNodeHasher(): Hasher {
  return {
    async digest(data) {
      return { digest: new Uint8Array(await webcrypto.subtle.digest('SHA-256', data)), data };
    },
    createStream() {
      let hash: ReturnType<typeof createHash> | undefined = createHash('sha256');
      return {
        async update(data) {
          if (!hash) throw new Error('the hash was closed');
          hash.update(data);
        },
        async digest() {
          if (!hash) throw new Error('the hash was closed');
          const out = new Uint8Array(hash.digest());
          hash = undefined;
          return out;
        },
        close() {
          hash = undefined;
        },
      };
    },
  };
}
