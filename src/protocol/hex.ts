/** Lower-case hex encoding, used for hashes, content IDs and peer IDs everywhere in the protocol. */

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** Decodes lower-case hex; returns undefined for odd length or a non-hex character. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** 32 bytes as 64 lower-case hex characters: a SHA-256 digest or a content ID. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** 16 bytes as 32 lower-case hex characters: a peer ID. */
export const PEER_ID_HEX = /^[0-9a-f]{32}$/;
