/**
 * Origin tags (docs/protocol.md, "Origin tags"): with every listed peer and every relayed
 * signal the Arrays service says which address the peer announced from, as an opaque tag,
 * so that a tab that banned a liar can refuse the liar's next peer ID before setting up a
 * WebRTC link to it, without learning anyone's address.
 *
 * A tag is the first 8 bytes of HMAC-SHA-256(key, contentId "\n" address bucket), in hex:
 * - keyed per content, so tags of two contents cannot be linked to each other;
 * - keyed by a secret of the server, so a tag cannot be turned back into an address by
 *   hashing candidate addresses;
 * - over the address bucket (lan-key.ts `addressBucketOf`: an IPv4 address, an IPv6 /64),
 *   the same unit the per-address limits and quarantine use.
 * Instances of a scaled-out server share the key through Redis (redis-scale-out.ts), so one
 * address has one tag whichever instance a peer is on.
 */
import { createHmac, randomBytes } from 'node:crypto';

export type OriginTagger = (contentId: string, addressBucket: string) => string;

/** Bytes of key material; a shorter given key is refused. */
export const ORIGIN_KEY_BYTES = 32;

export function originTagger(key: Uint8Array = randomBytes(ORIGIN_KEY_BYTES)): OriginTagger {
  if (key.byteLength < ORIGIN_KEY_BYTES) throw new Error(`an origin key has at least ${ORIGIN_KEY_BYTES} bytes`);
  const k = Buffer.from(key);
  return (contentId, addressBucket) => createHmac('sha256', k).update(`${contentId}\n${addressBucket}`).digest('hex').slice(0, 16);
}
