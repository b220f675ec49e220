import { toHex } from '../protocol/hex.js';

/** A fresh random peer ID (16 bytes, hex) for this page's lifetime. */
export function newPeerId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}
