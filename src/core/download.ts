/**
 * One content's download and seeding: the front that builds its parts (src/core/download/)
 * and runs its life (start, stop, the whole-file check, failure). The parts share one piece
 * book (what we have, what is in flight, who holds what, who failed what):
 * - scheduler.ts asks sources for pieces (peers rarest first, the CDN's share, the endgame);
 * - intake.ts verifies every piece before it is stored, and blames the source of a bad one;
 * - peer-pool.ts holds the peer sessions, strikes and bans;
 * - serving.ts re-verifies a stored piece before it goes to a peer;
 * - top-up.ts is a background download's CDN top-up; newcomer-room.ts lets a link go for a newcomer.
 * The whole-file SHA-256 is fed as pieces are stored and finished at the end. Every await can
 * return into a stopped download: each continuation checks `stopped`.
 *
 * Bandwidth (DO's controls, `DownloadOptions.bandwidth`): CDN requests are paced by the
 * client's bucket for this download's priority, uploads by its upload bucket (PeerSession);
 * peers are never throttled on download. A background download waits `httpDelayBackgroundMs`
 * for peers, but while peers deliver less than `minBackgroundBytesPerSec` it tops up from the
 * CDN at the difference before that delay is over.
 */
import type { BandwidthRegistration, Priority } from './bandwidth.js';
import type { Bitfield } from './bitfield.js';
import { CdnSource } from './cdn-source.js';
import { systemClock, type Clock } from './clock.js';
import { peeringModeOf, resolveConfig, type ClientConfig } from './config.js';
import type { StreamConfig } from './config-stream.js';
import { Emitter } from './emitter.js';
import { TabswarmError, isTabswarmError } from './errors.js';
import type { PieceFile, PieceLayout } from './ports.js';
import { DownloadStats, type StatsSnapshot } from './stats.js';
import { Swarm } from './swarm.js';
import { openPieceFile } from './piece-file.js';
import { checkRoom } from './storage-room.js';
import { cdnPacing } from './download/cdn-pacing.js';
import { Deadlines, type PieceDeadline } from './download/deadlines.js';
import { Intake } from './download/intake.js';
import { PeerPool } from './download/peer-pool.js';
import { diagnosticsOf } from './download/diagnostics.js';
import { linkToDropFor } from './download/newcomer-room.js';
import { PieceBook } from './download/piece-book.js';
import { progressReport } from './download/progress-report.js';
import { Scheduler } from './download/scheduler.js';
import { pieceServer } from './download/serving.js';
import { TopUp } from './download/top-up.js';
import type { DownloadDiagnostics, DownloadEvents, DownloadLimits, DownloadOptions, DownloadState } from './download/types.js';
import { fromHex } from '../protocol/hex.js';
import { pieceCountOf, pieceLength, type Metadata } from '../protocol/metadata.js';

export type { DownloadDiagnostics, DownloadEvents, DownloadLimits, DownloadOptions, DownloadState } from './download/types.js';

export class Download {
  readonly contentId: string;
  readonly metadata: Metadata;
  readonly pieceCount: number;
  readonly events = new Emitter<DownloadEvents>();
  readonly stats: DownloadStats;
  readonly have: Bitfield;
  /** Why this download is in simple mode (HTTP only, unverified); undefined when verified. */
  readonly simpleReason: string | undefined;
  /** Where its pieces are stored: the content ID, or a separate key space in simple mode. */
  readonly storageId: string;
  /** 'background' when `isBackground` (DO's IsBackground): longer HTTP delay, yields CDN bandwidth. */
  readonly priority: Priority;
  private readonly config: ClientConfig;
  private readonly book: PieceBook;
  private readonly pool: PeerPool;
  private readonly scheduler: Scheduler;
  private readonly cdn: CdnSource | undefined;
  private readonly swarm: Swarm | undefined;
  /** Background only, with a minimum rate: the CDN top-up before the HTTP delay is over. */
  private readonly topUp: TopUp | undefined;
  /** Players' deadlines (a service worker's streams): their pieces go first (deadlines.ts). */
  private readonly deadlines: Deadlines;
  private readonly startedAt: number;
  private readonly clock: Clock;
  private readonly httpDelayMs: number;
  private registration: BandwidthRegistration | undefined;
  private _state: DownloadState = 'idle';
  private stopped = false;
  private verifying = false;
  private _error: TabswarmError | undefined;
  private _fileSha256: string | undefined;
  /** The content's pieces, open once `start` has read what is stored. */
  private file: PieceFile | undefined;
  /** Settles `fileOpened` (with undefined if the store cannot be opened or the download stops first). */
  private settleOpened!: (file: PieceFile | undefined) => void;
  private readonly fileOpened = new Promise<PieceFile | undefined>((resolve) => (this.settleOpened = resolve));

  constructor(private readonly opts: DownloadOptions) {
    this.startedAt = (this.clock = opts.clock ?? systemClock).now();
    this.stats = new DownloadStats((peerId) => this.swarm?.isCacheNode(peerId) === true, this.clock);
    this.contentId = opts.contentId;
    this.metadata = opts.metadata;
    this.simpleReason = opts.simpleReason;
    this.storageId = opts.simpleReason === undefined ? opts.contentId : `simple:${opts.contentId}`;
    const config = (this.config = resolveConfig(opts.config));
    this.pieceCount = pieceCountOf(opts.metadata.fileSize, opts.metadata.pieceSize);
    const book = (this.book = new PieceBook(this.pieceCount));
    this.deadlines = new Deadlines(this.pieceCount);
    this.have = book.have;
    this.priority = config.isBackground ? 'background' : 'foreground';
    this.httpDelayMs = config.isBackground ? config.httpDelayBackgroundMs : config.httpDelayMs;
    const contentIdBytes = fromHex(opts.contentId);
    if (!contentIdBytes || contentIdBytes.byteLength !== 32) throw new TabswarmError('metadata-invalid', 'content ID must be 64 hex characters');
    const peeringMode = peeringModeOf(config.downloadMode) !== undefined;
    // DO's minimum file size to cache: smaller files come over HTTP only (still verified).
    const bigEnough = opts.metadata.fileSize >= config.minFileSizeToPeer;
    const peers = peeringMode && bigEnough && opts.peering !== false && opts.simpleReason === undefined && opts.signaling && opts.connector;
    if (peers && config.isBackground && config.minBackgroundBytesPerSec > 0) this.topUp = new TopUp(config, this.startedAt, this.httpDelayMs, this.clock);
    const pacing = cdnPacing(opts.bandwidth, this.topUp, this.priority, () => this.scheduler.pump());
    this.cdn = opts.cdnUrls.length > 0 ? new CdnSource(opts.http, opts.cdnUrls, opts.metadata.pieceSize, config, pacing, this.clock) : undefined;
    const isStopped = () => this.stopped;
    const common = { book, stats: this.stats, events: this.events, metadata: opts.metadata, clock: this.clock, cdn: this.cdn, topUp: this.topUp };
    const pool = (this.pool = new PeerPool({
      ...common,
      config,
      contentIdBytes,
      hasCdn: this.cdn !== undefined,
      swarm: () => this.swarm,
      servePiece: pieceServer({ ...common, file: () => this.file }),
      uploads: opts.bandwidth,
      buffers: opts.buffers,
      isStopped,
    }));
    const intake = new Intake({
      ...common,
      pool,
      simpleReason: opts.simpleReason,
      file: () => this.file,
      fileOpened: () => this.fileOpened,
      playerWants: (index) => this.deadlines.names(index, this.clock.now()),
      isStopped,
      fail: (e) => this.fail(e),
      wakeIn: (ms) => this.scheduler.wakeIn(ms),
    });
    this.scheduler = new Scheduler({
      ...common,
      pool,
      swarm: () => this.swarm,
      config,
      peerId: opts.peerId,
      startedAt: this.startedAt,
      httpDelayMs: this.httpDelayMs,
      deadlines: this.deadlines,
      isActive: () => !this.stopped && this._state === 'downloading',
      accept: intake.accept,
      fetchFailed: intake.fetchFailed,
      finish: () => void this.finish(),
    });
    book.onChanged(() => this.scheduler.pump());
    if (peers && opts.signaling && opts.connector) {
      this.swarm = new Swarm({
        ...{ contentId: opts.contentId, peerId: opts.peerId, signaling: opts.signaling, connector: opts.connector },
        clock: this.clock,
        config,
        report: () => progressReport(this.stats.snapshot(), this.bytesLeft, config),
        onLink: (link) => pool.link(link),
        isComplete: () => book.have.complete,
        onListed: (granted) => this.scheduler.listed(granted),
        makeRoomFor: linkToDropFor({ config, clock: this.clock, swarm: () => this.swarm, sessions: () => pool.sessions.values(), isCache: (s) => pool.isCache(s), have: book.have, bytesLeft: () => this.bytesLeft }),
        bannedAddresses: opts.bannedAddresses,
        onAddressBan: (peerId, where) => pool.bannedByAddress(peerId, where),
        // A frame the channel cannot carry kills it: a violation like any malformed frame. The
        // ban it may bring is not reported, nor kept by address: a crashed browser's channel
        // dies the same way, and quarantine is for evidence that cannot be an accident.
        onLinkDied: (peerId, reason) => pool.strike(peerId, `its data channel died (${reason})`, false),
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
    return this.file?.readBacks ?? 0;
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
    return this.pool.connectedCount;
  }

  /** Indexes of the pieces asked of some source and not yet in (for the piece map). */
  inFlightPieces(): number[] {
    return [...this.book.inFlight.keys()];
  }

  /** What the scheduler waits on, in plain data (a stalled download's evidence). */
  diagnostics(): DownloadDiagnostics {
    return diagnosticsOf(this._state, this.book, this.pool);
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
      topUpBytesPerSec: this.topUp?.bytesPerSec ?? 0,
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
      const layout = this.layout();
      if (this.opts.room && this.opts.trustStored !== true) {
        await checkRoom(this.opts.room, this.opts.store, this.storageId, layout, this.config.persistStorageFromBytes, undefined, this.clock);
        if (this.stopped) return;
      }
      const file = await openPieceFile(this.opts.store, this.opts.hasher, this.storageId, layout);
      if (this.stopped) return file.close();
      this.file = file;
      for (const i of await file.list()) if (i >= 0 && i < this.pieceCount && this.have.set(i)) this.stats.piecesFromStore++;
      this.settleOpened(file);
      if (this.stopped) return;
    } catch (e) {
      return this.fail(isTabswarmError(e) ? e : new TabswarmError('storage-error', `cannot open stored pieces: ${String(e)}`, { cause: e }));
    }
    this.swarm?.start();
    if (this.have.complete && this.opts.trustStored === true && this.simpleReason === undefined) return this.completeFromStore();
    if (this.have.complete) return void this.finish();
    this.scheduler.pump();
  }

  /** Leaves the swarm, cancels what is in flight and stops seeding. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.stop();
    this.swarm?.stop();
    this.pool.closeAll();
    this.cdn?.abortAll();
    this.topUp?.close();
    this.registration?.close();
    this.file?.close();
    this.settleOpened(undefined);
    if (this._state !== 'complete' && this._state !== 'failed') this.setState('stopped');
  }

  /**
   * What player `key` needs and by when (replacing what it said before): those pieces go first,
   * to the CDN before the HTTP delay if no peer can deliver one in time (scheduler.ts). Lapses
   * after `streamDeadlineTtlMs` unless set again; an empty list clears it.
   */
  setDeadlines(key: string, pieces: readonly PieceDeadline[]): void {
    this.deadlines.set(key, pieces, this.clock.now(), this.config.streamDeadlineTtlMs);
    this.scheduler.pump();
  }

  /** The player settings this download runs with (config-stream.ts). */
  get streamConfig(): StreamConfig {
    return this.config;
  }

  /**
   * A stored piece was read and failed its SHA-256 (a player's stream found it): it is
   * dropped, counted as rejected from 'store', and fetched again.
   */
  storedPieceCorrupt(index: number): void {
    // While verifying, the whole-file check finds it (dropChangedPieces).
    if (this.stopped || !this.file || !this.have.has(index) || this._state === 'verifying') return;
    this.have.unset(index);
    this.stats.rejected();
    this.events.emit('rejected', { index, source: 'store', reason: `stored piece ${index} no longer matches its SHA-256` });
    void this.file.remove(index).catch(() => undefined);
    if (this._state === 'complete') this.setState('downloading');
    this.scheduler.pump();
  }

  /** Reads one verified piece (for assembly or upload). */
  async readPiece(index: number): Promise<Uint8Array | undefined> {
    const read = await (this.file ? this.file.read(index) : Promise.resolve(undefined));
    return read && 'bytes' in read ? read.bytes : undefined;
  }

  /** Which store holds this download's pieces ('opfs', 'indexeddb', 'memory'), once started. */
  get storeKind(): string | undefined {
    return this.file?.kind;
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

  /** Complete without the whole-file read (`trustStored`): a cached, already verified content, now seeded. */
  private completeFromStore(): void {
    this._fileSha256 = this.metadata.fileSha256;
    this.setState('complete');
    this.events.emit('complete', { fileSha256: this.metadata.fileSha256, verified: true });
    this.swarm?.announce();
  }

  private layout(): PieceLayout {
    return { pieceCount: this.pieceCount, pieceSize: this.metadata.pieceSize, fileSize: this.metadata.fileSize };
  }

  /**
   * After a whole-file mismatch: hashes every stored piece again, forgets those that no longer
   * match (counted as rejected, from 'store'), re-opens the file (a fresh whole-file hash) and
   * goes back to downloading. False if no piece was found changed (then the download fails).
   */
  private async dropChangedPieces(): Promise<boolean> {
    const file = this.file!;
    const changed: number[] = [];
    for (let i = 0; i < this.pieceCount && !this.stopped; i++) {
      const read = await file.read(i, this.metadata.pieceSha256[i]);
      if ('corrupt' in read) {
        changed.push(i);
        await file.remove(i);
        this.stats.rejected();
        this.events.emit('rejected', { index: i, source: 'store', reason: read.corrupt });
      }
    }
    if (this.stopped) return true; // stopped meanwhile: nothing left to decide
    if (changed.length === 0) return false;
    file.close();
    this.file = await openPieceFile(this.opts.store, this.opts.hasher, this.storageId, this.layout());
    if (this.stopped) {
      this.file.close();
      return true;
    }
    for (const i of changed) this.have.unset(i);
    this.setState('downloading');
    this.scheduler.pump();
    return true;
  }

  private async finish(): Promise<void> {
    if (this.verifying || this.stopped || this._state === 'complete') return;
    this.verifying = true;
    this.setState('verifying');
    try {
      if (!this.file) throw new TabswarmError('storage-error', 'the whole-file check never started');
      const fileSha256 = await this.file.fileSha256();
      if (this.stopped) return;
      const verified = this.simpleReason === undefined;
      if (verified && fileSha256 !== this.metadata.fileSha256) {
        // Every piece was verified when it came in: a stored one changed since (on disk, or by
        // another page of the origin). Find it, drop it and fetch it again.
        if (await this.dropChangedPieces()) return;
        return this.fail(new TabswarmError('file-hash-mismatch', `the assembled file's SHA-256 is ${fileSha256}, expected ${this.metadata.fileSha256}`));
      }
      this._fileSha256 = fileSha256;
      this.setState('complete');
      this.events.emit('complete', { fileSha256, verified });
      this.swarm?.announce();
    } catch (e) {
      // A download stopped during the check closed its file: that is no failure.
      if (this.stopped) return;
      this.fail(isTabswarmError(e) ? e : new TabswarmError('storage-error', `whole-file check failed: ${String(e)}`, { cause: e }));
    } finally {
      this.verifying = false;
    }
  }
}
