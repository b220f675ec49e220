/**
 * One peer's side of the wire protocol over an open PeerLink: the handshake, what the remote
 * holds, our requests to it (as a PieceSource) and its requests to us (the upload side).
 *
 * Every incoming message is decoded with bounds checks first; anything malformed or out of
 * protocol is reported as a 'violation' (the download turns it into a strike) and ignored.
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
import type { PieceSource } from './piece-source.js';
import type { PeerLink } from './ports.js';
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

export type PeerSessionConfig = Pick<
  ClientConfig,
  'wireChunkBytes' | 'sendBufferHighBytes' | 'maxIncomingRequests' | 'peerRequestsInFlight' | 'peerRequestTimeoutMs'
>;

/** What a session needs from its download. */
export interface PeerSessionContext extends WireContext {
  contentId: Uint8Array;
  /** Our own verified pieces. */
  have: Bitfield;
  /** Reads one of our verified pieces for upload. */
  readPiece(index: number): Promise<Uint8Array | undefined>;
  /** The client's upload controls; absent: uploads always allowed, never throttled. */
  uploads?: UploadGate;
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
  /** We sent piece bytes to the remote (one event per chunk). */
  uploaded: number;
  closed: undefined;
}

interface PendingRequest {
  index: number;
  buffer: Uint8Array;
  received: number;
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
  /** Lower is better; stalls raise it. The scheduler asks better peers first. */
  penalty = 0;
  private readonly refused = new Set<number>();
  private readonly pending = new Map<number, PendingRequest>();
  /** When the remote last sent piece data (ms). */
  private lastDataAt = 0;
  /**
   * Pieces we cancelled after a timeout: the remote may already be sending them, so their
   * chunks are dropped, not taken as unrequested. Bounded by the pieces we ever request.
   */
  private readonly cancelled = new Set<number>();
  /** The piece whose chunks are arriving: a sender sends one piece's chunks back to back. */
  private receiving: PendingRequest | undefined;
  private readonly uploadQueue: number[] = [];
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
    this.remoteHave = new Bitfield(ctx.pieceCount);
    this.announced = new Bitfield(ctx.pieceCount);
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
   * way: a new request would be indistinguishable from the old transfer, whose late chunks
   * would then look out of order (an honest peer struck, and banned at three). The piece is
   * askable again once that copy's last chunk or a REJECT has come.
   */
  has(index: number): boolean {
    return this.ready && this.remoteHave.has(index) && !this.refused.has(index) && !this.cancelled.has(index);
  }

  /** Whether the remote announced `index` and has not refused it (ready or not: for availability counts). */
  holds(index: number): boolean {
    return this.remoteHave.has(index) && !this.refused.has(index);
  }

  freeSlots(): number {
    return this.ready ? Math.max(0, this.config.peerRequestsInFlight - this.pending.size) : 0;
  }

  /** Requests currently outstanding with this peer. */
  get inFlight(): number {
    return this.pending.size;
  }

  fetch(index: number, length: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TabswarmError('peer-gone', `peer ${this.id} is gone`));
    if (this.pending.has(index)) return Promise.reject(new TabswarmError('protocol-violation', `piece ${index} already requested`));
    if (this.cancelled.has(index)) return Promise.reject(new TabswarmError('protocol-violation', `piece ${index} was cancelled and may still arrive: ask another source`));
    return new Promise<Uint8Array>((resolve, reject) => {
      const request: PendingRequest = { index, buffer: new Uint8Array(length), received: 0, resolve, reject, timer: undefined };
      // A peer is stalled when it has sent no piece data at all for the timeout, not when one
      // request waits long: requests are served one after another, and a busy machine is slow.
      const check = (): void => {
        const silentFor = Date.now() - Math.max(this.lastDataAt, requestedAt);
        if (silentFor < this.config.peerRequestTimeoutMs) {
          request.timer = setTimeout(check, this.config.peerRequestTimeoutMs - silentFor);
          return;
        }
        this.pending.delete(index);
        this.cancelled.add(index);
        this.penalty++;
        this.sendFrame(encodeCancel(index));
        reject(new TabswarmError('timeout', `peer ${this.id} sent nothing for ${Math.round(silentFor / 1000)} s`));
      };
      const requestedAt = Date.now();
      request.timer = setTimeout(check, this.config.peerRequestTimeoutMs);
      this.pending.set(index, request);
      this.sendFrame(encodeRequest(index));
    });
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
    for (const index of this.uploadQueue.splice(0)) this.sendFrame(encodeReject(index));
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
    this.handle(frame);
  }

  private handle(frame: Frame): void {
    switch (frame.type) {
      case 'handshake': {
        if (this.gotHandshake) return this.violation('second handshake');
        if (frame.version !== WIRE_VERSION) return this.failHandshake(`unsupported wire version ${frame.version}`);
        if (frame.pieceCount !== this.ctx.pieceCount || !equalBytes(frame.contentId, this.ctx.contentId)) {
          return this.failHandshake('handshake names other content');
        }
        this.gotHandshake = true;
        // Pieces stored between our bitfield and this handshake were not announced yet.
        this.announceHeld();
        return;
      }
      case 'bitfield': {
        if (this.gotBitfield) return this.violation('second bitfield');
        const bits = new Bitfield(this.ctx.pieceCount, frame.bits);
        for (let i = 0; i < this.ctx.pieceCount; i++) if (bits.has(i)) this.remoteHave.set(i);
        this.gotBitfield = true;
        this.events.emit('ready', undefined);
        return;
      }
      case 'have': {
        if (this.remoteHave.set(frame.index)) {
          this.refused.delete(frame.index);
          if (this.gotBitfield) this.events.emit('have', frame.index);
        }
        return;
      }
      case 'request': {
        if (!this.ctx.have.has(frame.index)) {
          // We announce every piece we hold and never drop one, so an honest peer only asks for
          // pieces we hold: anything else is a probe or a flood.
          this.sendFrame(encodeReject(frame.index));
          return this.violation(`request for piece ${frame.index}, which we never announced`);
        }
        // Uploads off: refuse, which is no fault of the remote (it may have asked before our
        // uploads went off).
        if (!this.uploadsAllowed()) return this.sendFrame(encodeReject(frame.index));
        if (this.uploadQueue.length >= this.config.maxIncomingRequests) {
          this.sendFrame(encodeReject(frame.index));
          return this.violation('too many outstanding requests');
        }
        this.uploadQueue.push(frame.index);
        void this.pumpUploads();
        return;
      }
      case 'cancel': {
        const at = this.uploadQueue.indexOf(frame.index);
        if (at >= 0) this.uploadQueue.splice(at, 1);
        if (frame.index === this.sendingIndex) this.sendingCancelled = true;
        return;
      }
      case 'reject': {
        const p = this.pending.get(frame.index);
        if (!p && this.cancelled.delete(frame.index)) return; // answered after we gave up
        if (!p) return this.violation(`reject for piece ${frame.index} never requested`);
        this.finish(p);
        if (!this.refused.has(frame.index)) {
          this.refused.add(frame.index);
          if (this.remoteHave.has(frame.index)) this.events.emit('refused', frame.index);
        }
        p.reject(new TabswarmError('peer-rejected', `peer ${this.id} refused piece ${frame.index}`));
        return;
      }
      case 'piece': {
        this.lastDataAt = Date.now();
        const p = this.pending.get(frame.index);
        if (!p && this.cancelled.has(frame.index)) {
          if (frame.offset + frame.data.byteLength >= this.ctx.pieceLength(frame.index)) this.cancelled.delete(frame.index);
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
        if (!p) return this.violation(`piece ${frame.index} was never requested`);
        if (frame.offset !== p.received) {
          this.finish(p);
          p.reject(new TabswarmError('protocol-violation', `piece ${frame.index} chunk at ${frame.offset}, expected ${p.received}`));
          return this.violation(`piece ${frame.index} chunk out of order`);
        }
        p.buffer.set(frame.data, frame.offset);
        p.received += frame.data.byteLength;
        if (p.received === p.buffer.byteLength) {
          this.finish(p);
          p.resolve(p.buffer);
        } else {
          this.receiving = p;
        }
        return;
      }
    }
  }

  private failHandshake(reason: string): void {
    this.violation(reason);
    this.close();
  }

  private finish(p: PendingRequest): void {
    clearTimeout(p.timer);
    this.pending.delete(p.index);
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
        const ahead = this.readAhead;
        this.readAhead = undefined;
        const data = await (ahead?.index === index ? ahead.data : this.read(index));
        if (this.closed) return;
        const next = this.uploadQueue[0];
        if (next !== undefined) this.readAhead = { index: next, data: this.read(next) };
        if (!data) {
          this.sendFrame(encodeReject(index));
          continue;
        }
        if (!(await this.sendPiece(index, data))) return;
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
    this.sendingIndex = index;
    this.sendingCancelled = false;
    for (let off = 0; off < data.byteLength; off += chunk) {
      const end = Math.min(off + chunk, data.byteLength);
      if (this.closed) return false;
      if (gate) {
        if (this.sendingCancelled) return true;
        if (!gate.uploadsAllowed()) {
          this.sendFrame(encodeReject(index));
          return true;
        }
        const wait = gate.takeUpload(end - off, this.uploadAbort.signal);
        if (wait) {
          try {
            await wait;
          } catch {
            return false; // aborted: the session closed
          }
          if (this.closed) return false;
          if (this.sendingCancelled) return true;
          if (!gate.uploadsAllowed()) {
            this.sendFrame(encodeReject(index));
            return true;
          }
        }
      }
      this.sendFrame(encodePiece(index, off, data.subarray(off, end)));
      this.events.emit('uploaded', end - off);
    }
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
