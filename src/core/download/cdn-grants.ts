/**
 * Asking before fetching (docs/protocol.md, "CDN slots"). In a big swarm a piece of our CDN slot
 * goes to the CDN only once the Arrays service granted it: the tab asks (`cdnPieces`, within
 * `claimAnnounceMs`), and the reply's `granted` names those no one was granted before. A slot
 * is a view of the swarm as of the last reply, often seconds old while a flash crowd grows
 * and pieces change owner; fetching on that view alone, a piece's newer owner fetched again
 * what its older one had just fetched (1,000 simulated peers x 256 MiB: 9 pieces of 256, each
 * a second after the service knew).
 *
 * An ask that the reply refuses leaves our share with that reply (the piece is in its fetched
 * bitmap, or no longer our slot's): it is forgotten. An ask with no answer within
 * `claimGrantWaitMs` (a service that grants nothing, a reply lost with its socket) counts as
 * granted: at worst a second copy, as before asks.
 */
export class CdnGrants {
  /** Pieces asked and not yet answered, and when they were asked. */
  private readonly asked = new Map<number, number>();
  /** Pieces granted (or unanswered too long), to fetch in this order. */
  private granted: number[] = [];

  constructor(
    private readonly waitMs: () => number,
    /** A granted piece is picked to fetch: once here, it is the swarm's only copy (core/first-copies.ts). */
    private readonly picked: (index: number) => void = () => {},
  ) {}

  /**
   * Asks (`send`) for the pieces `pick` chooses among those not asked yet, until `reserve` asks
   * and grants wait: they wait for their answer while the CDN's slots are busy, a request's
   * worth in reserve. `wakeIn`: when the oldest ask will count as granted, if one waits.
   */
  askUpTo(reserve: number, now: number, pick: (fresh: (index: number) => boolean) => number, send: (index: number) => void, wakeIn: (ms: number) => void): void {
    while (this.asked.size + this.granted.length < reserve) {
      const i = pick((k) => !this.asked.has(k));
      if (i < 0) break;
      this.asked.set(i, now);
      send(i);
    }
    let due = Infinity;
    for (const at of this.asked.values()) due = Math.min(due, at + this.waitMs() - now);
    if (due < Infinity) wakeIn(due);
  }

  /** A reply's `granted`: ours to fetch, those we asked for. */
  grant(pieces: readonly number[]): void {
    for (const i of pieces) if (this.asked.delete(i)) this.granted.push(i);
  }

  /**
   * The first granted piece still `wanted` (not yet held or asked of anyone), or -1. Asks no
   * longer `ours` (the service said no) are forgotten; asks older than the wait count as granted.
   */
  next(now: number, wanted: (index: number) => boolean, ours: (index: number) => boolean): number {
    for (const [i, at] of this.asked) {
      if (!ours(i)) this.asked.delete(i);
      else if (now - at >= this.waitMs()) {
        this.asked.delete(i);
        this.granted.push(i);
      }
    }
    while (this.granted.length > 0 && !wanted(this.granted[0]!)) this.granted.shift();
    const head = this.granted[0] ?? -1;
    if (head >= 0) this.picked(head);
    return head;
  }
}
