import { peerIdentityOf } from '../protocol/peer-identity.js';

/**
 * This page's identity for its lifetime: a secret it shows only to the Arrays service, and the
 * peer ID derived from it (src/protocol/peer-identity.ts).
 */
export function newPeerIdentity(): { secret: string; peerId: string } {
  return peerIdentityOf(crypto.getRandomValues(new Uint8Array(32)));
}
