/** The simulator's seeded random numbers (pure-rand's xoroshiro128+): a run is a function of its seed. */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export type Random = () => number;

/** Numbers in [0, 1) from `seed`. */
export function seededRandom(seed: number): Random {
  const g = xoroshiro128plus(seed | 0);
  return () => uniformFloat64(g);
}

/** 32 hex digits: a peer ID. */
export function randomHex(random: Random, digits = 32): string {
  let out = '';
  while (out.length < digits) out += Math.floor(random() * 0x10000).toString(16).padStart(4, '0');
  return out.slice(0, digits);
}
