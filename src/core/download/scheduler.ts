/**
 * A download's scheduler: which piece to ask of which source, and when. Players' deadlines
 * first (a piece a player needs soon goes to the peer that delivers it in time, else to the
 * CDN); then peers, rarest first; the CDN for its share of the pieces no peer holds once the HTTP delay is over (or for
 * a background download's top-up before it), for the pieces of stalled peers, and for what a
 * lagging peer holds up in the endgame. It runs whenever the piece book says something
 * changed, and at the wake-ups it sets itself (HTTP delay, CDN back-off, stalled peers).
 */
import type { CdnShare } from '../cdn-share.js';
import { CdnGrants } from './cdn-grants.js';
import { CdnShares } from './cdn-shares.js';
import { atEndgame } from './endgame.js';
import type { CdnSource } from '../cdn-source.js';
import type { Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';
import { PeerSession } from '../peer-session.js';
import { pickForCdn, pickRarest, type PickState } from '../piece-picker.js';
import type { PieceSource } from '../ports.js';
import type { Swarm } from '../swarm.js';
import type { PeerPool } from './peer-pool.js';
import type { PieceBook } from './piece-book.js';
import type { Deadlines } from './deadlines.js';
import type { TopUp } from './top-up.js';
import { pieceLength, type Metadata } from '../../protocol/metadata.js';

/** Pieces a player's deadlines may add past `piecesAwaitingStorage` (memory stays bounded: a piece each). */
const PLAYER_STORAGE_ALLOWANCE = 2;
/** How often a player's piece in flight with a peer is judged again while it is not yet due for the CDN. */
const RECHECK_MS = 250;

export interface SchedulerDeps {
  book: PieceBook;
  pool: PeerPool;
  cdn: CdnSource | undefined;
  swarm: () => Swarm | undefined;
  topUp: TopUp | undefined;
  config: ClientConfig;
  metadata: Metadata;
  /** Time and the wake-up timer. */
  clock: Clock;
  peerId: string;
  startedAt: number;
  httpDelayMs: number;
  /** Players' deadlines; none when absent. */
  deadlines?: Deadlines;
  /** Not stopped, and downloading (not idle, verifying or done). */
  isActive: () => boolean;
  /** A source's bytes for a piece: intake verifies and stores them. */
  accept: (index: number, source: PieceSource, data: Uint8Array) => Promise<void>;
  /** A request failed without bytes. */
  fetchFailed: (source: PieceSource) => void;
  /** Every piece is in: the whole-file check. */
  finish: () => void;
}

export class Scheduler {
  /** Our CDN share, kept while what it was computed from holds. */
  private readonly shares = new CdnShares();
  /** In a big swarm, the pieces of our CDN slot asked of the service and granted. */
  private readonly grants = new CdnGrants(() => this.d.config.claimGrantWaitMs, (i) => this.d.pool.firstCopies.fetched(i, this.d.clock.now()));
  /** pump() is running; and something asked for it meanwhile (it runs once more). */
  private pumping = false;
  private pumpAgain = false;
  /** The one pending wake-up of pump(), due at `wakeAt`. */
  private timer: unknown;
  private wakeAt = 0;
  /** When the CDN was first allowed (ms). */
  private cdnOpenedAt = 0;
  /** Pieces whose bytes came and that intake has not finished storing (`piecesAwaitingStorage`). */
  private awaitingStorage = 0;

  constructor(private readonly d: SchedulerDeps) {}

  /**
   * Fills every free request slot; called whenever something changes. Never re-entered: what it
   * does (dropping a peer, say) can emit events whose handlers call it again, and a nested pass
   * would pick the piece the outer one is about to ask for; the outer pass runs again instead.
   */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Runs pump() again after `ms`, unless a wake-up is already due sooner. */
  wakeIn(ms: number): void {
    const { clock } = this.d;
    const at = clock.now() + Math.max(1, ms);
    if (this.timer !== undefined && this.wakeAt <= at) return;
    clock.clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, at - clock.now());
  }

  stop(): void {
    this.d.clock.clearTimeout(this.timer);
  }

  /** A `peers` reply came: its `granted` pieces are ours to fetch, and our CDN share may have changed. */
  listed(granted: readonly number[]): void {
    this.grants.grant(granted);
    this.pump();
  }

  private pumpOnce(): void {
    const { d } = this;
    const { book } = d;
    if (!d.isActive() || book.have.complete) return;
    const next = d.pool.checkPace();
    if (next < Infinity) this.wakeIn(next - d.clock.now());
    const behind = Math.max(1, d.config.piecesAwaitingStorage);
    const now = d.clock.now();
    // Storage is behind: ask for nothing more until a piece is stored (its end pumps again);
    // but a player's pieces may go past it by a few (a seek lands behind a full queue).
    const playing = d.deadlines?.active(now) === true;
    if (this.awaitingStorage >= behind + (playing ? PLAYER_STORAGE_ALLOWANCE : 0)) return;
    const state = book.pickState();
    // Cache nodes first (see `othersHold`), then the peers that missed fewest deadlines.
    const rank = (s: PeerSession) => (d.pool.isCache(s) ? 0 : 1);
    const peers = [...d.pool.sessions.values()].filter((s) => s.healthy).sort((a, b) => rank(a) - rank(b) || a.pace.misses - b.pace.misses);
    const httpDelayLeft = d.swarm() ? d.startedAt + d.httpDelayMs - now : 0;
    // While a player's pieces wait for a slot, peers' slots are theirs: nothing rarest first.
    const playerWaits = playing && d.deadlines ? this.pumpDeadlines(d.deadlines, peers, now, httpDelayLeft) : false;
    if (this.awaitingStorage >= behind) return;
    const share = this.shares.current(d.peerId, d.swarm(), d.pool.sessions.values(), d.book.pieceCount, d.config.maxPeers);
    // Alone, pieces come in order (see pickRarest); with others, from a random start.
    const order = share.size === 1 ? () => 0 : Math.random;
    for (const session of playerWaits ? [] : peers) {
      const cache = d.pool.isCache(session);
      while (session.freeSlots() > 0) {
        const usable = (k: number) => session.has(k) && !book.failedBy(k, session.id) && !(cache && this.othersHold(session, k));
        // Only what it announced can be usable (session.has): the scan skips the rest.
        let i = pickRarest(state, usable, order, session.remoteHave);
        // Nothing new for it, and nothing left but what is in flight (the endgame): a trusted
        // peer may take over a piece a lagging stranger was asked for. (A trusted peer that lags
        // is waited for until its deadline, or relieved by the CDN: honest peers of an
        // overloaded swarm must not take pieces from each other in turn, and a class of 30
        // strangers that did so on a loaded machine passed pieces round and completed none.)
        if (i < 0 && session.pace.isTrusted && this.endgame()) i = this.takeBack(usable, true);
        if (i < 0) break;
        this.request(i, session);
      }
    }
    if (!d.cdn) return;
    // Timers may fire a millisecond before the clock says they are due: re-arm, never assume.
    if (httpDelayLeft > 0) {
      this.wakeIn(httpDelayLeft);
      if (d.topUp?.update(now, (ms) => this.wakeIn(ms))) this.pumpCdn(d.cdn, state, share, now, true);
    } else {
      d.topUp?.end();
      this.pumpCdn(d.cdn, state, share, now);
    }
  }

  /**
   * Players' pieces, earliest deadline first. Each goes to the peer that holds it and, by its
   * rate and what it already owes us, delivers it soonest, if that is in time; else, once its
   * deadline is `streamCdnLeadMs` away, to the CDN, within the HTTP delay and outside our CDN
   * share (a background download keeps its delay: its player waits on peers until then). A
   * piece in flight with a peer that will miss its deadline is taken back for the CDN then
   * (one source per piece still holds; a peer's late copy is dropped; a stranger is not cooled
   * for it). True when a player's piece that a peer holds still waits for a slot: then peers
   * are asked nothing else (their slots free up for it); otherwise the slots left are filled
   * rarest first as before, so the swarm keeps spreading.
   */
  private pumpDeadlines(deadlines: Deadlines, peers: PeerSession[], now: number, httpDelayLeft: number): boolean {
    const { book, metadata, config } = this.d;
    const cdn = this.d.cdn && !(config.isBackground && httpDelayLeft > 0) ? this.d.cdn : undefined;
    let wakeAt = Infinity;
    let waits = false;
    for (const { index, at } of deadlines.due(now, (i) => !book.have.has(i))) {
      const length = pieceLength(metadata, index);
      const cdnAt = at - config.streamCdnLeadMs;
      const from = book.inFlight.get(index)?.source;
      if (from) {
        // In flight: with the CDN already, or bytes in and being verified, nothing to gain.
        if (!cdn || !(from instanceof PeerSession) || !from.owes(index)) continue;
        if (!from.pace.isLagging && this.peerEta(from, 0, now, index) <= at) {
          // In time by what we know now; look again soon (a peer can go quiet at any moment).
          wakeAt = Math.min(wakeAt, Math.max(cdnAt, now + RECHECK_MS));
          continue;
        }
        if (now < cdnAt) {
          wakeAt = Math.min(wakeAt, cdnAt);
          continue;
        }
        if (cdn.freeSlots() <= 0 || !cdn.admit(length)) continue;
        book.inFlight.delete(index);
        from.reassign(index, from.pace.isLagging);
        this.request(index, cdn);
        continue;
      }
      let best: PeerSession | undefined;
      let bestEta = Infinity;
      for (const s of peers) {
        if (s.freeSlots() <= 0 || !s.has(index) || book.failedBy(index, s.id)) continue;
        const eta = this.peerEta(s, length, now);
        if (eta < bestEta) [best, bestEta] = [s, eta];
      }
      if (best && (bestEta <= at || !cdn)) this.request(index, best);
      else if (cdn && now >= cdnAt && cdn.freeSlots() > 0 && cdn.admit(length)) this.request(index, cdn);
      else {
        // A peer that holds it may free a slot before its deadline: keep its slots for it.
        waits ||= peers.some((s) => s.has(index) && !book.failedBy(index, s.id));
        if (now < cdnAt) wakeAt = Math.min(wakeAt, cdnAt);
      }
    }
    if (wakeAt < Infinity) this.wakeIn(wakeAt - now);
    return waits;
  }

  /**
   * Whether a useful peer other than `session` holds piece `index` and may be asked for it (its
   * copy did not fail). A cache node is asked only for pieces no such peer holds: it serves what
   * the swarm lacks, first (it comes first in the pump) and as the CDN would, sparing the CDN
   * (a piece it holds is held); what another tab holds goes to that tab, rarest first as
   * before, so the tabs keep trading. A cache node is a peer like any other otherwise: probation,
   * deadlines, lagging and the CDN's rules apply to it (and while it is a stranger its pieces
   * count for no one, so the CDN may start on them after the HTTP delay).
   */
  private othersHold(session: PeerSession, index: number): boolean {
    const { book } = this.d;
    let others = book.availability[index]! - (book.isCounted(session) && session.holds(index) ? 1 : 0);
    if (others > 0 && book.anyFailed(index)) {
      for (const s of this.d.pool.sessions.values()) if (s !== session && book.isCounted(s) && s.holds(index) && book.failedBy(index, s.id)) others--;
    }
    return others > 0;
  }

  /**
   * When `peer` would have delivered what it owes us up to piece `through` (all of it when
   * absent) and `extra` more bytes asked now (ms since the epoch). Requests to a peer are
   * answered in order. Its rate: the measured one (the prior for a peer not measured yet),
   * or what it delivers now if that is less (a peer that went quiet is late at once).
   */
  private peerEta(peer: PeerSession, extra: number, now: number, through?: number): number {
    let rate = peer.pace.bytesPerSec > 0 ? peer.pace.bytesPerSec : this.d.config.streamPeerPriorBytesPerSec;
    const current = peer.pace.currentBytesPerSec(now);
    if (current !== undefined) rate = Math.min(rate, current);
    return now + ((peer.owedBytes(through) + extra) / Math.max(1, rate)) * 1000;
  }

  /**
   * A piece that a lagging peer (a stranger, with `strangers`) still owes us and `usable`
   * accepts; -1 if none. Only what it owes: a piece whose bytes came and are being verified is
   * in flight still, and must not be asked again.
   */
  private laggingRequest(usable: (index: number) => boolean, strangers: boolean, orSlow = false): number {
    for (const [i, { source }] of this.d.book.inFlight) {
      if (!(source instanceof PeerSession) || !source.ready || !source.owes(i)) continue;
      if (!source.pace.isLagging && !(orSlow && this.d.pool.isSlow(source))) continue;
      if ((!strangers || !source.pace.isTrusted) && usable(i)) return i;
    }
    return -1;
  }

  /**
   * A piece in flight with a lagging peer that `usable` accepts, taken back from that peer (a
   * CANCEL) so that the caller can ask another source; -1 if none. One source per piece still
   * holds: the lagging peer's copy is dropped if it comes after all.
   */
  private takeBack(usable: (index: number) => boolean, strangers = false, orSlow = false): number {
    const i = this.laggingRequest(usable, strangers, orSlow);
    const from = i < 0 ? undefined : this.d.book.inFlight.get(i)?.source;
    if (!(from instanceof PeerSession)) return -1;
    this.d.book.inFlight.delete(i);
    from.reassign(i);
    return i;
  }

  /** Whether the download is at its end (endgame.ts). */
  private endgame(): boolean {
    return atEndgame(this.d.book, this.d.pool.sessions.values(), this.shares.last, this.d.cdn !== undefined, this.d.clock.now());
  }

  /**
   * The CDN's share. Tabs downloading together split the pieces no peer holds (each piece has
   * one owner among the downloading peers we see: cdn-shares.ts), so each piece crosses the CDN
   * about once and the rest is traded. Pieces of another tab's share go to the CDN only when
   * peers have delivered nothing for `peerStallMs` (the owner stalled or is unreachable), then
   * only those no peer holds (`heldByNoPeer`; in a big swarm, of our `fallback`, one at a time,
   * and of the pieces the swarm fetched only after `fetchedStallMs`). In a big swarm, pieces of
   * our slot once the service granted them (cdn-grants.ts): first copies (core/first-copies.ts).
   */
  private pumpCdn(cdn: CdnSource, state: PickState, { ours, size, fallback, fetched }: CdnShare, now: number, topUp = false): void {
    if (this.cdnOpenedAt === 0) this.cdnOpenedAt = now;
    if (cdn.retryInMs() > 0) this.wakeIn(cdn.retryInMs());
    const quietSince = Math.max(this.cdnOpenedAt, this.d.book.lastPeerPieceAt);
    const peersStalled = now - quietSince >= this.d.config.peerStallMs;
    // A piece the swarm fetched is somewhere among the peers: not for a stall of peerStallMs.
    const fetchedStallMs = Math.max(this.d.config.peerStallMs, this.d.config.fetchedStallMs);
    const longStalled = now - quietSince >= fetchedStallMs;
    // In a big swarm, what the swarm has not fetched is asked of the service first (askCdn).
    const spare = (k: number) => fallback === undefined || (fallback(k) && longStalled && fetched?.(k) === true && cdn.freeSlots() >= this.d.config.cdnRequestsInFlight);
    const grants = fallback !== undefined ? this.grants : undefined;
    const askable = (k: number) => ours(k) || (fallback?.(k) === true && fetched?.(k) !== true);
    while (cdn.freeSlots() > 0) {
      const inOrder = size === 1;
      let i = grants ? grants.next(now, (k) => !state.have.has(k) && !state.inFlight.has(k), askable) : pickForCdn(state, ours, { inOrder });
      if (i < 0 && (inOrder || topUp)) i = pickForCdn(state, undefined, { inOrder });
      // Peers stalled: another tab's share too, but only what no peer holds.
      if (i < 0 && peersStalled) i = pickForCdn(state, (k) => this.d.pool.heldByNoPeer(k) && spare(k));
      // A top-up makes up for slow peers: it may take a piece they hold (not one asked of them).
      if (i < 0 && topUp) i = pickForCdn(state, undefined, { inOrder, evenIfHeld: true });
      // Waiting for bandwidth holds a slot, not a piece: ask again (pick afresh) when it passes.
      if (i >= 0 && !cdn.admit(pieceLength(this.d.metadata, i))) continue;
      // Nothing else for the CDN, in the endgame: it takes over what a lagging peer was asked
      // for, or a slow one (slower than `slowPeerBytesPerSec`: a 1 MiB piece at 256 KiB/s held
      // two tabs 4 s past their last other piece; a slow peer must not set the download's end).
      // Not in a big swarm (our share has fallback groups): there every tab's end is some
      // peer's slow upload, and each takeover is one more copy of a piece the swarm holds
      // (1,000 simulated peers x 64 MiB: 3.5 of the CDN's 6.1 copies of the file), while the
      // peers' endgame and deadlines still relieve a peer that lags (mean completion 1.59 ->
      // 1.47 times the bound without them; docs/benchmarks.md).
      if (i < 0) {
        const lagging = fallback === undefined && this.endgame() ? this.laggingRequest(() => true, false, true) : -1;
        if (lagging < 0) break;
        if (!cdn.admit(pieceLength(this.d.metadata, lagging))) continue;
        i = this.takeBack((k) => k === lagging, false, true);
      }
      if (i < 0) break;
      this.request(i, cdn, inOrder ? this.runBytesFrom(i) : undefined);
    }
    if (grants) this.askCdn(grants, state, ours, peersStalled ? (k) => askable(k) && !ours(k) && this.d.pool.heldByNoPeer(k) : undefined, now);
    if (size > 1 && !peersStalled) this.wakeIn(quietSince + this.d.config.peerStallMs - now);
    else if (fetched !== undefined && !longStalled) this.wakeIn(quietSince + fetchedStallMs - now);
  }

  /**
   * A big swarm's asks (cdn-grants.ts), one at a time: a piece of our slot, once our last first
   * copy went out (`firstCopyPaceMs`); with peers stalled, else a piece of our fallback group the
   * swarm has not fetched (`stalled`), at once. Asked, not fetched outright, a fallback piece is
   * fetched once swarm-wide, and its slot's owner is refused it later: fetched on a view seconds
   * old, one starved tab of 1,000 fetched again 17 pieces the swarm had (seed 2, docs/benchmarks.md).
   */
  private askCdn(grants: CdnGrants, state: PickState, ours: (index: number) => boolean, stalled: ((index: number) => boolean) | undefined, now: number): void {
    const busy = this.d.pool.firstCopies.busy(now, (k) => state.inFlight.has(k));
    const pick = (fresh: (index: number) => boolean) => {
      const i = busy ? -1 : pickForCdn(state, (x) => ours(x) && fresh(x));
      return i >= 0 || !stalled ? i : pickForCdn(state, (x) => stalled(x) && fresh(x));
    };
    grants.askUpTo(busy && !stalled ? 0 : 1, now, pick, (k) => this.d.swarm()?.claimCdnPiece(k), (ms) => this.wakeIn(ms));
  }

  /**
   * Bytes of the pieces from `index` on that are missing and asked of no one, up to
   * `cdnRunPieces` of them: what the CDN may fetch in one request when it goes in order.
   */
  private runBytesFrom(index: number): number {
    const { book, metadata } = this.d;
    const most = Math.min(book.pieceCount, index + Math.max(1, this.d.config.cdnRunPieces));
    let bytes = 0;
    for (let i = index; i < most && !book.have.has(i) && (i === index || !book.inFlight.has(i)); i++) bytes += pieceLength(metadata, i);
    return bytes;
  }

  private request(index: number, source: PieceSource, runBytes?: number): void {
    const { book } = this.d;
    const entry = { source };
    book.inFlight.set(index, entry);
    const length = pieceLength(this.d.metadata, index);
    source
      .fetch(index, length, runBytes)
      .then(async (data) => {
        this.awaitingStorage++;
        try {
          await this.d.accept(index, source, data);
        } finally {
          this.awaitingStorage--;
        }
      })
      .catch(() => this.d.fetchFailed(source))
      .finally(() => {
        // Taken back (takeBack) and asked again of another source: that request is not this one's.
        if (book.inFlight.get(index) === entry) book.inFlight.delete(index);
        if (book.have.complete) this.d.finish();
        else this.pump();
      });
  }
}
