/**
 * One content's download and seeding: the scheduler that asks sources for pieces, the
 * verification of every piece before it is stored or served, strikes and bans, and the
 * whole-file SHA-256, fed as pieces are stored and finished at the end.
 *
 * Every await can return into a stopped download: each continuation checks `stopped`.
 *
 * Bandwidth (DO's controls, `DownloadOptions.bandwidth`): CDN requests are paced by the
 * client's bucket for this download's priority, uploads by its upload bucket (PeerSession);
 * peers are never throttled on download. A background download waits `httpDelayBackgroundMs`
 * for peers, but while peers deliver less than `minBackgroundBytesPerSec` it tops up from the
 * CDN at the difference before that delay is over.
 */
import type { Bandwidth, BandwidthRegistration, Priority } from './bandwidth.js';
import { Bitfield } from './bitfield.js';
import { ALONE, cdnShareOf, type CdnShare } from './cdn-share.js';
import { CdnSource, type CdnPacing } from './cdn-source.js';
import { peeringModeOf, resolveConfig, type ClientConfig } from './config.js';
import { Emitter } from './emitter.js';
import { TabswarmError, isTabswarmError } from './errors.js';
import { verifiedPieceReader } from './verify-stored.js';
import { PeerSession } from './peer-session.js';
import { pickForCdn, pickRarest, type PickState } from './piece-picker.js';
import type { PieceSource } from './piece-source.js';
import type { Hasher, HttpRange, PeerConnector, PeerLink, PieceStore, Signaling } from './ports.js';
import { RateLimiter } from './rate-limiter.js';
import { DownloadStats, type StatsSnapshot } from './stats.js';
import { Swarm, type BannedAddresses } from './swarm.js';
import { WholeFileHash } from './whole-file.js';
import { fromHex, toHex } from '../protocol/hex.js';
import { pieceCountOf, pieceLength, type Metadata } from '../protocol/metadata.js';

export type DownloadState = 'idle' | 'downloading' | 'verifying' | 'complete' | 'failed' | 'stopped';

export interface DownloadOptions {
  contentId: string;
  metadata: Metadata;
  /** This tab's peer ID (32 hex characters). */
  peerId: string;
  cdnUrls: readonly string[];
  hasher: Hasher;
  store: PieceStore;
  http: HttpRange;
  /** Absent (or `peering: false`): HTTP only. */
  signaling?: Signaling;
  connector?: PeerConnector;
  peering?: boolean;
  config?: Partial<ClientConfig>;
  /**
   * Set when the content could not be verified (DO's simple mode): why. Then the download is
   * HTTP only, pieces are stored apart from verified ones and never served, and there is no
   * hash to check them against.
   */
  simpleReason?: string;
  /**
   * The client's bandwidth controls, ONE object shared by all its downloads (createBandwidth).
   * Absent: nothing is limited and uploads are always allowed.
   */
  bandwidth?: Bandwidth;
  /**
   * The content is complete in the store and was verified whole when it completed (the piece
   * cache says so, docs/cache.md): start as a seeder without reading the whole file back.
   * Every piece is still re-hashed before it is served. Default false.
   */
  trustStored?: boolean;
  /**
   * The addresses of the peers the tab banned, shared by its downloads (LAN and group modes:
   * Swarm). Absent: each download keeps none.
   */
  bannedAddresses?: BannedAddresses;
}

/** What limits a download now (for a status report); rates in bytes per second, 0 = unlimited. */
export interface DownloadLimits {
  priority: Priority;
  /** The HTTP delay in effect (foreground or background). */
  httpDelayMs: number;
  /** The CDN cap of this download's priority, shared with the others of that priority. */
  cdnBytesPerSec: number;
  /** CDN traffic is stopped: background, yielding to a foreground download, with no minimum rate. */
  cdnPaused: boolean;
  /** The background top-up from the CDN in effect before the HTTP delay ends (0: none now). */
  topUpBytesPerSec: number;
  /** The upload cap in effect, shared by all downloads. */
  uploadBytesPerSec: number;
  uploadsAllowed: boolean;
  uploadsBlockedReason: string | undefined;
}

/**
 * A background download's top-up is decided on the peers' rate over this window (sliding), and
 * not before this long after the start.
 */
const TOP_UP_WINDOW_MS = 3000;
const TOP_UP_FIRST_CHECK_MS = 1500;
/** How often the top-up is re-evaluated while it may apply. */
const TOP_UP_CHECK_MS = 500;

export interface DownloadEvents extends Record<string, unknown> {
  state: DownloadState;
  /** A verified piece was stored. */
  piece: { index: number; source: string; kind: 'peer' | 'cdn' | 'store' };
  /** A piece failed verification and was discarded. */
  rejected: { index: number; source: string; reason: string };
  peer: { peerId: string; event: 'connected' | 'disconnected' | 'banned' | 'strike' | 'dropped'; reason?: string };
  /** All pieces are stored; the whole file is verified (unless `verified` is false: simple mode). */
  complete: { fileSha256: string; verified: boolean };
  error: TabswarmError;
}

export class Download {
  readonly contentId: string;
  readonly metadata: Metadata;
  readonly pieceCount: number;
  readonly events = new Emitter<DownloadEvents>();
  readonly stats = new DownloadStats();
  readonly have: Bitfield;
  /** Why this download is in simple mode (HTTP only, unverified); undefined when verified. */
  readonly simpleReason: string | undefined;
  /** Where its pieces are stored: the content ID, or a separate key space in simple mode. */
  readonly storageId: string;
  /** 'background' when `isBackground` (DO's IsBackground): longer HTTP delay, yields CDN bandwidth. */
  readonly priority: Priority;
  private readonly config: ClientConfig;
  private readonly contentIdBytes: Uint8Array;
  /** Pieces asked of a source and not yet settled; the entry's identity tells a request from a later one of the same piece. */
  private readonly inFlight = new Map<number, { source: PieceSource }>();
  /** The CDN share (cdnShare), kept while the set of peers it was computed for holds. */
  private share: CdnShare = ALONE;
  private shareKey = '';
  /** Sources whose copy of a piece failed verification: that piece is asked of someone else. */
  private readonly failedFrom = new Map<number, Set<string>>();
  /**
   * How many useful peers hold each piece (`useful`: ready, not lagging, trusted, not behind,
   * not slow). A piece held only by strangers, lagging, behind or slow peers counts as held by
   * nobody: the CDN (once the HTTP delay is over) and rarest-first treat it so.
   */
  private readonly availability: Uint16Array;
  /** The sessions whose pieces are counted in `availability`. */
  private readonly counted = new Set<PeerSession>();
  /**
   * Peers slower per piece than `slowPeerBytesPerSec` (with hysteresis: they leave the set
   * above 1.5 times that). Still asked for pieces, within their window; but the pieces only
   * they hold go to the CDN, so a slow peer does not set the download's pace.
   */
  private readonly slow = new Set<PeerSession>();
  /** Peers with a strike on evidence (not a dead channel): their ban is reported. As many as `stats`' peers. */
  private readonly accused = new Set<string>();
  private readonly sessions = new Map<string, PeerSession>();
  private readonly cdn: CdnSource | undefined;
  private readonly swarm: Swarm | undefined;
  private readonly startedAt = Date.now();
  private readonly httpDelayMs: number;
  private registration: BandwidthRegistration | undefined;
  /**
   * Background only: paces CDN requests made before the HTTP delay is over to the shortfall of
   * the peers' rate below `minBackgroundBytesPerSec`; paused while there is none, unlimited
   * once the delay is over.
   */
  private readonly topUp: RateLimiter | undefined;
  private topUpRate = 0;
  /** Bytes of verified peer pieces, with when they came: the peers' rate for the top-up. */
  private readonly peerArrivals: Array<{ at: number; bytes: number }> = [];
  /** pump() is running; and something asked for it meanwhile (it runs once more). */
  private pumping = false;
  private pumpAgain = false;
  /** The one pending wake-up of pump() (HTTP delay, CDN back-off, stalled peers), due at `wakeAt`. */
  private httpTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = 0;
  /** When the CDN was first allowed, and when a peer last delivered a piece (ms). */
  private cdnOpenedAt = 0;
  private lastPeerPieceAt = 0;
  private _state: DownloadState = 'idle';
  private stopped = false;
  private verifying = false;
  private _error: TabswarmError | undefined;
  private _fileSha256: string | undefined;
  /** The whole-file SHA-256, fed as pieces are stored; created when the download starts. */
  private wholeFile: WholeFileHash | undefined;

  constructor(private readonly opts: DownloadOptions) {
    this.contentId = opts.contentId;
    this.metadata = opts.metadata;
    this.simpleReason = opts.simpleReason;
    this.storageId = opts.simpleReason === undefined ? opts.contentId : `simple:${opts.contentId}`;
    this.config = resolveConfig(opts.config);
    this.pieceCount = pieceCountOf(opts.metadata.fileSize, opts.metadata.pieceSize);
    this.have = new Bitfield(this.pieceCount);
    this.availability = new Uint16Array(this.pieceCount);
    this.priority = this.config.isBackground ? 'background' : 'foreground';
    this.httpDelayMs = this.config.isBackground ? this.config.httpDelayBackgroundMs : this.config.httpDelayMs;
    const idBytes = fromHex(opts.contentId);
    if (!idBytes || idBytes.byteLength !== 32) throw new TabswarmError('metadata-invalid', 'content ID must be 64 hex characters');
    this.contentIdBytes = idBytes;
    const peeringMode = peeringModeOf(this.config.downloadMode) !== undefined;
    // DO's minimum file size to cache: smaller files come over HTTP only (still verified).
    const bigEnough = opts.metadata.fileSize >= this.config.minFileSizeToPeer;
    const peers = peeringMode && bigEnough && opts.peering !== false && opts.simpleReason === undefined && opts.signaling && opts.connector;
    if (peers && this.config.isBackground && this.config.minBackgroundBytesPerSec > 0) {
      this.topUp = new RateLimiter(0);
      this.topUp.setPaused(true);
    }
    this.cdn = opts.cdnUrls.length > 0 ? new CdnSource(opts.http, opts.cdnUrls, opts.metadata.pieceSize, this.config, this.cdnPacing()) : undefined;
    if (peers && opts.signaling && opts.connector) {
      this.swarm = new Swarm({
        contentId: opts.contentId,
        peerId: opts.peerId,
        signaling: opts.signaling,
        connector: opts.connector,
        config: this.config,
        report: () => this.report(),
        onLink: (link) => this.onLink(link),
        isComplete: () => this.have.complete,
        bannedAddresses: opts.bannedAddresses,
        onAddressBan: (peerId, where) => {
          const p = this.stats.peer(peerId);
          if (p.banned) return;
          p.banned = true;
          this.events.emit('peer', { peerId, event: 'banned', reason: `at the address of a banned peer (${where})` });
        },
        // A frame the channel cannot carry kills it: a violation like any malformed frame. The
        // ban it may bring is not reported, nor kept by address: a crashed browser's channel
        // dies the same way, and quarantine is for evidence that cannot be an accident.
        onLinkDied: (peerId, reason) => this.strike(peerId, `its data channel died (${reason})`, false),
      });
    }
  }

  get state(): DownloadState {
    return this._state;
  }

  get error(): TabswarmError | undefined {
    return this._error;
  }

  /** SHA-256 of the whole file once complete (in simple mode, computed but checked against nothing). */
  get fileSha256(): string | undefined {
    return this._fileSha256;
  }

  /** Pieces the whole-file hash had to read back from storage (0 when they came in order). */
  get wholeFileReadBacks(): number {
    return this.wholeFile?.readBacks ?? 0;
  }

  get peering(): boolean {
    return this.swarm !== undefined;
  }

  get bytesLeft(): number {
    let left = 0;
    for (let i = 0; i < this.pieceCount; i++) if (!this.have.has(i)) left += pieceLength(this.metadata, i);
    return left;
  }

  get connectedPeers(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.ready) n++;
    return n;
  }

  /** Indexes of the pieces asked of some source and not yet in (for the piece map). */
  inFlightPieces(): number[] {
    return [...this.inFlight.keys()];
  }

  snapshot(): StatsSnapshot {
    return this.stats.snapshot();
  }

  /** The limits this download is under now. */
  limits(): DownloadLimits {
    const bw = this.opts.bandwidth;
    const cdn = bw?.cdnLimit(this.priority) ?? { bytesPerSec: 0, paused: false };
    return {
      priority: this.priority,
      httpDelayMs: this.httpDelayMs,
      cdnBytesPerSec: cdn.bytesPerSec,
      cdnPaused: cdn.paused,
      topUpBytesPerSec: this.topUp && !this.topUp.isPaused ? this.topUp.bytesPerSec : 0,
      uploadBytesPerSec: bw?.limits().upload ?? 0,
      uploadsAllowed: bw?.uploadsAllowed() ?? true,
      uploadsBlockedReason: bw?.uploadsBlockedReason,
    };
  }

  /** Resumes from the store, joins the swarm and downloads what is missing. */
  async start(): Promise<void> {
    if (this._state !== 'idle') return;
    this.setState('downloading');
    try {
      const stored = await this.opts.store.list(this.storageId);
      if (this.stopped) return;
      for (const i of stored) if (i >= 0 && i < this.pieceCount && this.have.set(i)) this.stats.piecesFromStore++;
    } catch (e) {
      return this.fail(new TabswarmError('storage-error', `cannot read stored pieces: ${String(e)}`, { cause: e }));
    }
    this.wholeFile = new WholeFileHash(this.opts.hasher, this.pieceCount, (i) => this.readPiece(i), (i) => this.have.has(i));
    this.swarm?.start();
    if (this.have.complete && this.opts.trustStored === true && this.simpleReason === undefined) return this.completeFromStore();
    if (this.have.complete) return void this.finish();
    this.pump();
  }

  /** Leaves the swarm, cancels what is in flight and stops seeding. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.httpTimer);
    this.swarm?.stop();
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
    this.cdn?.abortAll();
    this.topUp?.close();
    this.registration?.close();
    this.wholeFile?.close();
    if (this._state !== 'complete' && this._state !== 'failed') this.setState('stopped');
  }

  /** Pieces whose stored copy failed its re-check: never served again in this session. */
  private readonly badStored = new Set<number>();
  private verifiedReader: ((index: number) => Promise<Uint8Array | undefined>) | undefined;
  /** Reads a stored piece for a peer, only if it still matches its SHA-256 (core/verify-stored.ts). */
  private readonly servePiece = (index: number): Promise<Uint8Array | undefined> => {
    this.verifiedReader ??= verifiedPieceReader({
      read: (i) => (this.badStored.has(i) ? Promise.resolve(undefined) : this.readPiece(i)),
      hasher: this.opts.hasher,
      expectedSha256: (i) => this.metadata.pieceSha256[i],
      onCorrupt: (i, reason) => {
        this.badStored.add(i);
        this.stats.rejected();
        this.events.emit('rejected', { index: i, source: 'store', reason });
        void this.opts.store.remove?.(this.storageId, i).catch(() => undefined);
      },
    });
    return this.verifiedReader(index);
  };

  /** Reads one verified piece (for assembly or upload). */
  readPiece(index: number): Promise<Uint8Array | undefined> {
    return this.opts.store.get(this.storageId, index);
  }

  private report() {
    const s = this.stats.snapshot();
    return {
      uploaded: s.bytesUploaded,
      downloaded: s.bytesFromPeers,
      downloadedCdn: s.bytesFromCdn,
      left: this.bytesLeft,
      peersWanted: Math.min(this.config.peersWanted, 50),
      isBackground: this.config.isBackground,
      uploadedBps: s.uploadBps,
      downloadBps: s.downloadBps,
    };
  }

  private setState(state: DownloadState): void {
    this._state = state;
    // Only a download that is fetching counts in the bandwidth registry (background yields to foreground).
    if (state === 'downloading') this.registration ??= this.opts.bandwidth?.register(this.priority);
    else {
      this.registration?.close();
      this.registration = undefined;
    }
    this.events.emit('state', state);
  }

  private fail(error: TabswarmError): void {
    this._error = error;
    this.setState('failed');
    this.events.emit('error', error);
    this.stop();
  }

  private onLink(link: PeerLink): void {
    if (this.stopped) return link.close();
    const session = new PeerSession(
      link,
      {
        contentId: this.contentIdBytes,
        pieceCount: this.pieceCount,
        pieceLength: (i) => pieceLength(this.metadata, i),
        have: this.have,
        // Served pieces are hashed again (docs/cache.md): the store may have changed since.
        readPiece: this.servePiece,
        uploads: this.opts.bandwidth,
      },
      // With no CDN there is nothing better to go to: a peer is waited for down to a quarter of
      // the minimum rate (a stalled one still is not).
      this.cdn ? this.config : { ...this.config, minPeerBytesPerSec: this.config.minPeerBytesPerSec / 4 },
    );
    this.sessions.set(session.id, session);
    const peerStats = this.stats.peer(session.id);
    // A peer that delivered verified pieces over an earlier link is no stranger.
    if (peerStats.piecesFrom > 0) session.pace.trust();
    peerStats.connected = true;
    this.events.emit('peer', { peerId: session.id, event: 'connected' });
    session.events.on('ready', () => {
      this.recount(session);
      if (this.dropIfBothSeeds(session)) return;
      this.pump();
    });
    session.events.on('have', (i) => {
      if (this.counted.has(session)) this.availability[i]!++;
      if (this.dropIfBothSeeds(session)) return;
      this.pump();
    });
    session.events.on('violation', (reason) => this.strike(session.id, reason));
    // A peer that refuses a piece (uploads off, storage failing) no longer holds it for us: the
    // piece may then come from the CDN.
    session.events.on('refused', (i) => {
      if (this.counted.has(session) && this.availability[i]! > 0) this.availability[i]!--;
      this.pump();
    });
    session.events.on('missed', ({ drop }) => {
      peerStats.timeouts++;
      if (drop) this.dropPeer(session, 'missed its deadlines');
    });
    session.events.on('uploaded', (bytes) => this.stats.uploaded(session.id, bytes));
    session.events.on('closed', () => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
      this.uncount(session);
      peerStats.connected = false;
      this.events.emit('peer', { peerId: session.id, event: 'disconnected' });
      this.pump();
    });
    session.start();
  }

  /** Counts (or stops counting) the session's pieces in `availability`, as its health says. */
  private recount(session: PeerSession): void {
    if (this.useful(session) && this.sessions.get(session.id) === session) {
      if (this.counted.has(session)) return;
      this.counted.add(session);
      for (let i = 0; i < this.pieceCount; i++) if (session.holds(i)) this.availability[i]!++;
    } else {
      this.uncount(session);
    }
  }

  /**
   * Healthy, trusted (it delivered a verified piece: a stranger's claims count for nothing yet),
   * not behind (its last deadline missed) and not slow (see `slow`).
   */
  private useful(session: PeerSession): boolean {
    if (!session.healthy || !session.pace.isTrusted) return false;
    // A peer that missed its last deadline (and completed nothing since) is asked again, but
    // what it holds goes to faster sources meanwhile.
    if (this.cdn && session.pace.missedLast) return false;
    const rate = session.pace.bytesPerSec;
    // No CDN to take over: nobody is too slow. A peer not measured yet is not slow.
    if (!this.cdn || rate === 0) return !this.slow.has(session);
    const threshold = this.config.slowPeerBytesPerSec;
    if (rate < threshold) this.slow.add(session);
    else if (rate > 1.5 * threshold) this.slow.delete(session);
    return !this.slow.has(session);
  }

  private uncount(session: PeerSession): void {
    this.slow.delete(session);
    if (!this.counted.delete(session)) return;
    for (let i = 0; i < this.pieceCount; i++) if (session.holds(i) && this.availability[i]! > 0) this.availability[i]!--;
  }

  /**
   * Drops a peer whose missed deadlines halved its window to nothing: the link is closed, and
   * the swarm will not link to it again for a while (Swarm.drop). Not a strike: slow is not
   * dishonest.
   */
  private dropPeer(session: PeerSession, reason: string): void {
    if (this.stopped || this.sessions.get(session.id) !== session) return;
    this.stats.peer(session.id).drops++;
    this.events.emit('peer', { peerId: session.id, event: 'dropped', reason });
    if (this.swarm) this.swarm.drop(session.id);
    else session.close();
  }

  /**
   * A strike against a peer; at `strikesToBan` it is banned for this content, and a stranger
   * (no verified piece from it yet) at `strangerStrikesToBan`. `accuse` false (a dead channel):
   * the ban is this tab's alone (Swarm.ban), unless an earlier strike was evidence (a bad piece).
   */
  private strike(peerId: string, reason: string, accuse = true): void {
    const p = this.stats.peer(peerId);
    if (p.banned) return;
    p.strikes++;
    if (accuse) this.accused.add(peerId);
    this.events.emit('peer', { peerId, event: 'strike', reason });
    const stranger = p.piecesFrom === 0;
    if (p.strikes >= (stranger ? this.config.strangerStrikesToBan : this.config.strikesToBan)) {
      p.banned = true;
      this.swarm?.ban(peerId, this.accused.has(peerId));
      this.sessions.get(peerId)?.close();
      this.events.emit('peer', { peerId, event: 'banned', reason });
    }
  }

  private pickState(): PickState {
    return { pieceCount: this.pieceCount, have: this.have, inFlight: this.inFlight, availability: this.availability };
  }

  /**
   * Fills every free request slot; called whenever something changes. Never re-entered: what it
   * does (dropping a peer, say) can emit events whose handlers call it again, and a nested pass
   * would pick the piece the outer one is about to ask for; the outer pass runs again instead.
   */
  private pump(): void {
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

  private pumpOnce(): void {
    if (this.stopped || this._state !== 'downloading' || this.have.complete) return;
    this.checkPace();
    const state = this.pickState();
    const peers = [...this.sessions.values()].filter((s) => s.healthy).sort((a, b) => a.pace.misses - b.pace.misses);
    const share = this.cdnShare();
    // Alone, pieces come in order (see pickRarest); with others, from a random start.
    const order = share.size === 1 ? () => 0 : Math.random;
    for (const session of peers) {
      while (session.freeSlots() > 0) {
        const usable = (k: number) => session.has(k) && !this.failedFrom.get(k)?.has(session.id);
        let i = pickRarest(state, usable, order);
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
    if (!this.cdn) return;
    const now = Date.now();
    const httpDelayLeft = this.swarm ? this.startedAt + this.httpDelayMs - now : 0;
    // Timers may fire a millisecond before Date.now() says they are due: re-arm, never assume.
    if (httpDelayLeft > 0) {
      this.wakeIn(httpDelayLeft);
      if (this.topUp && this.updateTopUp(now)) this.pumpCdn(this.cdn, state, share, now, true);
    } else {
      this.endTopUp();
      this.pumpCdn(this.cdn, state, share, now);
    }
  }

  /**
   * Re-evaluates which peers lag (PeerPace): a peer that starts lagging stops counting in
   * `availability`, one that completed a piece counts again. Wakes the scheduler when the next
   * peer may start lagging.
   */
  private checkPace(): void {
    let next = Infinity;
    for (const session of this.sessions.values()) {
      if (!session.ready) continue;
      session.checkPace();
      if (this.useful(session) !== this.counted.has(session)) this.recount(session);
      next = Math.min(next, session.nextPaceCheckAt());
    }
    if (next < Infinity) this.wakeIn(next - Date.now());
  }

  /**
   * A piece that a lagging peer (a stranger, with `strangers`) still owes us and `usable`
   * accepts; -1 if none. Only what it owes: a piece whose bytes came and are being verified is
   * in flight still, and must not be asked again.
   */
  private laggingRequest(usable: (index: number) => boolean, strangers: boolean): number {
    for (const [i, { source }] of this.inFlight) {
      if (!(source instanceof PeerSession) || !source.ready || !source.pace.isLagging || !source.owes(i)) continue;
      if ((!strangers || !source.pace.isTrusted) && usable(i)) return i;
    }
    return -1;
  }

  /**
   * A piece in flight with a lagging peer that `usable` accepts, taken back from that peer (a
   * CANCEL) so that the caller can ask another source; -1 if none. One source per piece still
   * holds: the lagging peer's copy is dropped if it comes after all.
   */
  private takeBack(usable: (index: number) => boolean, strangers = false): number {
    const i = this.laggingRequest(usable, strangers);
    const from = i < 0 ? undefined : this.inFlight.get(i)?.source;
    if (!(from instanceof PeerSession)) return -1;
    this.inFlight.delete(i);
    from.reassign(i);
    return i;
  }

  /**
   * Whether nothing is left to ask for but what is in flight: every missing piece is asked of
   * someone, or can be asked of no one now (no ready peer that does not lag, and had no piece
   * taken back just now, holds it, and it is not ours to fetch from the CDN). Then a request a
   * lagging peer holds up stands between the download and its end, and it is worth taking
   * back. Before, the other sources have other work, and taking pieces back from peers that
   * pause (a busy machine) would only move the load to the CDN. ("Every missing piece in
   * flight" is not enough: two tabs that each asked a staller for a piece of their own CDN
   * share each waited for the other's, which neither could ask anyone for, until the
   * staller's deadline.)
   */
  private endgame(): boolean {
    const now = Date.now();
    const askable = [...this.sessions.values()].filter((s) => s.healthy && !s.pace.isCooling(now));
    const share = this.cdn ? this.share : undefined;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have.has(i) || this.inFlight.has(i)) continue;
      if (share?.ours(i)) return false;
      for (const s of askable) if (s.has(i) && !this.failedFrom.get(i)?.has(s.id)) return false;
    }
    return true;
  }

  /**
   * CDN pacing: the top-up's bucket (background, before the HTTP delay ends), then the
   * client's bucket for this priority. Undefined when neither exists: no pacing at all.
   */
  private cdnPacing(): CdnPacing | undefined {
    const bandwidth = this.opts.bandwidth;
    const topUp = this.topUp;
    if (!bandwidth && !topUp) return undefined;
    const capped = (bytes: number, signal: AbortSignal) => bandwidth?.takeCdn(this.priority, bytes, signal);
    return {
      take: (bytes, signal) => {
        const first = topUp?.take(bytes, signal);
        return first ? first.then(() => capped(bytes, signal)) : capped(bytes, signal);
      },
      ready: () => this.pump(),
    };
  }

  /**
   * Sets the background top-up from the peers' rate over the last few seconds: the CDN makes
   * up what they deliver below `minBackgroundBytesPerSec`, so peers and CDN together come to
   * about that. True while topping up.
   */
  private updateTopUp(now: number): boolean {
    const topUp = this.topUp!;
    const elapsed = now - this.startedAt;
    if (elapsed < TOP_UP_FIRST_CHECK_MS) {
      this.wakeIn(TOP_UP_FIRST_CHECK_MS - elapsed);
      return false;
    }
    this.wakeIn(TOP_UP_CHECK_MS);
    const from = Math.max(this.startedAt, now - TOP_UP_WINDOW_MS);
    while (this.peerArrivals.length > 0 && this.peerArrivals[0]!.at < from) this.peerArrivals.shift();
    let bytes = 0;
    for (const a of this.peerArrivals) bytes += a.bytes;
    const peerRate = (bytes * 1000) / Math.max(1, now - from);
    const shortfall = this.config.minBackgroundBytesPerSec - peerRate;
    // Below 5% of the minimum it is not worth a request.
    if (shortfall < 0.05 * this.config.minBackgroundBytesPerSec) {
      this.topUpRate = 0;
      topUp.setPaused(true);
      return false;
    }
    // Re-time the bucket only on a real change: every setRate would refill it.
    if (Math.abs(shortfall - this.topUpRate) > 0.05 * this.config.minBackgroundBytesPerSec) {
      this.topUpRate = shortfall;
      topUp.setRate(shortfall);
    }
    topUp.setPaused(false);
    return true;
  }

  /** The HTTP delay is over: the top-up's bucket no longer limits anything. */
  private endTopUp(): void {
    if (!this.topUp || (this.topUp.bytesPerSec === 0 && !this.topUp.isPaused)) return;
    this.topUpRate = 0;
    this.topUp.setRate(0);
    this.topUp.setPaused(false);
  }

  /** Runs pump() again after `ms`, unless a wake-up is already due sooner. */
  private wakeIn(ms: number): void {
    const at = Date.now() + Math.max(1, ms);
    if (this.httpTimer !== undefined && this.wakeAt <= at) return;
    clearTimeout(this.httpTimer);
    this.wakeAt = at;
    this.httpTimer = setTimeout(() => {
      this.httpTimer = undefined;
      this.pump();
    }, at - Date.now());
  }

  /**
   * The CDN's share. Tabs downloading together split the pieces no peer holds (each piece has
   * one owner among the downloading peers we see: `cdnShare`), so each piece crosses the CDN
   * about once and the rest is traded. Pieces of another tab's share go to the CDN only when
   * peers have delivered nothing for `peerStallMs` (the owner stalled or is unreachable), and
   * then only those no peer holds (see `heldByNoPeer`), or when we are alone.
   */
  private pumpCdn(cdn: CdnSource, state: PickState, { ours, size }: CdnShare, now: number, topUp = false): void {
    if (this.cdnOpenedAt === 0) this.cdnOpenedAt = now;
    if (cdn.retryInMs() > 0) this.wakeIn(cdn.retryInMs());
    const quietSince = Math.max(this.cdnOpenedAt, this.lastPeerPieceAt);
    const peersStalled = now - quietSince >= this.config.peerStallMs;
    while (cdn.freeSlots() > 0) {
      const inOrder = size === 1;
      let i = pickForCdn(state, ours, { inOrder });
      if (i < 0 && (inOrder || topUp)) i = pickForCdn(state, undefined, { inOrder });
      // Peers stalled: another tab's share too, but only what no peer holds.
      if (i < 0 && peersStalled) i = pickForCdn(state, this.heldByNoPeer);
      // A top-up makes up for slow peers: it may take a piece they hold (not one asked of them).
      if (i < 0 && topUp) i = pickForCdn(state, undefined, { inOrder, evenIfHeld: true });
      // Waiting for bandwidth holds a slot, not a piece: ask again (pick afresh) when it passes.
      if (i >= 0 && !cdn.admit(pieceLength(this.metadata, i))) continue;
      // Nothing else for the CDN, in the endgame: it takes over what a lagging peer was asked for.
      if (i < 0) {
        const lagging = this.endgame() ? this.laggingRequest(() => true, false) : -1;
        if (lagging < 0) break;
        if (!cdn.admit(pieceLength(this.metadata, lagging))) continue;
        i = this.takeBack((k) => k === lagging);
      }
      if (i < 0) break;
      this.request(i, cdn);
    }
    if (size > 1 && !peersStalled) this.wakeIn(quietSince + this.config.peerStallMs - now);
  }

  /**
   * Whether no linked peer holds the piece, but for those that missed their last deadline and
   * strangers that lag (trusted peers that lag, and slow ones, count: an overloaded machine
   * pauses every tab at once, and each tab fetching what the others hold would fetch it once
   * per tab; a stranger that claims pieces and falls silent, or sends under the minimum rate,
   * must not keep them from the CDN until its deadline). Peers that have stalled take over
   * another tab's share of the CDN only for such pieces.
   */
  private readonly heldByNoPeer = (index: number): boolean => {
    for (const s of this.sessions.values()) {
      if (!s.ready || s.pace.missedLast || (s.pace.isLagging && !s.pace.isTrusted)) continue;
      if (s.holds(index)) return false;
    }
    return true;
  };

  /**
   * Our share of the CDN's pieces (cdn-share.ts) among the peers downloading this content with
   * us: those connected and still missing pieces, and those the Arrays service listed last as
   * downloading (links take seconds to come up on a busy machine, and tabs that each think
   * they are alone all fetch everything; a young swarm announces after 1, 2 and 4 s, so the
   * list soon has everyone). Not counted: a peer listed as a seeder, whatever bitfield it
   * shows us (a staller would otherwise hold a share for `peerStallMs`), and a peer that
   * offered a link but is not listed, until that link is up (a liar that comes back under new
   * IDs leaves links that never open behind it; counting them, two tabs each left up to 8
   * phantom shares of the file for the CDN to fetch after `peerStallMs`).
   */
  private cdnShare(): CdnShare {
    const ids = new Set([this.opts.peerId, ...(this.swarm?.listedDownloaders() ?? [])]);
    for (const s of this.sessions.values()) {
      if (!s.ready) continue;
      // Listed as downloading, but it has finished since; or listed as a seeder, and showing us
      // less than everything (a staller that tells each peer another story).
      if (s.remoteHave.complete || this.swarm?.listedAsSeeder(s.id)) ids.delete(s.id);
      else ids.add(s.id);
    }
    const key = [...ids].sort().join(',');
    if (key !== this.shareKey) {
      this.shareKey = key;
      this.share = cdnShareOf(this.opts.peerId, ids, this.pieceCount);
    }
    return this.share;
  }

  private request(index: number, source: PieceSource): void {
    const entry = { source };
    this.inFlight.set(index, entry);
    const length = pieceLength(this.metadata, index);
    source
      .fetch(index, length)
      .then((data) => this.accept(index, source, data))
      .catch(() => this.onFetchError(source))
      .finally(() => {
        // Taken back (takeBack) and asked again of another source: that request is not this one's.
        if (this.inFlight.get(index) === entry) this.inFlight.delete(index);
        if (this.have.complete) void this.finish();
        else this.pump();
      });
  }

  /** Verifies a piece from exactly one source, then stores it and tells the peers. */
  private async accept(index: number, source: PieceSource, data: Uint8Array): Promise<void> {
    if (this.stopped || this.have.has(index)) return;
    if (data.byteLength !== pieceLength(this.metadata, index)) {
      return this.reject(index, source, `piece ${index} has ${data.byteLength} bytes`);
    }
    let bytes = data;
    if (this.simpleReason === undefined) {
      const result = await this.opts.hasher.digest(data);
      bytes = result.data;
      if (this.stopped || this.have.has(index)) return;
      if (toHex(result.digest) !== this.metadata.pieceSha256[index]) {
        return this.reject(index, source, `piece ${index} failed SHA-256 verification`);
      }
    }
    try {
      bytes = await this.opts.store.put(this.storageId, index, bytes);
    } catch (e) {
      return this.fail(new TabswarmError('storage-error', `cannot store piece ${index}: ${String(e)}`, { cause: e }));
    }
    if (this.stopped || !this.have.set(index)) return;
    this.stats.received(source.kind, source.id, bytes.byteLength);
    this.wholeFile?.stored(index, bytes); // gives `bytes` away
    if (source.kind === 'cdn') this.cdn?.reportSuccess();
    if (source.kind === 'peer') {
      this.lastPeerPieceAt = Date.now();
      this.sessions.get(source.id)?.verified();
      // (`bytes` was given away above: its length is the piece's.)
      if (this.topUp && this.lastPeerPieceAt < this.startedAt + this.httpDelayMs) {
        this.peerArrivals.push({ at: this.lastPeerPieceAt, bytes: pieceLength(this.metadata, index) });
      }
    }
    this.events.emit('piece', { index, source: source.id, kind: source.kind });
    for (const s of this.sessions.values()) s.announceHave(index);
    if (this.have.complete) for (const s of [...this.sessions.values()]) this.dropIfBothSeeds(s);
  }

  /**
   * Closes a link between two seeds: neither has anything to give the other, and each link
   * holds one of `maxPeers` slots on both sides that a newcomer needs (a classroom of 30 filled
   * every seed's slots with other seeds, and late receivers found no seed to link to).
   */
  private dropIfBothSeeds(session: PeerSession): boolean {
    if (!this.have.complete || !session.ready || !session.remoteHave.complete || this.stopped) return false;
    if (this.swarm) this.swarm.release(session.id);
    else session.close();
    return true;
  }

  private reject(index: number, source: PieceSource, reason: string): void {
    this.stats.rejected();
    let failed = this.failedFrom.get(index);
    if (!failed) this.failedFrom.set(index, (failed = new Set()));
    failed.add(source.id);
    this.events.emit('rejected', { index, source: source.id, reason });
    if (source.kind === 'cdn') this.cdnFailed();
    else this.strike(source.id, reason);
  }

  /**
   * A request failed. The CDN backs off. A stalled, slow or refusing peer is not a liar: its
   * session counted the miss and asks it for less (PeerPace); nothing is struck here.
   */
  private onFetchError(source: PieceSource): void {
    if (!this.stopped && source.kind === 'cdn') this.cdnFailed();
  }

  /** A CDN request failed or its bytes were wrong: count it, back off, and come back then. */
  private cdnFailed(): void {
    this.stats.cdnError();
    this.cdn?.reportFailure();
    if (this.cdn) this.wakeIn(this.cdn.retryInMs());
  }

  /** Complete without the whole-file read (`trustStored`): a cached, already verified content, now seeded. */
  private completeFromStore(): void {
    this._fileSha256 = this.metadata.fileSha256;
    this.setState('complete');
    this.events.emit('complete', { fileSha256: this.metadata.fileSha256, verified: true });
    this.swarm?.announce();
  }

  private async finish(): Promise<void> {
    if (this.verifying || this.stopped || this._state === 'complete') return;
    this.verifying = true;
    this.setState('verifying');
    try {
      if (!this.wholeFile) throw new TabswarmError('storage-error', 'the whole-file check never started');
      const fileSha256 = await this.wholeFile.finish();
      if (this.stopped) return;
      const verified = this.simpleReason === undefined;
      if (verified && fileSha256 !== this.metadata.fileSha256) {
        return this.fail(new TabswarmError('file-hash-mismatch', `the assembled file's SHA-256 is ${fileSha256}, expected ${this.metadata.fileSha256}`));
      }
      this._fileSha256 = fileSha256;
      this.setState('complete');
      this.events.emit('complete', { fileSha256, verified });
      this.swarm?.announce();
    } catch (e) {
      this.fail(isTabswarmError(e) ? e : new TabswarmError('storage-error', `whole-file check failed: ${String(e)}`, { cause: e }));
    } finally {
      this.verifying = false;
    }
  }
}
