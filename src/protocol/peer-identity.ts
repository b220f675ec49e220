/**
 * Peer IDs are derived from a secret the peer keeps: `peerId = first 16 bytes of
 * SHA-256(secret)`, as 32 lower-case hex characters, where the secret is 32 random bytes the
 * tab draws once per page load. The peer presents the secret to the Arrays service only (its
 * `hello`, over the same channel as everything else); other peers see only the ID. So no one
 * can take a live or a departed peer's ID, and a tab whose socket drops reclaims its ID on the
 * next socket at once. docs/protocol.md §3 ("hello").
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex } from './hex.js';

/** A peer secret on the wire: 32 bytes as 64 lower-case hex characters. */
export const PEER_SECRET_HEX = /^[0-9a-f]{64}$/;

/** The peer ID a secret stands for; undefined for a string that is not a secret. */
export function peerIdOfSecret(secretHex: string): string | undefined {
  if (!PEER_SECRET_HEX.test(secretHex)) return undefined;
  return toHex(sha256(fromHex(secretHex)!).subarray(0, 16));
}

/** A fresh identity from 32 random bytes (the caller's CSPRNG). */
export function peerIdentityOf(random32: Uint8Array): { secret: string; peerId: string } {
  if (random32.byteLength !== 32) throw new Error('a peer secret is 32 bytes');
  const secret = toHex(random32);
  return { secret, peerId: peerIdOfSecret(secret)! };
}
