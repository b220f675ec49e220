/** FirstCopies (core/first-copies.ts): which of our pieces are the swarm's only copy, and whom to steer to them. */
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../../src/core/bitfield.js';
import { FirstCopies } from '../../../src/core/first-copies.js';

describe('FirstCopies', () => {
  it('a piece from the CDN, held here and by no peer, until it goes out whole or a peer holds it', () => {
    const have = new Bitfield(8);
    const held = new Set<number>([5]);
    const copies = new FirstCopies(have, (i) => held.has(i));
    copies.fetched(1, 0);
    copies.fetched(2, 0);
    copies.fetched(5, 0);
    // Not stored yet: nothing to send.
    expect(copies.has(1)).toBe(false);
    for (const i of [1, 2, 5]) have.set(i);
    expect([1, 2, 5].map((i) => copies.has(i))).toEqual([true, true, false]);
    copies.sent(1);
    held.add(2);
    expect([1, 2].map((i) => copies.has(i))).toEqual([false, false]);
    // Forgotten for good: a peer that holds it now is no reason to count it again later.
    held.delete(2);
    expect(copies.has(2)).toBe(false);
    // Pieces that never came from the CDN are never first copies.
    have.set(3);
    expect(copies.has(3)).toBe(false);
  });

  it('steers a neighbour that lacks a first copy it has not asked for, away from a piece another peer holds', () => {
    const have = new Bitfield(8);
    for (let i = 0; i < 8; i++) have.set(i);
    const copies = new FirstCopies(have, (i) => i !== 2 && i !== 4);
    const none = () => false;
    expect(copies.steers(0, none, none)).toBe(false); // no first copies at all
    copies.fetched(2, 0);
    expect(copies.steers(0, none, none)).toBe(true);
    expect(copies.steers(4, none, none)).toBe(false); // only we hold 4: never refused
    expect(copies.steers(2, none, none)).toBe(false); // the first copy itself
    expect(copies.steers(0, (i) => i === 2, none)).toBe(false); // it holds the first copy
    expect(copies.steers(0, none, (i) => i === 2)).toBe(false); // it asked for it already
    copies.sent(2);
    expect(copies.steers(0, none, none)).toBe(false);
  });

  it('keeps its tab from asking for more of its slot while a first copy is coming in or waits to go out, for at most 10 s', () => {
    const have = new Bitfield(8);
    const held = new Set<number>();
    const inFlight = new Set<number>();
    const copies = new FirstCopies(have, (i) => held.has(i), () => 10_000);
    const busy = (now: number) => copies.busy(now, (i) => inFlight.has(i));
    expect(busy(0)).toBe(false);
    copies.fetched(1, 0);
    inFlight.add(1);
    expect(busy(100)).toBe(true);
    inFlight.delete(1);
    have.set(1);
    expect(busy(5_000)).toBe(true); // stored, not yet sent
    expect(busy(10_000)).toBe(false); // no one took it in 10 s: the next one may come
    copies.fetched(2, 20_000);
    inFlight.add(2);
    expect(busy(20_001)).toBe(true);
    held.add(2); // a peer holds it: not the only copy any more
    expect(busy(20_002)).toBe(false);
    copies.fetched(3, 30_000); // picked, but its fetch failed: neither here nor coming
    expect(busy(30_001)).toBe(false);
    copies.fetched(4, 40_000);
    inFlight.add(4);
    have.set(4);
    inFlight.delete(4);
    copies.sent(4);
    expect(busy(40_001)).toBe(false);
  });
});
