/**
 * The state a download's parts share: which pieces we have, which are asked of whom, how many
 * counted peers hold each, and which source failed which piece. The scheduler, intake and
 * peer pool read and change it and call `changed()`; whoever listens (the scheduler) then fills
 * the free request slots. No part calls another to say "something changed".
 */
import { Bitfield } from '../bitfield.js';
import type { PeerSession } from '../peer-session.js';
import type { PickState } from '../piece-picker.js';
import type { PieceSource } from '../ports.js';

/** One request in flight; its identity tells a request from a later one of the same piece. */
export interface InFlight {
  source: PieceSource;
}

export class PieceBook {
  readonly have: Bitfield;
  /** Pieces asked of a source and not yet settled. */
  readonly inFlight = new Map<number, InFlight>();
  /**
   * How many useful peers hold each piece (the peer pool's `useful`: ready, not lagging,
   * trusted, not behind, not slow). A piece held only by strangers, lagging, behind or slow
   * peers counts as held by nobody: the CDN (once the HTTP delay is over) and rarest-first
   * treat it so.
   */
  readonly availability: Uint16Array;
  /** The sessions whose pieces are counted in `availability`. */
  private readonly counted = new Set<PeerSession>();
  /** Sources whose copy of a piece failed verification: that piece is asked of someone else. */
  private readonly failedFrom = new Map<number, Set<string>>();
  /** When a peer last delivered a verified piece (ms; 0: never): the scheduler's "peers stalled". */
  lastPeerPieceAt = 0;
  private listener: () => void = () => undefined;

  constructor(readonly pieceCount: number) {
    this.have = new Bitfield(pieceCount);
    this.availability = new Uint16Array(pieceCount);
  }

  /** Sets the one listener of `changed()` (the scheduler's pump). */
  onChanged(listener: () => void): void {
    this.listener = listener;
  }

  /** Something the scheduler decides on changed: a piece, a peer, a request. */
  changed(): void {
    this.listener();
  }

  pickState(): PickState {
    return { pieceCount: this.pieceCount, have: this.have, inFlight: this.inFlight, availability: this.availability };
  }

  isCounted(session: PeerSession): boolean {
    return this.counted.has(session);
  }

  /** Counts every piece `session` holds; once. */
  count(session: PeerSession): void {
    if (this.counted.has(session)) return;
    this.counted.add(session);
    for (let i = 0; i < this.pieceCount; i++) if (session.holds(i)) this.availability[i]!++;
  }

  /** Stops counting `session`'s pieces; false if they were not counted. */
  uncount(session: PeerSession): boolean {
    if (!this.counted.delete(session)) return false;
    for (let i = 0; i < this.pieceCount; i++) if (session.holds(i) && this.availability[i]! > 0) this.availability[i]!--;
    return true;
  }

  /** A counted session announced piece `i`. */
  gained(session: PeerSession, i: number): void {
    if (this.counted.has(session)) this.availability[i]!++;
  }

  /** A counted session no longer gives piece `i` (it refused it). */
  lost(session: PeerSession, i: number): void {
    if (this.counted.has(session) && this.availability[i]! > 0) this.availability[i]!--;
  }

  markFailed(index: number, sourceId: string): void {
    let failed = this.failedFrom.get(index);
    if (!failed) this.failedFrom.set(index, (failed = new Set()));
    failed.add(sourceId);
  }

  /** Whether any source's copy of piece `index` failed verification before. */
  anyFailed(index: number): boolean {
    return this.failedFrom.has(index);
  }

  /** Whether `sourceId`'s copy of piece `index` failed verification before. */
  failedBy(index: number, sourceId: string): boolean {
    return this.failedFrom.get(index)?.has(sourceId) ?? false;
  }
}
