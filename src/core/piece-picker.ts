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

/**
 * Rarest missing piece that `holds` says the source has; -1 if none. Ties go to the first
 * after a start drawn from `random`: a random start keeps tabs that download together from
 * asking for the same pieces in the same order (they would then have nothing to trade); a tab
 * downloading alone passes `() => 0` and gets pieces in order, which its whole-file hash
 * consumes as they come instead of reading them back. `within`, when given, holds every piece
 * `holds` may accept (the source's announced pieces): the others are passed over without
 * asking `holds`, which is the costly part of the scan (the result is the same).
 */
export function pickRarest(state: PickState, holds: (index: number) => boolean, random: () => number = Math.random, within?: Bitfield): number {
  const n = state.pieceCount;
  const startAt = Math.floor(random() * n);
  let best = -1;
  let bestAvail = Infinity;
  for (let k = 0; k < n; k++) {
    const i = (startAt + k) % n;
    if (state.have.has(i) || (within !== undefined && !within.has(i)) || state.inFlight.has(i) || !holds(i)) continue;
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
 * A missing piece that no ready peer holds and `accept` takes; -1 if none. Chosen uniformly at
 * random (reservoir sampling, one pass), not "from a random start onwards": tabs that walk
 * forward from different starts catch up with each other and then fetch the same frontier
 * pieces. A tab that downloads alone asks for `inOrder`: the lowest such piece, so its
 * whole-file hash is fed as the pieces come. `evenIfHeld` also takes pieces a peer holds (a
 * background download topping up from the CDN when its peers are too slow).
 */
export function pickForCdn(
  state: PickState,
  accept: (index: number) => boolean = () => true,
  options: { inOrder?: boolean; random?: () => number; evenIfHeld?: boolean } = {},
): number {
  const random = options.random ?? Math.random;
  let chosen = -1;
  let seen = 0;
  for (let i = 0; i < state.pieceCount; i++) {
    if (state.have.has(i) || state.inFlight.has(i) || (state.availability[i] !== 0 && !options.evenIfHeld) || !accept(i)) continue;
    if (options.inOrder) return i;
    seen++;
    if (random() * seen < 1) chosen = i;
  }
  return chosen;
}
