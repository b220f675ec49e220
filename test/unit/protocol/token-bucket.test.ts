/** src/protocol/token-bucket.ts: a burst, a refill at the rate, never above the burst, time that goes back ignored. */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/protocol/token-bucket.js';

describe('TokenBucket', () => {
  it('gives its burst at once, then one token per 1/rate seconds, never more than the burst', () => {
    const b = new TokenBucket(2, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true); // 2/s: one token per 500 ms
    expect(b.take(500)).toBe(false);
    // A long pause refills to the burst, no further.
    expect([b.take(60_000), b.take(60_000), b.take(60_000), b.take(60_000)]).toEqual([true, true, true, false]);
  });

  it('hasToken looks without taking; a clock that goes back adds nothing', () => {
    const b = new TokenBucket(1, 1, 1000);
    expect(b.hasToken(1000)).toBe(true);
    expect(b.hasToken(1000)).toBe(true);
    expect(b.take(1000)).toBe(true);
    expect(b.hasToken(0)).toBe(false);
    expect(b.take(500)).toBe(false);
    expect(b.take(1500)).toBe(true);
  });
});
