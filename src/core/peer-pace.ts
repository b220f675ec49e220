/**
 * How much to ask of one peer, and when to stop waiting for it: the receiving side's pacing,
 * kept apart from the wire so that it can be driven by a test clock.
 *
 * - **Window.** Requests kept in flight to the peer. A stranger (no verified piece from it
 *   yet) gets `strangerRequestsInFlight` (1: probation). Each verified piece widens the window,
 *   doubling until the first miss and by one after, up to `peerRequestsInFlight` and to what
 *   the peer's measured rate drains in PIPELINE_SECONDS (at least 2), so a slow peer never
 *   holds more than a couple of seconds of the download. Each missed deadline halves it; at 0
 *   the peer is dropped (a peer still sending at a quarter of the minimum rate keeps one: see
 *   `miss`).
 * - **Deadlines** (DO: peers that cannot deliver at the minimum rate are not waited for). A
 *   request sent when `bytesAhead` bytes were already owed by the peer must be complete by
 *   `sentAt + peerDeadlineGraceMs + (bytesAhead + length) / minPeerBytesPerSec`; past it the
 *   request is cancelled and counts as a miss.
 * - **Lagging.** A peer that owes us data and has sent nothing for `peerIdleMs` (a trusted
 *   one: for `peerDeadlineGraceMs`, since a busy machine pauses an honest peer now and then),
 *   or has delivered less than `minPeerBytesPerSec` since it became busy (after the grace), lags.
 *   A lagging peer gets no new request, the pieces it holds stop keeping others (the CDN
 *   included) from them, and in the endgame what it was asked may be taken back for another
 *   source (the scheduler's rule: core/download.ts). It stops lagging when it completes a
 *   piece, or when nothing is left that it owes (if that is because a piece was taken back
 *   from a stranger, it is asked nothing more for `peerDeadlineGraceMs`: `takenBack`).
 */
import type { ClientConfig } from './config.js';

export type PaceConfig = Pick<
  ClientConfig,
  'peerRequestsInFlight' | 'strangerRequestsInFlight' | 'minPeerBytesPerSec' | 'peerDeadlineGraceMs' | 'peerIdleMs'
>;

/** A trusted peer's window is capped at what its rate drains in this long (at least two requests). */
export const PIPELINE_SECONDS = 2;
/** Weight of the newest sample in the peer's rate (exponentially weighted average). */
const RATE_WEIGHT = 0.3;

export class PeerPace {
  private window: number;
  private trusted = false;
  private missed = false;
  /** Bytes per second the peer delivered pieces at (0: not measured yet). */
  private rate = 0;
  /** Since when the peer has owed us data without a break, and the bytes it sent since. */
  private busySince = 0;
  private bytesSinceBusy = 0;
  private lastDataAt = 0;
  /** When the last piece completed (the next piece's service starts no earlier). */
  private lastCompleteAt = 0;
  private lagging = false;
  /** After a piece was taken back from it, it is asked nothing until then. */
  private coolUntil = 0;
  /** Its last request missed its deadline, and no piece has completed since. */
  private behind = false;
  /** Deadlines missed, over the session. */
  misses = 0;

  constructor(private readonly config: PaceConfig) {
    this.window = Math.max(1, config.strangerRequestsInFlight);
  }

  /** Whether the peer has delivered a verified piece in this session or before. */
  get isTrusted(): boolean {
    return this.trusted;
  }

  get isLagging(): boolean {
    return this.lagging;
  }

  /** Whether its last request missed its deadline (until it completes a piece). */
  get missedLast(): boolean {
    return this.behind;
  }

  /** Bytes per second it delivered at, 0 when not measured yet. */
  get bytesPerSec(): number {
    return this.rate;
  }

  /**
   * Bytes per second it is delivering at since its last complete piece (or since it was
   * asked, when idle before); undefined until that has run `minWindowMs`, or when nothing is
   * owed. A peer that went quiet shows 0 here long before its deadlines pass.
   */
  currentBytesPerSec(now: number, minWindowMs = 500): number | undefined {
    if (this.busySince === 0 || now - this.busySince < minWindowMs) return undefined;
    return (this.bytesSinceBusy * 1000) / (now - this.busySince);
  }

  /** The peer delivered before (an earlier link of this download): not a stranger. */
  trust(): void {
    if (this.trusted) return;
    this.trusted = true;
    this.window = Math.max(this.window, Math.min(this.config.peerRequestsInFlight, 2));
  }

  /** Requests the peer may have in flight now, given the piece length to come. */
  limit(pieceLength: number): number {
    if (!this.trusted) return Math.min(this.window, Math.max(1, this.config.strangerRequestsInFlight));
    let cap = this.config.peerRequestsInFlight;
    // At least two: one request at a time leaves the channel idle between pieces, and a peer
    // that cuts each piece short shows it only when the next one starts.
    if (this.rate > 0) cap = Math.min(cap, Math.max(2, Math.ceil((this.rate * PIPELINE_SECONDS) / Math.max(1, pieceLength))));
    return Math.min(this.window, cap);
  }

  /** The deadline of a request of `length` bytes sent now, with `bytesAhead` already owed. */
  deadline(now: number, bytesAhead: number, length: number): number {
    const minRate = Math.max(1, this.config.minPeerBytesPerSec);
    return now + this.config.peerDeadlineGraceMs + ((bytesAhead + length) * 1000) / minRate;
  }

  /** A request went out; `owed` is how many requests are now pending (this one included). */
  sent(now: number, owed: number): void {
    if (owed === 1) {
      this.busySince = now;
      this.bytesSinceBusy = 0;
    }
  }

  data(now: number, bytes: number): void {
    this.lastDataAt = now;
    this.bytesSinceBusy += bytes;
  }

  /** A piece's last byte came; `sentAt` is when it was asked. `owed`: requests still pending. */
  complete(now: number, sentAt: number, length: number, owed: number): void {
    const start = Math.max(sentAt, this.lastCompleteAt);
    const sample = (length * 1000) / Math.max(1, now - start);
    this.rate = this.rate === 0 ? sample : this.rate * (1 - RATE_WEIGHT) + sample * RATE_WEIGHT;
    this.lastCompleteAt = now;
    this.lagging = false;
    this.coolUntil = 0;
    this.behind = false;
    this.busySince = owed > 0 ? now : 0;
    this.bytesSinceBusy = 0;
  }

  /** Nothing is owed any more (answered, refused or cancelled): there is nothing to judge it by. */
  idle(): void {
    this.busySince = 0;
    this.bytesSinceBusy = 0;
    this.lagging = false;
  }

  /**
   * A piece it owed was taken back because it lagged (the endgame). A stranger is asked for
   * nothing for `peerDeadlineGraceMs`, though it owes nothing now and no longer lags: one that
   * sends just often enough not to fall quiet would otherwise be asked for the next missing
   * piece at once, and hold that one for the grace too (a tab waited for one staller piece
   * after another).
   * Not a trusted peer: on an overloaded machine honest tabs lag and are taken back from
   * often; with every peer held off so, eight tabs took 3.9 and 5.6 copies of the file from the
   * CDN in two runs (1.8 without).
   */
  takenBack(now: number): void {
    if (!this.trusted) this.coolUntil = now + this.config.peerDeadlineGraceMs;
  }

  /**
   * Whether it is asked for nothing now after a take-back (`takenBack`). Not lagging: what it
   * holds still counts (an honest tab that paused keeps sparing the CDN the pieces it has).
   */
  isCooling(now: number): boolean {
    return now < this.coolUntil;
  }

  /**
   * A piece from this peer passed verification: it is no stranger, and its window grows. A
   * `server` (a cache node) opens it to the most at once, as it would after a few more pieces:
   * probation (its first piece) and the halving after a miss apply as to any peer.
   */
  verified(server = false): void {
    this.trusted = true;
    const max = this.config.peerRequestsInFlight;
    this.window = Math.min(max, this.missed ? this.window + 1 : server ? max : Math.max(2, this.window * 2));
  }

  /**
   * A deadline passed at `now`. The window halves; true: drop the peer (its window is down to
   * nothing). A peer still sending at half the minimum rate or more keeps a window of one: it
   * is slow (an overloaded machine serving many tabs), not stalled, and dropping it would
   * throw away what it is half-way through; it lags, so it is asked for nothing more while it
   * lags. A peer that fell quiet, or trickles, is dropped.
   */
  miss(now: number): boolean {
    this.misses++;
    this.missed = true;
    this.behind = true;
    const busyFor = now - this.busySince;
    const flowing =
      this.busySince > 0 &&
      now - this.lastDataAt < 2 * this.config.peerDeadlineGraceMs &&
      (this.bytesSinceBusy * 1000) / Math.max(1, busyFor) >= this.config.minPeerBytesPerSec / 4;
    this.window = Math.max(flowing ? 1 : 0, Math.floor(this.window / 2));
    return this.window === 0;
  }

  /**
   * Re-evaluates lagging at `now` (it is sticky until a piece completes). True when it changed.
   * `owed`: requests pending.
   */
  check(now: number, owed: number): boolean {
    if (this.lagging || owed === 0 || this.busySince === 0) return false;
    const quietFor = now - Math.max(this.lastDataAt, this.busySince);
    const busyFor = now - this.busySince;
    const slow = busyFor >= this.config.peerDeadlineGraceMs && (this.bytesSinceBusy * 1000) / busyFor < this.config.minPeerBytesPerSec;
    if (quietFor < this.idleLimit() && !slow) return false;
    this.lagging = true;
    return true;
  }

  /** How long a silence makes the peer lag: longer for a peer that has proved itself. */
  private idleLimit(): number {
    return this.trusted ? Math.max(this.config.peerIdleMs, this.config.peerDeadlineGraceMs) : this.config.peerIdleMs;
  }

  /**
   * When `check` should run next (ms since epoch), or Infinity while nothing is owed: when the
   * peer turns idle, at the end of the grace, and after it as often as the idle time (a peer
   * can slow down below the minimum rate without ever falling quiet that long).
   */
  nextCheckAt(now: number, owed: number): number {
    if (owed === 0 && now < this.coolUntil) return this.coolUntil;
    if (this.lagging || owed === 0 || this.busySince === 0) return Infinity;
    const idleAt = Math.max(this.lastDataAt, this.busySince) + this.idleLimit();
    const graceEnds = this.busySince + this.config.peerDeadlineGraceMs;
    return Math.min(idleAt, now < graceEnds ? graceEnds : now + this.config.peerIdleMs);
  }
}
