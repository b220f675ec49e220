/**
 * signaling/offer-tracker.ts: an answer is relayed only to a peer that offered to the answerer
 * for that content within the TTL; candidates only between two peers with an offer either way;
 * the table is bounded (the oldest entry goes) and swept.
 */
import { describe, expect, it } from 'vitest';
import { OfferTracker } from '../../signaling/offer-tracker.js';

describe('OfferTracker', () => {
  it('lets B answer A only after A offered to B, for that content, within the TTL', () => {
    const t = new OfferTracker(1000);
    expect(t.mayAnswer('B', 'A', 'c1', 0)).toBe(false);
    t.offered('A', 'B', 'c1', 0);
    expect(t.mayAnswer('B', 'A', 'c1', 1000)).toBe(true);
    expect(t.mayAnswer('B', 'A', 'c1', 1001)).toBe(false);
    expect(t.mayAnswer('A', 'B', 'c1', 10)).toBe(false); // the other way round: no offer went B → A
    expect(t.mayAnswer('B', 'A', 'c2', 10)).toBe(false); // another content
    expect(t.mayAnswer('C', 'A', 'c1', 10)).toBe(false); // another answerer
  });

  it('pairs two peers for candidates if an offer went either way; a new offer refreshes the TTL', () => {
    const t = new OfferTracker(1000);
    t.offered('A', 'B', 'c', 0);
    expect(t.paired('A', 'B', 'c', 500)).toBe(true);
    expect(t.paired('B', 'A', 'c', 500)).toBe(true);
    expect(t.paired('A', 'C', 'c', 500)).toBe(false);
    t.offered('A', 'B', 'c', 900);
    expect(t.paired('A', 'B', 'c', 1800)).toBe(true);
    expect(t.size).toBe(1);
  });

  it('keeps at most maxEntries (the oldest goes, a refreshed one is new again), and sweeps the expired', () => {
    const t = new OfferTracker(1000, 3);
    t.offered('A', 'B', 'c', 0);
    t.offered('A', 'C', 'c', 0);
    t.offered('A', 'D', 'c', 0);
    t.offered('A', 'B', 'c', 1); // refreshed: now the newest
    t.offered('A', 'E', 'c', 2); // past 3: the oldest (A → C) goes
    expect(t.size).toBe(3);
    expect(t.mayAnswer('C', 'A', 'c', 2)).toBe(false);
    expect(t.mayAnswer('B', 'A', 'c', 2)).toBe(true);
    expect(t.mayAnswer('D', 'A', 'c', 2)).toBe(true);
    expect(t.sweep(1001)).toBe(1); // A → D expired at 1000
    expect(t.sweep(5000)).toBe(2);
    expect(t.size).toBe(0);
  });
});
