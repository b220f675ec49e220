/**
 * First copies: pieces we hold that no peer we are linked to holds, and that we have not yet
 * sent whole to anyone. In a big swarm a piece granted to us from the CDN is the swarm's only
 * copy (docs/protocol.md, "CDN slots"), and until it leaves our uplink once, every tab waits
 * for it. So our uploads spend themselves on first copies first (a BitTorrent super-seed's
 * rule): such a piece goes first in a session's queue and its asker gets the next upload turn
 * (upload-turns.ts); and a neighbour that asks us for a piece another of our peers holds while
 * it lacks one of our first copies is refused (REJECT, no fault of its own), so that its one
 * request to us (a stranger's window) goes to the first copy. Not a piece only we hold: a REJECT
 * is final over a link (docs/protocol.md §5.3), and refusing those cost a 100-peer swarm of a
 * 64 MiB file 15% of its mean completion. Without this, 1,000 simulated peers waited 160 s
 * for pieces held by tabs with 1 Mbit/s uplinks: the 16 neighbours of such a tab each asked it
 * for its first piece, which it then sent to them one after another, 8 s each, while its other
 * pieces waited.
 *
 * Only pieces that came from the CDN are candidates (a piece from a peer: that peer holds it),
 * so the checks look at a handful of pieces, never the whole file.
 */
import type { Bitfield } from './bitfield.js';

export class FirstCopies {
  /** Pieces we fetched from the CDN and have not yet sent whole, and when they were picked. */
  private readonly candidates = new Map<number, number>();

  constructor(
    private readonly have: Bitfield,
    /** Whether a peer we are linked to holds piece `index`. */
    private readonly heldByPeers: (index: number) => boolean,
    /** `firstCopyPaceMs` (config-peering.ts). */
    private readonly paceMs: () => number = () => 0,
  ) {}

  /** A granted piece is to be fetched from the CDN, at `now`. */
  fetched(index: number, now: number): void {
    if (!this.candidates.has(index)) this.candidates.set(index, now);
  }

  /**
   * Whether a first copy, picked less than `firstCopyPaceMs` before `now`, is on its way in
   * (`inFlight`) or waits to go out: then the tab asks for no further piece of its slot. So a
   * tab brings in one piece at a time, at its uplink's pace; while a flash crowd grows, the rest
   * of its slot's pieces move on to newer tabs (the jump), and the file enters the swarm through
   * many uplinks, not through the first few, whatever their speed.
   */
  busy(now: number, inFlight: (index: number) => boolean): boolean {
    for (const [i, at] of this.candidates) {
      if (this.heldByPeers(i) || !(this.have.has(i) || inFlight(i))) this.candidates.delete(i);
      else if (now - at < this.paceMs()) return true;
    }
    return false;
  }

  /** A piece went out whole to a peer: there is a second copy now. */
  sent(index: number): void {
    this.candidates.delete(index);
  }

  /** Whether piece `index` is a first copy (stored here). */
  has(index: number): boolean {
    if (!this.candidates.has(index)) return false;
    if (this.heldByPeers(index)) this.candidates.delete(index);
    return this.candidates.has(index) && this.have.has(index);
  }

  /**
   * Whether a neighbour that asks for piece `index` should ask for a first copy instead: the
   * piece is none, the neighbour (`remoteHas`) lacks one of ours, and has not asked for it yet
   * (`asked`).
   */
  steers(index: number, remoteHas: (index: number) => boolean, asked: (index: number) => boolean): boolean {
    // Only a piece another peer of ours holds: the neighbour may not ask us for it again (a
    // REJECT is final over a link), so it must have somewhere else to get it.
    if (this.candidates.size === 0 || this.has(index) || !this.heldByPeers(index)) return false;
    for (const i of this.candidates.keys()) if (this.has(i) && !remoteHas(i) && !asked(i)) return true;
    return false;
  }
}
