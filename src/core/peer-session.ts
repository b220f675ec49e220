/**
 * One peer's side of the wire protocol over an open PeerLink: the handshake, what the remote
 * holds, our requests to it (as a PieceSource, paced by PeerPace) and its requests to us (the
 * upload side, bounded by UploadBudget). docs/protocol.md §4 is the contract.
 *
 * Every incoming message is decoded with bounds checks first; anything malformed or out of
 * protocol is reported as a 'violation' (the download turns it into a strike) and ignored.
 *
 * Receiving: each request has a deadline (PeerPace); past it the request is cancelled, the
 * piece goes back to the pool and the peer has a miss ('missed'). The scheduler may also take
 * a request back (`reassign`) to ask another source. A cancelled piece is not asked of this
 * peer again until the remote has answered the CANCEL (a REJECT) or its last chunk has come:
 * a new request would be indistinguishable from the old transfer.
 *
 * Uploads go through the optional `UploadGate` (bandwidth.ts): each chunk takes its bytes from
 * the upload bucket before it is sent. While uploads are not allowed we announce nothing (an
 * empty bitfield if the session starts so, no HAVEs) and answer every request with REJECT;
 * when they are allowed again, the pieces not yet announced are announced with HAVEs.
 */
import { LIMITS } from '../protocol/limits.js';
import type { UploadGate } from './bandwidth.js';
import { Bitfield } from './bitfield.js';
import type { ClientConfig } from './config.js';
import { Emitter } from './emitter.js';
import { TabswarmError } from './errors.js';
import { PeerPace, type PaceConfig } from './peer-pace.js';
import type { PeerLink, PieceSource } from './ports.js';
import { UploadBudget, type UploadBudgetConfig } from './upload-budget.js';
import {
  decodeFrame,
  encodeBitfield,
  encodeHandshake,
  encodePiece,
  encodeReject,
  encodeRequest,
  encodeCancel,
  encodeHave,
  type Frame,
  type WireContext,
  WIRE_VERSION,
} from '../protocol/wire.js';

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
  /** Time in ms (Date.now by default). */
  now?: () => number;
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

interface PendingRequest {
  index: number;
  buffer: Uint8Array;
  received: number;
  sentAt: number;
  resolve(data: Uint8Array): void;
  reject(e: TabswarmError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
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
  private readonly refused = new Set<number>();
  private readonly pending = new Map<number, PendingRequest>();
  /**
   * Pieces we cancelled and whose end the remote has not confirmed yet (a REJECT, or the last
   * chunk): their chunks are dropped, not taken as unrequested. Bounded by the piece count.
   */
  private readonly cancelled = new Set<number>();
  /** The piece whose chunks are arriving: a sender sends one piece's chunks back to back. */
  private receiving: PendingRequest | undefined;
  private readonly uploadQueue: number[] = [];
  /** When each queued or outgoing piece was asked for (ms): a CANCEL soon after is churn. */
  private readonly askedAt = new Map<number, number>();
  private uploading = false;
  /** The piece whose chunks are going out, and whether the remote cancelled it meanwhile. */
  private sendingIndex = -1;
  private sendingCancelled = false;
  /** Pieces we told the remote we hold (bitfield and HAVEs). */
  private readonly announced: Bitfield;
  /** Aborts upload takes waiting for bandwidth when the session ends. */
  private readonly uploadAbort = new AbortController();
  /** The read of the piece at the head of `uploadQueue`, started while the one before is sent. */
  private readAhead: { index: number; data: Promise<Uint8Array | undefined> } | undefined;
  private started = false;
  private gotHandshake = false;
  private gotBitfield = false;
  private closed = false;
  private readonly offs: Array<() => void> = [];

  constructor(
    private readonly link: PeerLink,
    private readonly ctx: PeerSessionContext,
    private readonly config: PeerSessionConfig,
  ) {
    this.id = link.remoteId;
    this.now = ctx.now ?? Date.now;
    this.remoteHave = new Bitfield(ctx.pieceCount);
    this.announced = new Bitfield(ctx.pieceCount);
    this.pace = new PeerPace(config);
    this.budget = new UploadBudget(ctx.pieceCount, config, this.now());
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
    // With uploads off, an empty bitfield: honest peers then never ask us for anything.
    if (this.uploadsAllowed()) {
      for (let i = 0; i < this.ctx.pieceCount; i++) if (this.ctx.have.has(i)) this.announced.set(i);
    }
    this.sendFrame(encodeBitfield(this.announced.toBytes()));
    this.offs.push(
      this.link.on('close', () => this.destroy()),
      this.link.on('drain', () => void this.pumpUploads()),
      this.link.on('message', (m) => this.onMessage(m)),
      this.link.on('malformed', (what) => this.violation(`${what}: frames are binary`)),
    );
    if (this.ctx.uploads) {
      this.offs.push(this.ctx.uploads.onUploadsChanged((allowed) => (allowed ? this.announceHeld() : this.refuseQueued())));
    }
  }

  get ready(): boolean {
    return this.gotBitfield && !this.closed;
  }

  /**
   * Whether to ask this peer for `index` now. Not while a copy we cancelled may still be on its
   * way (see the module comment).
   */
  has(index: number): boolean {
    return this.ready && this.remoteHave.has(index) && !this.refused.has(index) && !this.cancelled.has(index);
  }

  /** Whether the remote announced `index` and has not refused it (ready or not: for availability counts). */
  holds(index: number): boolean {
    return this.remoteHave.has(index) && !this.refused.has(index);
  }

  /** Ready and not lagging: its pieces count as available, and it may be asked for more. */
  get healthy(): boolean {
    return this.ready && !this.pace.isLagging;
  }

  freeSlots(): number {
    if (!this.healthy || this.pace.isCooling(this.now())) return 0;
    return Math.max(0, this.pace.limit(this.ctx.pieceLength(0)) - this.pending.size);
  }

  /** Requests currently outstanding with this peer. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Whether `index` is asked of this peer and not yet answered. */
  owes(index: number): boolean {
    return this.pending.has(index);
  }

  /** Re-evaluates whether the peer lags (PeerPace); true when that changed. */
  checkPace(): boolean {
    return this.pace.check(this.now(), this.pending.size);
  }

  /** When `checkPace` should run next (ms since epoch; Infinity: not needed). */
  nextPaceCheckAt(): number {
    return this.pace.nextCheckAt(this.now(), this.pending.size);
  }

  fetch(index: number, length: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TabswarmError('peer-gone', `peer ${this.id} is gone`));
    if (this.pending.has(index)) return Promise.reject(new TabswarmError('protocol-violation', `piece ${index} already requested`));
    if (this.cancelled.has(index)) return Promise.reject(new TabswarmError('protocol-violation', `piece ${index} was cancelled and may still arrive: ask another source`));
    return new Promise<Uint8Array>((resolve, reject) => {
      const now = this.now();
      let owed = 0;
      for (const p of this.pending.values()) owed += p.buffer.byteLength - p.received;
      const request: PendingRequest = { index, buffer: new Uint8Array(length), received: 0, sentAt: now, resolve, reject, timer: undefined };
      const deadline = this.pace.deadline(now, owed, length);
      request.timer = setTimeout(() => this.expire(request, deadline), Math.max(0, deadline - now));
      this.pending.set(index, request);
      this.pace.sent(now, this.pending.size);
      this.sendFrame(encodeRequest(index));
    });
  }

  /**
   * Takes a request back to ask another source (the scheduler's steal): CANCEL, and the fetch
   * rejects with kind 'aborted'. Not a miss: the peer is asked for nothing more while it lags,
   * and it is dropped if its own deadlines pass.
   */
  reassign(index: number): void {
    const p = this.pending.get(index);
    if (!p) return;
    this.cancelRequest(p);
    this.pace.takenBack(this.now());
    p.reject(new TabswarmError('aborted', `piece ${index} taken back from peer ${this.id}, which lags`));
  }

  /** A piece from this peer passed verification: its window grows, and it is no stranger. */
  verified(): void {
    this.pace.verified();
  }

  /** Tells the remote we now hold `index` (not while uploads are off: then it is told once they are on). */
  announceHave(index: number): void {
    if (!this.gotHandshake || !this.uploadsAllowed() || !this.announced.set(index)) return;
    this.sendFrame(encodeHave(index));
  }

  close(): void {
    this.link.close();
    this.destroy();
  }

  private expire(p: PendingRequest, deadline: number): void {
    if (this.pending.get(p.index) !== p) return;
    // Timers may fire a little early: re-arm, never assume.
    const early = deadline - this.now();
    if (early > 0) {
      p.timer = setTimeout(() => this.expire(p, deadline), early);
      return;
    }
    // Judged before the cancel, which may leave nothing owed (and nothing to judge by).
    const drop = this.pace.miss(this.now());
    this.cancelRequest(p);
    const seconds = Math.round((this.now() - p.sentAt) / 100) / 10;
    p.reject(new TabswarmError('timeout', `peer ${this.id} sent ${p.received} of ${p.buffer.byteLength} bytes of piece ${p.index} in ${seconds} s`));
    this.events.emit('missed', { index: p.index, drop });
  }

  /** Forgets a pending request and tells the remote (CANCEL); its late chunks are then dropped. */
  private cancelRequest(p: PendingRequest): void {
    this.finish(p);
    this.cancelled.add(p.index);
    if (this.receiving === p) this.receiving = undefined;
    this.sendFrame(encodeCancel(p.index));
  }

  private destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TabswarmError('peer-gone', `peer ${this.id} left`));
    }
    this.pending.clear();
    this.uploadQueue.length = 0;
    this.askedAt.clear();
    this.readAhead = undefined;
    this.uploadAbort.abort();
    this.events.emit('closed', undefined);
  }

  private uploadsAllowed(): boolean {
    return this.ctx.uploads?.uploadsAllowed() ?? true;
  }

  /** Uploads are on again (or the handshake came): HAVE for every piece held and not yet announced. */
  private announceHeld(): void {
    if (this.closed || !this.gotHandshake || !this.uploadsAllowed()) return;
    for (let i = 0; i < this.ctx.pieceCount; i++) {
      if (this.ctx.have.has(i) && this.announced.set(i)) this.sendFrame(encodeHave(i));
    }
  }

  /** Uploads went off: refuse what is queued (the piece being sent is cut short by the pump). */
  private refuseQueued(): void {
    if (this.closed) return;
    for (const index of this.uploadQueue.splice(0)) {
      this.askedAt.delete(index);
      this.sendFrame(encodeReject(index));
    }
    this.readAhead = undefined;
  }

  private sendFrame(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      this.link.send(frame);
    } catch {
      this.close();
    }
  }

  private violation(reason: string): void {
    this.events.emit('violation', reason);
  }

  private onMessage(bytes: Uint8Array): void {
    if (this.closed) return;
    const decoded = decodeFrame(bytes, this.ctx);
    if (!decoded.ok) return this.violation(decoded.reason);
    const frame = decoded.frame;
    if (!this.gotHandshake && frame.type !== 'handshake') return this.violation(`${frame.type} before handshake`);
    if (this.gotHandshake && !this.gotBitfield && frame.type !== 'bitfield' && frame.type !== 'handshake') {
      return this.violation(`${frame.type} before bitfield`);
    }
    this.handle(frame);
  }

  private handle(frame: Frame): void {
    switch (frame.type) {
      case 'handshake':
        return this.onHandshake(frame);
      case 'bitfield': {
        if (this.gotBitfield) return this.violation('second bitfield');
        const bits = new Bitfield(this.ctx.pieceCount, frame.bits);
        for (let i = 0; i < this.ctx.pieceCount; i++) if (bits.has(i)) this.remoteHave.set(i);
        this.gotBitfield = true;
        this.events.emit('ready', undefined);
        return;
      }
      case 'have': {
        // A repeated HAVE changes nothing and costs nothing: ignored.
        if (this.remoteHave.set(frame.index)) {
          this.refused.delete(frame.index);
          this.events.emit('have', frame.index);
        }
        return;
      }
      case 'request':
        return this.onRequest(frame.index);
      case 'cancel':
        return this.onCancel(frame.index);
      case 'reject':
        return this.onReject(frame.index);
      case 'piece':
        return this.onPiece(frame.index, frame.offset, frame.data);
    }
  }

  private onHandshake(frame: Extract<Frame, { type: 'handshake' }>): void {
    if (this.gotHandshake) return this.violation('second handshake');
    if (frame.version !== WIRE_VERSION) return this.failHandshake(`unsupported wire version ${frame.version}`);
    if (frame.pieceCount !== this.ctx.pieceCount || !equalBytes(frame.contentId, this.ctx.contentId)) {
      return this.failHandshake('handshake names other content');
    }
    this.gotHandshake = true;
    // Pieces stored between our bitfield and this handshake were not announced yet.
    this.announceHeld();
  }

  private onRequest(index: number): void {
    if (!this.ctx.have.has(index)) {
      // We announce every piece we hold and never drop one, so an honest peer only asks for
      // pieces we hold: anything else is a probe or a flood.
      this.sendFrame(encodeReject(index));
      return this.violation(`request for piece ${index}, which we never announced`);
    }
    if (this.uploadQueue.includes(index) || this.sendingIndex === index) return this.violation(`second request for piece ${index}`);
    const refused = this.budget.request(index, this.remoteHave.has(index));
    if (refused !== undefined) {
      this.sendFrame(encodeReject(index));
      return this.violation(refused);
    }
    // Uploads off: refuse, which is no fault of the remote (it may have asked before our
    // uploads went off).
    if (!this.uploadsAllowed()) return this.sendFrame(encodeReject(index));
    if (this.uploadQueue.length >= this.config.maxIncomingRequests) {
      this.sendFrame(encodeReject(index));
      return this.violation('too many outstanding requests');
    }
    this.uploadQueue.push(index);
    this.askedAt.set(index, this.now());
    void this.pumpUploads();
  }

  /**
   * CANCEL: a queued request is dropped and a piece going out is cut at the next chunk; both are
   * answered with REJECT, so the remote knows the piece is over. A CANCEL for a piece already
   * sent whole or never asked changes nothing. Every CANCEL takes from the churn budget.
   */
  private onCancel(index: number): void {
    const asked = this.askedAt.get(index);
    const churn = this.budget.cancel(this.now(), asked === undefined ? undefined : this.now() - asked);
    const at = this.uploadQueue.indexOf(index);
    if (at >= 0) {
      this.uploadQueue.splice(at, 1);
      this.askedAt.delete(index);
      if (this.readAhead?.index === index) this.readAhead = undefined;
      this.sendFrame(encodeReject(index));
    } else if (index === this.sendingIndex) {
      this.sendingCancelled = true;
    }
    if (churn !== undefined) this.violation(churn);
  }

  private onReject(index: number): void {
    const p = this.pending.get(index);
    if (!p && this.cancelled.delete(index)) return; // the answer to our CANCEL
    if (!p) return this.violation(`reject for piece ${index} never requested`);
    this.finish(p);
    if (!this.refused.has(index)) {
      this.refused.add(index);
      if (this.remoteHave.has(index)) this.events.emit('refused', index);
    }
    p.reject(new TabswarmError('peer-rejected', `peer ${this.id} refused piece ${index}`));
  }

  private onPiece(index: number, offset: number, data: Uint8Array): void {
    const now = this.now();
    this.pace.data(now, data.byteLength);
    const p = this.pending.get(index);
    if (!p && this.cancelled.has(index)) {
      if (offset + data.byteLength >= this.ctx.pieceLength(index)) this.cancelled.delete(index);
      return; // a piece we gave up on, still arriving: not a lie
    }
    const partial = this.receiving;
    if (partial && partial !== p && this.pending.get(partial.index) === partial) {
      // Another piece started before this one was whole: it was cut short.
      this.finish(partial);
      partial.reject(new TabswarmError('piece-length-mismatch', `piece ${partial.index} ended after ${partial.received} bytes`));
      this.violation(`piece ${partial.index} truncated at ${partial.received} bytes`);
    }
    this.receiving = undefined;
    if (!p) return this.violation(`piece ${index} was never requested`);
    if (offset !== p.received) {
      this.finish(p);
      p.reject(new TabswarmError('protocol-violation', `piece ${index} chunk at ${offset}, expected ${p.received}`));
      return this.violation(`piece ${index} chunk out of order`);
    }
    p.buffer.set(data, offset);
    p.received += data.byteLength;
    if (p.received === p.buffer.byteLength) {
      this.finish(p);
      this.pace.complete(now, p.sentAt, p.buffer.byteLength, this.pending.size);
      p.resolve(p.buffer);
    } else {
      this.receiving = p;
    }
  }

  private failHandshake(reason: string): void {
    this.violation(reason);
    this.close();
  }

  private finish(p: PendingRequest): void {
    clearTimeout(p.timer);
    this.pending.delete(p.index);
    if (this.pending.size === 0) this.pace.idle();
  }

  /**
   * Sends queued pieces while the channel's buffer is under the high-water mark. The next
   * queued piece is read from storage while the current one goes out, so the channel does not
   * idle through a storage read. At most two pieces are in memory here. Each chunk first takes
   * its bytes from the upload bucket; a piece is cut short (REJECT) when uploads go off or the
   * remote cancels it while it goes out.
   */
  private async pumpUploads(): Promise<void> {
    if (this.uploading) return;
    this.uploading = true;
    try {
      while (!this.closed && this.uploadQueue.length > 0 && this.link.bufferedAmount < this.config.sendBufferHighBytes) {
        const index = this.uploadQueue.shift()!;
        // From here a CANCEL of `index` cuts it (it may come while the piece is read).
        this.sendingIndex = index;
        this.sendingCancelled = false;
        const ahead = this.readAhead;
        this.readAhead = undefined;
        const data = await (ahead?.index === index ? ahead.data : this.read(index));
        if (this.closed) return;
        const next = this.uploadQueue[0];
        if (next !== undefined) this.readAhead = { index: next, data: this.read(next) };
        // No data (our storage failed), or the remote has announced it since it asked: REJECT.
        if (!data || this.remoteHave.has(index) || this.sendingCancelled) {
          this.askedAt.delete(index);
          this.sendFrame(encodeReject(index));
          continue;
        }
        const ok = await this.sendPiece(index, data);
        this.askedAt.delete(index);
        if (!ok) return;
      }
    } finally {
      this.uploading = false;
      this.sendingIndex = -1;
    }
  }

  /** Sends one piece chunk by chunk; false when the session closed meanwhile. */
  private async sendPiece(index: number, data: Uint8Array): Promise<boolean> {
    const chunk = Math.max(1, Math.min(this.config.wireChunkBytes, LIMITS.maxWireChunk));
    const gate = this.ctx.uploads;
    let sent = 0;
    /** Ends the piece early with a REJECT (cancelled, or uploads went off): true, the session goes on. */
    const cut = (): boolean => {
      this.budget.ended(index, sent, false);
      this.sendFrame(encodeReject(index));
      return true;
    };
    for (let off = 0; off < data.byteLength; off += chunk) {
      const end = Math.min(off + chunk, data.byteLength);
      if (this.closed) return false;
      if (this.sendingCancelled) return cut();
      if (gate) {
        if (!gate.uploadsAllowed()) return cut();
        const wait = gate.takeUpload(end - off, this.uploadAbort.signal);
        if (wait) {
          try {
            await wait;
          } catch {
            return false; // aborted: the session closed
          }
          if (this.closed) return false;
          if (this.sendingCancelled || !gate.uploadsAllowed()) return cut();
        }
      }
      this.sendFrame(encodePiece(index, off, data.subarray(off, end)));
      sent += end - off;
      this.events.emit('uploaded', end - off);
    }
    this.budget.ended(index, sent, true);
    return !this.closed;
  }

  /** One of our pieces for upload; undefined when our storage fails (we then refuse, as for a piece we lack). */
  private read(index: number): Promise<Uint8Array | undefined> {
    return this.ctx.readPiece(index).catch(() => undefined);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
