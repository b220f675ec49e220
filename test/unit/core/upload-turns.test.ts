/** UploadTurns: who uploads next among a download's sessions (core/upload-turns.ts). */
import { describe, expect, it } from 'vitest';
import { UploadTurns, type TurnTaker } from '../../../src/core/upload-turns.js';

function taker(name: string, log: string[], askedAt: number): TurnTaker & { askedAt: number } {
  return {
    askedAt,
    newestAsk() {
      return this.askedAt;
    },
    resume: () => log.push(name),
  };
}

describe('UploadTurns', () => {
  it('gives a free turn at once, keeps it while no one waits, and hands it to the waiting session asked most recently', () => {
    const log: string[] = [];
    const turns = new UploadTurns(1);
    const [a, b, c, d] = [taker('a', log, 1), taker('b', log, 5), taker('c', log, 9), taker('d', log, 3)];
    expect(turns.take(a)).toBe(true);
    expect(turns.take(a)).toBe(true); // still its turn
    expect(turns.contended).toBe(false);
    expect(turns.take(b)).toBe(false);
    expect(turns.take(c)).toBe(false);
    expect(turns.take(d)).toBe(false);
    expect(turns.contended).toBe(true);
    turns.give(a);
    expect(log).toEqual(['c']);
    expect(turns.holds(c)).toBe(true);
    // A waiting session that is asked again moves ahead of one asked earlier.
    d.askedAt = 20;
    turns.give(c);
    turns.give(d);
    expect(log).toEqual(['c', 'd', 'b']);
    turns.give(b);
    expect(turns.contended).toBe(false);
    expect(turns.take(a)).toBe(true);
  });

  it('has as many turns as slots, and a session that closes while waiting is forgotten', () => {
    const log: string[] = [];
    const turns = new UploadTurns(2);
    const [a, b, c, d] = [taker('a', log, 1), taker('b', log, 2), taker('c', log, 3), taker('d', log, 4)];
    expect([turns.take(a), turns.take(b), turns.take(c), turns.take(d)]).toEqual([true, true, false, false]);
    turns.give(d); // closed while waiting
    turns.give(a);
    expect(log).toEqual(['c']);
    turns.give(b);
    expect(log).toEqual(['c']);
    expect(turns.contended).toBe(false);
  });

  it('gives the next turn first to a session that would send a first copy, however old its ask', () => {
    const log: string[] = [];
    const turns = new UploadTurns(1);
    const [a, b, c] = [taker('a', log, 1), taker('b', log, 9), taker('c', log, 5)];
    const only = Object.assign(taker('only', log, 2), { asksForFirstCopy: () => true });
    expect(turns.take(a)).toBe(true);
    for (const t of [b, only, c]) expect(turns.take(t)).toBe(false);
    turns.give(a);
    expect(log).toEqual(['only']);
    turns.give(only);
    expect(log).toEqual(['only', 'b']);
  });
});
