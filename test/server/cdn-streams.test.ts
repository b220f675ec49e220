/**
 * signaling/cdn-streams.ts's CdnStreams: the per-address and total caps, and whom a full
 * total makes room for (an address with fewer streams than the heaviest) at whose cost (the
 * heaviest's stream whose reader took nothing for longest).
 */
import { describe, expect, it } from 'vitest';
import { CdnStreams, type CdnStream } from '../../signaling/cdn-streams.js';

describe('CdnStreams', () => {
  it('refuses past the per-address cap, and a release frees the place', () => {
    const streams = new CdnStreams(2, 10);
    const a = streams.admit('a', () => undefined) as CdnStream;
    streams.admit('a', () => undefined);
    expect(streams.admit('a', () => undefined)).toBe('address');
    expect(typeof streams.admit('b', () => undefined)).toBe('object');
    a.release();
    a.release(); // twice is once
    expect(streams.open).toBe(2);
    expect(typeof streams.admit('a', () => undefined)).toBe('object');
  });

  it('when full, evicts the stalest stream of the heaviest address for a lighter one; refuses an address as heavy as any', () => {
    let t = 0;
    const streams = new CdnStreams(10, 4, () => t);
    const evicted: string[] = [];
    const admit = (bucket: string, name: string) => streams.admit(bucket, () => evicted.push(name));
    const a1 = admit('a', 'a1') as CdnStream;
    t = 1;
    admit('a', 'a2');
    t = 2;
    admit('a', 'a3');
    t = 3;
    admit('b', 'b1');
    // a1's reader takes bytes again: a2 is now the stalest of the heaviest (a, 3 streams).
    t = 4;
    a1.moved();
    expect(typeof admit('c', 'c1')).toBe('object');
    expect(evicted).toEqual(['a2']);
    expect(streams.open).toBe(4);
    expect(streams.evictions).toBe(1);
    // a 2, b 1, c 1: b (1 < 2) takes a3's place, leaving a 1, b 2, c 1.
    expect(typeof admit('b', 'b2')).toBe('object');
    expect(evicted).toEqual(['a2', 'a3']);
    // b holds as many as anyone: refused, and nobody is evicted for it.
    expect(admit('b', 'b3')).toBe('total');
    expect(evicted).toEqual(['a2', 'a3']);
    // A newcomer (0) takes the place of the heaviest's stalest (b1, not b2 nor a lighter one).
    t = 5;
    expect(typeof admit('d', 'd1')).toBe('object');
    expect(evicted).toEqual(['a2', 'a3', 'b1']);
    expect(streams.open).toBe(4);
    // Now everyone holds one: another from any of them is refused; a newcomer (none) still gets in.
    expect(admit('a', 'a4')).toBe('total');
    expect(typeof admit('e', 'e1')).toBe('object');
    expect(evicted).toHaveLength(4);
  });
});
