/**
 * Which piece to ask a source for. Peers: rarest first among the pieces the peer holds, so
 * rare pieces spread before their holders leave. The CDN: a random piece that no connected
 * peer holds, so tabs that start together fetch different pieces and trade them.
 */
import type { Bitfield } from './bitfield.js';

export interface PickState {
  pieceCount: number;
  have: Bitfield;
  /** Pieces requested and not yet settled. */
  inFlight: { has(index: number): boolean };
  /** How many ready peers hold each piece. */
  availability: Uint16Array;
}

/** Rarest missing piece that `holds` says the source has; -1 if none. Ties go to a random start. */
export function pickRarest(state: PickState, holds: (index: number) => boolean, random: () => number = Math.random): number {
  const n = state.pieceCount;
  const startAt = Math.floor(random() * n);
  let best = -1;
  let bestAvail = Infinity;
  for (let k = 0; k < n; k++) {
    const i = (startAt + k) % n;
    if (state.have.has(i) || state.inFlight.has(i) || !holds(i)) continue;
    const a = state.availability[i]!;
    if (a < bestAvail) {
      best = i;
      bestAvail = a;
      if (a <= 1) break;
    }
  }
  return best;
}

/**
 * A missing piece that no ready peer holds and `accept` takes, chosen uniformly at random (reservoir sampling,
 * one pass); -1 if none. Uniform, not "from a random start onwards": tabs that walk forward
 * from different starts catch up with each other and then fetch the same frontier pieces.
 */
export function pickForCdn(state: PickState, accept: (index: number) => boolean = () => true, random: () => number = Math.random): number {
  let chosen = -1;
  let seen = 0;
  for (let i = 0; i < state.pieceCount; i++) {
    if (state.have.has(i) || state.inFlight.has(i) || state.availability[i] !== 0 || !accept(i)) continue;
    seen++;
    if (random() * seen < 1) chosen = i;
  }
  return chosen;
}
