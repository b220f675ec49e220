/**
 * One peer's side of the wire protocol over an open PeerLink: the handshake, what the remote
 * holds, and the frames dispatched to the two halves: our requests to it (peer-session/
 * receiving.ts, a PieceSource paced by PeerPace) and its requests to us (peer-session/
 * uploading.ts, bounded by UploadBudget). docs/protocol.md §4 is the contract.
 *
 * Every incoming message is decoded with bounds checks first (protocol/wire.ts); anything
 * malformed or out of protocol is reported as a 'violation' (the download turns it into a
 * strike) and ignored.
 */
import type { UploadGate } from './bandwidth.js';
import { Bitfield } from './bitfield.js';
import { systemClock, type Clock } from './clock.js';
import type { ClientConfig } from './config.js';
import { Emitter } from './emitter.js';
import { PeerPace, type PaceConfig } from './peer-pace.js';
import type { PeerLink, PieceSource } from './ports.js';
import { UploadBudget, type UploadBudgetConfig } from './upload-budget.js';
import { PieceReceiver, type SessionWire } from './peer-session/receiving.js';
import { PieceUploader } from './peer-session/uploading.js';
import { decodeFrame, encodeHandshake, type Frame, type WireContext, WIRE_VERSION } from '../protocol/wire.js';
import type { BufferPool } from './buffer-pool.js';
import type { FirstCopies } from './first-copies.js';
import type { UploadTurns } from './upload-turns.js';

export type PeerSessionConfig = PaceConfig & UploadBudgetConfig & Pick<ClientConfig, 'wireChunkBytes' | 'sendBufferHighBytes' | 'maxIncomingRequests'>;

/** What a session needs from its download. */
export interface PeerSessionContext extends WireContext {
  contentId: Uint8Array;
  /** Our own verified pieces. */
  have: Bitfield;
  /** Reads one of our verified pieces for upload. */
  readPiece(index: number): Promise<Uint8Array | undefined>;
  /** The client's upload controls; absent: uploads always allowed, never throttled. */
  uploads?: UploadGate;
  /** Time and timers (the simulator's, in simulated time). @default systemClock */
  clock?: Clock;
  /** Time in ms; overrides `clock.now` (a test's). @default the clock's now */
  now?: () => number;
  /** Where requested pieces are assembled (core/buffer-pool.ts); absent: a new buffer each. */
  buffers?: BufferPool;
  /** The download's upload turns (core/upload-turns.ts); absent: this session sends whenever asked. */
  turns?: UploadTurns;
  /** The download's first copies (core/first-copies.ts): sent first. */
  firstCopies?: FirstCopies;
}

export interface PeerSessionEvents extends Record<string, unknown> {
  /** Handshake and bitfield received: the session can be asked for pieces. */
  ready: undefined;
  /** The remote announced a new piece. */
  have: number;
  /** The remote broke the protocol; the frame was ignored. */
  violation: string;
  /** The remote refused a piece it had announced: it is no longer a holder of it for us. */
  refused: number;
  /** A request passed its deadline and was cancelled. `drop`: the peer's window is down to nothing. */
  missed: { index: number; drop: boolean };
  /** We sent piece bytes to the remote (one event per chunk). */
  uploaded: number;
  closed: undefined;
}

export class PeerSession implements PieceSource {
  readonly kind = 'peer' as const;
  readonly id: string;
  readonly events = new Emitter<PeerSessionEvents>();
  /** Pieces the remote holds, as it announced them. */
  readonly remoteHave: Bitfield;
  /** How much we ask of the remote and how long we wait for it. */
  readonly pace: PeerPace;
  /** What the remote may make us upload. */
  readonly budget: UploadBudget;
  private readonly now: () => number;
  private readonly receiver: PieceReceiver;
  private readonly uploader: PieceUploader;
  private started = false;
  private gotHandshake = false;
  private gotBitfield = false;
  private closed = false;
  private readonly offs: Array<() => void> = [];

  constructor(
    private readonly link: PeerLink,
    private readonly ctx: PeerSessionContext,
    config: PeerSessionConfig,
  ) {
    this.id = link.remoteId;
    const clock = ctx.clock ?? systemClock;
    this.now = ctx.now ?? (() => clock.now());
    this.remoteHave = new Bitfield(ctx.pieceCount);
    this.pace = new PeerPace(config);
    this.budget = new UploadBudget(ctx.pieceCount, config, this.now());
    const isClosed = () => this.closed;
    const wire: SessionWire = {
      send: (frame) => this.sendFrame(frame),
      violation: (reason) => this.events.emit('violation', reason),
      get closed() {
        return isClosed();
      },
      now: this.now,
    };
    const buffers = ctx.buffers;
    const newBuffer = buffers ? (length: number) => new Uint8Array(buffers.take(length)) : (length: number) => new Uint8Array(length);
    this.receiver = new PieceReceiver(this.id, wire, this.pace, this.remoteHave, ctx.pieceLength, newBuffer, {
      refused: (index) => this.events.emit('refused', index),
      missed: (index, drop) => this.events.emit('missed', { index, drop }),
    }, clock);
    this.uploader = new PieceUploader(wire, link, ctx, config, this.budget, this.remoteHave, (bytes) => this.events.emit('uploaded', bytes));
  }

  /**
   * Sends our handshake and bitfield, then starts taking the remote's messages. Call it after
   * subscribing to `events`: the link may hold early messages that are delivered at once, and
   * their 'ready' must not be lost.
   */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.sendFrame(encodeHandshake(this.ctx.contentId, this.ctx.pieceCount));
    this.uploader.sendBitfield();
    this.offs.push(
      this.link.on('close', () => this.destroy()),
      this.link.on('drain', () => this.uploader.drained()),
      this.link.on('message', (m) => this.onMessage(m)),
      this.link.on('malformed', (what) => this.events.emit('violation', `${what}: frames are binary`)),
    );
    if (this.ctx.uploads) {
      this.offs.push(this.ctx.uploads.onUploadsChanged((allowed) => (allowed ? this.announceHeld() : this.uploader.refuseQueued())));
    }
  }

  get ready(): boolean {
    return this.gotBitfield && !this.closed;
  }

  /**
   * Whether to ask this peer for `index` now. Not while a copy we cancelled may still be on its
   * way (peer-session/receiving.ts).
   */
  has(index: number): boolean {
    return this.ready && this.holds(index) && !this.receiver.cancelled.has(index);
  }

  /** Whether the remote announced `index` and has not refused it (ready or not: for availability counts). */
  holds(index: number): boolean {
    return this.remoteHave.has(index) && !this.receiver.refused.has(index);
  }

  /** Ready and not lagging: its pieces count as available, and it may be asked for more. */
  get healthy(): boolean {
    return this.ready && !this.pace.isLagging;
  }

  freeSlots(): number {
    if (!this.healthy || this.pace.isCooling(this.now())) return 0;
    return Math.max(0, this.pace.limit(this.ctx.pieceLength(0)) - this.receiver.size);
  }

  /** Requests currently outstanding with this peer. */
  get inFlight(): number {
    return this.receiver.size;
  }

  /** Whether `index` is asked of this peer and not yet answered. */
  owes(index: number): boolean {
    return this.receiver.owes(index);
  }

  /** Bytes it still owes us, in the order asked, up to and including piece `through` (all when absent). */
  owedBytes(through?: number): number {
    return this.receiver.owedBytes(through);
  }

  /** The remote's requests queued here, in order, and the piece going out to it (-1: none). */
  uploadState(): { queued: readonly number[]; sending: number } {
    return this.uploader.state();
  }

  /** Re-evaluates whether the peer lags (PeerPace); true when that changed. */
  checkPace(): boolean {
    return this.pace.check(this.now(), this.receiver.size);
  }

  /** When `checkPace` should run next (ms since epoch; Infinity: not needed). */
  nextPaceCheckAt(): number {
    return this.pace.nextCheckAt(this.now(), this.receiver.size);
  }

  fetch(index: number, length: number): Promise<Uint8Array> {
    return this.receiver.fetch(index, length);
  }

  /** Takes a request back to ask another source (peer-session/receiving.ts). */
  reassign(index: number, lagged = true): void {
    this.receiver.reassign(index, lagged);
  }

  /** A piece from this peer passed verification: its window grows (at once for a `server`: PeerPace), and it is no stranger. */
  verified(server = false): void {
    this.pace.verified(server);
  }

  /** Tells the remote we now hold `index` (not while uploads are off: then it is told once they are on). */
  announceHave(index: number): void {
    if (this.gotHandshake) this.uploader.announceHave(index);
  }

  close(): void {
    this.link.close();
    this.destroy();
  }

  private announceHeld(): void {
    if (!this.closed && this.gotHandshake) this.uploader.announceHeld();
  }

  private destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    this.receiver.close();
    this.uploader.close();
    this.events.emit('closed', undefined);
  }

  private sendFrame(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      this.link.send(frame);
    } catch {
      this.close();
    }
  }

  private onMessage(bytes: Uint8Array): void {
    if (this.closed) return;
    const decoded = decodeFrame(bytes, this.ctx);
    if (!decoded.ok) return this.events.emit('violation', decoded.reason);
    const frame = decoded.frame;
    if (!this.gotHandshake && frame.type !== 'handshake') return this.events.emit('violation', `${frame.type} before handshake`);
    if (this.gotHandshake && !this.gotBitfield && frame.type !== 'bitfield' && frame.type !== 'handshake') {
      return this.events.emit('violation', `${frame.type} before bitfield`);
    }
    this.handle(frame);
  }

  private handle(frame: Frame): void {
    switch (frame.type) {
      case 'handshake':
        return this.onHandshake(frame);
      case 'bitfield':
        return this.onBitfield(frame.bits);
      case 'have':
        // A repeated HAVE changes nothing and costs nothing: ignored.
        if (this.remoteHave.set(frame.index)) {
          this.receiver.refused.delete(frame.index);
          this.events.emit('have', frame.index);
        }
        return;
      case 'request':
        return this.uploader.onRequest(frame.index);
      case 'cancel':
        return this.uploader.onCancel(frame.index);
      case 'reject':
        return this.receiver.onReject(frame.index);
      case 'piece':
        return this.receiver.onPiece(frame.index, frame.offset, frame.data);
    }
  }

  private onHandshake(frame: Extract<Frame, { type: 'handshake' }>): void {
    if (this.gotHandshake) return this.events.emit('violation', 'second handshake');
    if (frame.version !== WIRE_VERSION) return this.failHandshake(`unsupported wire version ${frame.version}`);
    if (frame.pieceCount !== this.ctx.pieceCount || !equalBytes(frame.contentId, this.ctx.contentId)) {
      return this.failHandshake('handshake names other content');
    }
    this.gotHandshake = true;
    // Pieces stored between our bitfield and this handshake were not announced yet.
    this.announceHeld();
  }

  private onBitfield(bytes: Uint8Array): void {
    if (this.gotBitfield) return this.events.emit('violation', 'second bitfield');
    const bits = new Bitfield(this.ctx.pieceCount, bytes);
    for (let i = 0; i < this.ctx.pieceCount; i++) if (bits.has(i)) this.remoteHave.set(i);
    this.gotBitfield = true;
    this.events.emit('ready', undefined);
  }

  private failHandshake(reason: string): void {
    this.events.emit('violation', reason);
    this.close();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
