/**
 * The receiving half of a peer session: our requests to the remote, each with a deadline
 * (PeerPace), the reassembly of the chunks that answer them, and what a REJECT or a late chunk
 * means. Past a deadline the request is cancelled, the piece goes back to the pool and the
 * peer has a miss. The scheduler may also take a request back (`reassign`) to ask another
 * source. A cancelled piece is not asked of this peer again until the remote has answered the
 * CANCEL (a REJECT) or its last chunk has come: a new request would be indistinguishable from
 * the old transfer.
 */
import type { Bitfield } from '../bitfield.js';
import { systemClock, type Clock } from '../clock.js';
import { TabswarmError } from '../errors.js';
import type { PeerPace } from '../peer-pace.js';
import { encodeCancel, encodeRequest } from '../../protocol/wire.js';

/** What both halves of a session use of it. */
export interface SessionWire {
  /** Sends one frame (nothing once the session is closed). */
  send(frame: Uint8Array): void;
  /** The remote broke the protocol: reported, and the frame ignored. */
  violation(reason: string): void;
  readonly closed: boolean;
  now(): number;
}

interface PendingRequest {
  index: number;
  /** The piece's length, bytes. */
  length: number;
  /**
   * Where its chunks are assembled: taken when the first chunk comes, not when the request is
   * sent (a tab has many requests out, and a piece-sized buffer each would sit empty meanwhile).
   */
  buffer: Uint8Array | undefined;
  received: number;
  sentAt: number;
  resolve(data: Uint8Array): void;
  reject(e: TabswarmError): void;
  timer: unknown;
}

export class PieceReceiver {
  /** Pieces the remote refused (REJECT) since it announced them. */
  readonly refused = new Set<number>();
  private readonly pending = new Map<number, PendingRequest>();
  /**
   * Pieces we cancelled and whose end the remote has not confirmed yet (a REJECT, or the last
   * chunk): their chunks are dropped, not taken as unrequested. Bounded by the piece count.
   */
  readonly cancelled = new Set<number>();
  /** The piece whose chunks are arriving: a sender sends one piece's chunks back to back. */
  private receiving: PendingRequest | undefined;

  constructor(
    private readonly id: string,
    private readonly wire: SessionWire,
    private readonly pace: PeerPace,
    private readonly remoteHave: Bitfield,
    private readonly pieceLength: (index: number) => number,
    /** A buffer for a requested piece, of exactly `length` bytes (its old contents are overwritten). */
    private readonly newBuffer: (length: number) => Uint8Array,
    private readonly events: { refused(index: number): void; missed(index: number, drop: boolean): void },
    /** The deadlines' timers (`wire.now` is their time). */
    private readonly clock: Clock = systemClock,
  ) {}

  /** Requests outstanding. */
  get size(): number {
    return this.pending.size;
  }

  owes(index: number): boolean {
    return this.pending.has(index);
  }

  /** Bytes still owed of the pending requests, in the order asked, up to and including `through` (all when absent). */
  owedBytes(through?: number): number {
    let owed = 0;
    for (const p of this.pending.values()) {
      owed += p.length - p.received;
      if (p.index === through) break;
    }
    return owed;
  }

  fetch(index: number, length: number): Promise<Uint8Array> {
    if (this.wire.closed) return Promise.reject(new TabswarmError('peer-gone', `peer ${this.id} is gone`));
    if (this.pending.has(index)) return Promise.reject(new TabswarmError('protocol-violation', `piece ${index} already requested`));
    if (this.cancelled.has(index)) return Promise.reject(new TabswarmError('protocol-violation', `piece ${index} was cancelled and may still arrive: ask another source`));
    return new Promise<Uint8Array>((resolve, reject) => {
      const now = this.wire.now();
      const owed = this.owedBytes();
      const request: PendingRequest = { index, length, buffer: undefined, received: 0, sentAt: now, resolve, reject, timer: undefined };
      const deadline = this.pace.deadline(now, owed, length);
      request.timer = this.clock.setTimeout(() => this.expire(request, deadline), Math.max(0, deadline - now));
      this.pending.set(index, request);
      this.pace.sent(now, this.pending.size);
      this.wire.send(encodeRequest(index));
    });
  }

  /**
   * Takes a request back to ask another source (the scheduler's steal): CANCEL, and the fetch
   * rejects with kind 'aborted'. Not a miss: the peer is asked for nothing more while it lags,
   * and it is dropped if its own deadlines pass. `lagged` false: taken for a player's deadline
   * that the peer would miss though it keeps its pace; a stranger is not cooled for that.
   */
  reassign(index: number, lagged = true): void {
    const p = this.pending.get(index);
    if (!p) return;
    this.cancelRequest(p);
    if (lagged) this.pace.takenBack(this.wire.now());
    p.reject(new TabswarmError('aborted', `piece ${index} taken back from peer ${this.id}${lagged ? ', which lags' : ' for a player'}`));
  }

  /** REJECT: the answer to our CANCEL, or a refusal of a piece it announced. */
  onReject(index: number): void {
    const p = this.pending.get(index);
    if (!p && this.cancelled.delete(index)) return; // the answer to our CANCEL
    if (!p) return this.wire.violation(`reject for piece ${index} never requested`);
    this.finish(p);
    if (!this.refused.has(index)) {
      this.refused.add(index);
      if (this.remoteHave.has(index)) this.events.refused(index);
    }
    p.reject(new TabswarmError('peer-rejected', `peer ${this.id} refused piece ${index}`));
  }

  onPiece(index: number, offset: number, data: Uint8Array): void {
    const now = this.wire.now();
    this.pace.data(now, data.byteLength);
    const p = this.pending.get(index);
    if (!p && this.cancelled.has(index)) {
      if (offset + data.byteLength >= this.pieceLength(index)) this.cancelled.delete(index);
      return; // a piece we gave up on, still arriving: not a lie
    }
    const partial = this.receiving;
    if (partial && partial !== p && this.pending.get(partial.index) === partial) {
      // Another piece started before this one was whole: it was cut short.
      this.finish(partial);
      partial.reject(new TabswarmError('piece-length-mismatch', `piece ${partial.index} ended after ${partial.received} bytes`));
      this.wire.violation(`piece ${partial.index} truncated at ${partial.received} bytes`);
    }
    this.receiving = undefined;
    if (!p) return this.wire.violation(`piece ${index} was never requested`);
    if (offset !== p.received) {
      this.finish(p);
      p.reject(new TabswarmError('protocol-violation', `piece ${index} chunk at ${offset}, expected ${p.received}`));
      return this.wire.violation(`piece ${index} chunk out of order`);
    }
    const buffer = (p.buffer ??= this.newBuffer(p.length));
    buffer.set(data, offset);
    p.received += data.byteLength;
    if (p.received === p.length) {
      this.finish(p);
      this.pace.complete(now, p.sentAt, p.length, this.pending.size);
      p.resolve(buffer);
    } else {
      this.receiving = p;
    }
  }

  /** The session ended: every request fails with peer-gone. */
  close(): void {
    for (const p of this.pending.values()) {
      this.clock.clearTimeout(p.timer);
      p.reject(new TabswarmError('peer-gone', `peer ${this.id} left`));
    }
    this.pending.clear();
  }

  private expire(p: PendingRequest, deadline: number): void {
    if (this.pending.get(p.index) !== p) return;
    // Timers may fire a little early: re-arm, never assume.
    const early = deadline - this.wire.now();
    if (early > 0) {
      p.timer = this.clock.setTimeout(() => this.expire(p, deadline), early);
      return;
    }
    // Judged before the cancel, which may leave nothing owed (and nothing to judge by).
    const drop = this.pace.miss(this.wire.now());
    this.cancelRequest(p);
    const seconds = Math.round((this.wire.now() - p.sentAt) / 100) / 10;
    p.reject(new TabswarmError('timeout', `peer ${this.id} sent ${p.received} of ${p.length} bytes of piece ${p.index} in ${seconds} s`));
    this.events.missed(p.index, drop);
  }

  /** Forgets a pending request and tells the remote (CANCEL); its late chunks are then dropped. */
  private cancelRequest(p: PendingRequest): void {
    this.finish(p);
    this.cancelled.add(p.index);
    if (this.receiving === p) this.receiving = undefined;
    this.wire.send(encodeCancel(p.index));
  }

  private finish(p: PendingRequest): void {
    this.clock.clearTimeout(p.timer);
    this.pending.delete(p.index);
    if (this.pending.size === 0) this.pace.idle();
  }
}
