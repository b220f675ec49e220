/**
 * CDN slots (docs/protocol.md, "CDN slots"): in a swarm too big for any tab to see, piece i's
 * CDN fetch has one owner swarm-wide, slot `slotOwnerOf(i, of)` among the `of` downloaders the
 * Arrays service counts. Tabs compute it to know their own pieces; the service computes it to
 * grant a tab's ask to fetch a piece only for the pieces that tab owns, or that are of its
 * fallback group.
 *
 * The swarm's fetched pieces travel as a bitmap (bit i of byte i >> 3, most significant bit
 * first, as the wire's bitfields), base64-encoded, at most `LIMITS.maxCdnClaimPieces` bits.
 */
import { LIMITS } from './limits.js';

/** A piece's weight for a key: MurmurHash3's finalizer over the key and the index. */
export function weight(key: number, index: number): number {
  let h = (key ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Slots shared by all: the pieces' keys are the same for every tab and for the service. */
const SLOT_KEY = 0x5eed5107;
const FALLBACK_KEY = 0x0fa11bac;

/** The bucket in [0, n) of `key`: each step jumps to b' = floor((b + 1) / r), r uniform in (0, 1] (Lamping & Veach). */
function jump(key: number, n: number): number {
  let b = 0;
  let j = 0;
  let k = key;
  while (j < n) {
    b = j;
    k = weight(k, b);
    j = Math.floor((b + 1) / ((k + 1) / 4294967296));
  }
  return b;
}

/** The slot, of `of`, whose tab fetches piece `index` from the CDN. */
export function slotOwnerOf(index: number, of: number): number {
  return jump(weight(SLOT_KEY, index), of);
}

/** The fallback group, of `groups`, whose tabs fetch piece `index` when peers fail them. */
export function fallbackGroupOf(index: number, groups: number): number {
  return jump(weight(FALLBACK_KEY, index), groups);
}

/**
 * How many fallback groups `of` slots make, for tabs of `maxPeers` links: about `maxPeers` tabs
 * swarm-wide in each. Slot s is in group `s mod groups`.
 */
export function fallbackGroupsOf(of: number, maxPeers: number): number {
  return Math.max(1, Math.floor(of / Math.max(1, maxPeers)));
}

/**
 * The links the service counts per tab when it judges which fallback group a tab's ask is of:
 * the tabs' default `maxPeers`. A tab with another `maxPeers` may be refused a piece of its own
 * group; it then fetches it unanswered, after `claimGrantWaitMs`.
 */
export const FALLBACK_GROUP_LINKS = 16;

/** Bytes of a fetched-pieces bitmap that covers piece indices below `pieces`. */
export const bitmapBytesFor = (pieces: number): number => Math.ceil(Math.min(pieces, LIMITS.maxCdnClaimPieces) / 8);

/** Longest base64 text of a fetched-pieces bitmap. */
export const MAX_FETCHED_BASE64 = 4 * Math.ceil(bitmapBytesFor(LIMITS.maxCdnClaimPieces) / 3);

export function encodeFetched(bits: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bits.length; i += 0x2000) s += String.fromCharCode(...bits.subarray(i, i + 0x2000));
  return btoa(s);
}

/** The bitmap of a base64 text the schema accepted (`fetchedSchema`). */
export function decodeFetched(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export const hasBit = (bits: Uint8Array, index: number): boolean => ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
