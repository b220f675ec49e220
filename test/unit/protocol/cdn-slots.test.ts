/**
 * CDN slots' shared parts (protocol/cdn-slots.ts): the fetched-pieces bitmap's text round-trips
 * and the schemas bound it; owners are slots in range, spread over the slots.
 */
import { describe, expect, it } from 'vitest';
import { cdnSlotSchema } from '../../../src/protocol/arrays-messages.js';
import { decodeFetched, encodeFetched, hasBit, MAX_FETCHED_BASE64, slotOwnerOf } from '../../../src/protocol/cdn-slots.js';
import { LIMITS } from '../../../src/protocol/limits.js';

describe('the fetched-pieces bitmap', () => {
  it('round-trips through its base64 text, most significant bit first', () => {
    const bits = new Uint8Array(LIMITS.maxCdnClaimPieces / 8);
    for (const i of [0, 9, 4095, LIMITS.maxCdnClaimPieces - 1]) bits[i >> 3]! |= 0x80 >> (i & 7);
    const text = encodeFetched(bits);
    expect(text.length).toBeLessThanOrEqual(MAX_FETCHED_BASE64);
    const back = decodeFetched(text);
    expect(back).toEqual(bits);
    expect([0, 9, 4095, LIMITS.maxCdnClaimPieces - 1, 1, 8, 4094].map((i) => hasBit(back, i))).toEqual([true, true, true, true, false, false, false]);
    expect(hasBit(back, LIMITS.maxCdnClaimPieces + 5)).toBe(false);
    expect(cdnSlotSchema.safeParse({ slot: 0, of: 2, fetched: text }).success).toBe(true);
  });

  it('is refused too long, or not base64', () => {
    const tooLong = encodeFetched(new Uint8Array(LIMITS.maxCdnClaimPieces / 8 + 3));
    expect(cdnSlotSchema.safeParse({ slot: 0, of: 2, fetched: tooLong }).success).toBe(false);
    for (const fetched of ['abc', 'ab=c', '****', 'AAAA\n', 7]) expect(cdnSlotSchema.safeParse({ slot: 0, of: 2, fetched }).success).toBe(false);
  });
});

describe('owners', () => {
  it('are slots in range, and each slot gets a fair part of the pieces', () => {
    const of = 50;
    const owners = new Array<number>(of).fill(0);
    for (let i = 0; i < 50_000; i++) {
      const o = slotOwnerOf(i, of);
      expect(o >= 0 && o < of).toBe(true);
      owners[o]!++;
    }
    expect(Math.min(...owners)).toBeGreaterThan(700);
    expect(Math.max(...owners)).toBeLessThan(1300);
  });
});
