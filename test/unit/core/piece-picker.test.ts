import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../../src/core/bitfield.js';
import { pickForCdn, pickRarest, type PickState } from '../../../src/core/piece-picker.js';

function state(n: number, availability: number[], have: number[] = [], inFlight: number[] = []): PickState {
  const bits = new Bitfield(n);
  for (const i of have) bits.set(i);
  return { pieceCount: n, have: bits, inFlight: new Set(inFlight), availability: Uint16Array.from(availability) };
}

describe('piece picker', () => {
  it('asks a peer for its rarest missing piece', () => {
    const s = state(5, [3, 1, 2, 1, 4], [1]);
    expect(pickRarest(s, () => true, () => 0)).toBe(3);
    expect(pickRarest(s, (i) => i !== 3, () => 0)).toBe(2);
    expect(pickRarest(state(2, [1, 1], [0, 1]), () => true)).toBe(-1);
  });

  it('gives the CDN only pieces no peer holds, none in flight or held', () => {
    const s = state(6, [0, 1, 0, 0, 2, 0], [2], [3]);
    const picks = new Set<number>();
    for (let k = 0; k < 200; k++) picks.add(pickForCdn(s));
    expect([...picks].sort()).toEqual([0, 5]);
    expect(pickForCdn(state(2, [1, 1]))).toBe(-1);
  });

  it('gives the CDN the lowest such piece for a tab downloading alone', () => {
    const s = state(6, [1, 0, 0, 0, 0, 0], [2], [1]);
    expect(pickForCdn(s, undefined, { inOrder: true })).toBe(3);
    expect(pickForCdn(s, (i) => i % 2 === 0, { inOrder: true })).toBe(4);
  });

  it('spreads CDN picks uniformly', () => {
    const s = state(10, new Array(10).fill(0));
    const counts = new Array(10).fill(0);
    for (let k = 0; k < 5000; k++) counts[pickForCdn(s)]++;
    for (const c of counts) expect(c).toBeGreaterThan(350);
  });
});
