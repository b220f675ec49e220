/**
 * Whose turn it is to upload, among the peer sessions of one download (`uploadSlots`).
 *
 * Every session used to send whatever it was asked at once, so an uplink serving k peers gave
 * each a k-th of its rate: on a 1 Mbit/s uplink with 8 peers waiting, a 1 MiB piece took 67 s
 * to reach anyone, past every requester's deadline, and the sole copy of a piece stayed with
 * its slow holder (issue 18: a piece held by one DSL tab for 40 simulated seconds while 8
 * neighbours asked for it). With turns, `slots` sessions send at once (1 by default); while
 * others wait, a session sends one piece and, once its link has taken it (the send buffer at
 * the transport's low-water mark), hands its turn on. A piece leaves at the uplink's whole rate
 * and its receiver can pass it on at once, which is how a swarm spreads a piece fastest.
 *
 * The turn goes to the waiting session asked most recently: under overload the oldest requests
 * are the ones their requesters are about to give up on (a request is cancelled at its
 * deadline, and a piece cut short is sent for nothing), while the newest has its whole
 * deadline ahead. In the simulator, 200 peers on mixed links, the same core but for this:
 * oldest first, mean completion 2.12 times the bound; newest first, 1.57 (docs/benchmarks.md).
 * With no one waiting, a session keeps its turn, still a piece per drain of its link (on a
 * browser's data channel 'drain' comes while 1 MiB is still queued).
 *
 * One exception ranks above the newest ask: a first copy (a piece no peer we are linked to
 * holds, not yet sent whole: core/first-copies.ts). Its session gets the next turn, and sends it
 * before its older requests.
 */

/** A session that takes turns (core/peer-session/uploading.ts). */
export interface TurnTaker {
  /** When its most recent request still queued came (ms); -Infinity when none is queued. */
  newestAsk(): number;
  /** Whether it would send a first copy (core/first-copies.ts; optional: never). */
  asksForFirstCopy?(): boolean;
  /** Its turn came: it sends (and gives the turn back when it stops). */
  resume(): void;
}

export class UploadTurns {
  private readonly holding = new Set<TurnTaker>();
  private readonly waiting = new Set<TurnTaker>();

  private readonly slots: number;

  /** `slots`: sessions sending at once (at least 1). */
  constructor(slots: number) {
    this.slots = Math.max(1, slots);
  }

  /** Whether `taker` may send now: it holds a turn, or one is free and no one waits. Otherwise it waits for one. */
  take(taker: TurnTaker): boolean {
    if (this.holding.has(taker)) return true;
    if (this.holding.size < this.slots && this.waiting.size === 0) {
      this.holding.add(taker);
      return true;
    }
    this.waiting.add(taker);
    return false;
  }

  /** Whether a session waits for a turn: then the holder hands its turn on after each piece. */
  get contended(): boolean {
    return this.waiting.size > 0;
  }

  /** Whether `taker` holds a turn. */
  holds(taker: TurnTaker): boolean {
    return this.holding.has(taker);
  }

  /**
   * `taker` sent a piece in its turn: it hands the turn on if others wait, unless it would send
   * a first copy and none of them would.
   */
  handOn(taker: TurnTaker): void {
    if (!this.holding.has(taker) || !this.contended) return;
    if (taker.asksForFirstCopy?.() === true && ![...this.waiting].some((w) => w.asksForFirstCopy?.() === true)) return;
    this.give(taker);
  }

  /** `taker` is done (it hands its turn on, has nothing to send, or closed): free turns go to the waiting. */
  give(taker: TurnTaker): void {
    this.waiting.delete(taker);
    if (!this.holding.delete(taker)) return;
    while (this.holding.size < this.slots && this.waiting.size > 0) {
      let next: TurnTaker | undefined;
      let best = { first: false, at: -Infinity };
      for (const w of this.waiting) {
        // A first copy goes first: else a slow uplink's only copy of a piece waits behind what
        // its neighbours could get elsewhere, and no one gets it. Then the newest ask.
        const rank = { first: w.asksForFirstCopy?.() === true, at: w.newestAsk() };
        if (next === undefined || (rank.first !== best.first ? rank.first : rank.at > best.at)) [next, best] = [w, rank];
      }
      this.waiting.delete(next!);
      this.holding.add(next!);
      next!.resume();
    }
  }
}
