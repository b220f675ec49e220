/**
 * The uploading half of a peer session: what we announce (bitfield and HAVEs), the remote's
 * requests (bounded by UploadBudget and `maxIncomingRequests`), CANCELs, and sending pieces
 * chunk by chunk under the link's high-water mark, with the next piece read ahead from storage.
 *
 * Uploads go through the optional `UploadGate` (bandwidth.ts): each chunk takes its bytes from
 * the upload bucket before it is sent. While uploads are not allowed we announce nothing (an
 * empty bitfield if the session starts so, no HAVEs) and answer every request with REJECT;
 * when they are allowed again, the pieces not yet announced are announced with HAVEs.
 */
import type { UploadGate } from '../bandwidth.js';
import { Bitfield } from '../bitfield.js';
import { systemClock, type Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';
import type { PeerLink } from '../ports.js';
import type { UploadBudget } from '../upload-budget.js';
import type { FirstCopies } from '../first-copies.js';
import type { TurnTaker, UploadTurns } from '../upload-turns.js';
import type { SessionWire } from './receiving.js';
import { LIMITS } from '../../protocol/limits.js';
import { PIECE_HEADER_BYTES, encodeBitfield, encodeHave, encodePiece, encodeReject } from '../../protocol/wire.js';

export interface UploaderContext {
  pieceCount: number;
  /** Our own verified pieces. */
  have: Bitfield;
  /** Reads one of our verified pieces for upload. */
  readPiece(index: number): Promise<Uint8Array | undefined>;
  uploads?: UploadGate;
  /** The download's upload turns: this session sends only in its turn. */
  turns?: UploadTurns;
  /** The download's first copies (core/first-copies.ts): sent first. @default none */
  firstCopies?: FirstCopies;
  /** Timers (the simulator's, in simulated time). @default systemClock */
  clock?: Clock;
}

/**
 * The one buffer every PIECE frame is built in, shared by every session of every download: a
 * link is done with a frame once `send` returns (PeerLink's contract), and nothing runs between
 * building a frame and sending it. A new buffer per 64 KiB chunk cost the sender's main thread
 * more than the copy into it (allocation and the collector); one per session held a chunk's
 * bytes for every linked peer, sending or not.
 */
let sharedFrame: Uint8Array | undefined;

function frameBuffer(bytes: number): Uint8Array {
  if (!sharedFrame || sharedFrame.byteLength < bytes) sharedFrame = new Uint8Array(bytes);
  return sharedFrame;
}

export class PieceUploader implements TurnTaker {
  private readonly queue: number[] = [];
  /** When each queued or outgoing piece was asked for (ms): a CANCEL soon after is churn. */
  private readonly askedAt = new Map<number, number>();
  private uploading = false;
  /** The piece whose chunks are going out, and whether the remote cancelled it meanwhile. */
  private sendingIndex = -1;
  private sendingCancelled = false;
  /** Pieces we told the remote we hold (bitfield and HAVEs). */
  private readonly announced: Bitfield;
  /** Aborts upload takes waiting for bandwidth when the session ends. */
  private readonly abort = new AbortController();
  /** The read of the piece at the head of the queue, started while the one before is sent. */
  private readAhead: { index: number; data: Promise<Uint8Array | undefined> } | undefined;
  /** In its turn, a piece went out: nothing more until the link has taken it (its next drain). */
  private awaitingDrain = false;
  /** Hands the turn on if the link has not drained in time (a remote that stops reading). */
  private drainTimer: unknown;
  private readonly clock: Clock;

  constructor(
    private readonly wire: SessionWire,
    private readonly link: Pick<PeerLink, 'bufferedAmount' | 'lowWaterMark'>,
    private readonly ctx: UploaderContext,
    private readonly config: Pick<
      ClientConfig,
      'wireChunkBytes' | 'sendBufferHighBytes' | 'maxIncomingRequests' | 'peerDeadlineGraceMs' | 'minPeerBytesPerSec'
    >,
    private readonly budget: UploadBudget,
    private readonly remoteHave: Bitfield,
    private readonly uploaded: (bytes: number) => void,
  ) {
    this.announced = new Bitfield(ctx.pieceCount);
    this.clock = ctx.clock ?? systemClock;
  }

  newestAsk(): number {
    let newest = -Infinity;
    for (const index of this.queue) newest = Math.max(newest, this.askedAt.get(index) ?? -Infinity);
    return newest;
  }

  asksForFirstCopy(): boolean {
    const at = this.nextAt();
    return at >= 0 && this.ctx.firstCopies?.has(this.queue[at]!) === true;
  }

  /**
   * Whether to refuse a request for `index` (REJECT, no fault of the remote): it lacks one of our
   * first copies and has not asked for it, so its request should be for that (core/first-copies.ts).
   */
  private steered(index: number): boolean {
    const asked = (i: number) => this.queue.includes(i) || this.sendingIndex === i;
    return this.ctx.firstCopies?.steers(index, (i) => this.remoteHave.has(i), asked) === true;
  }

  /** Where in the queue the next piece to send is: the first first copy, else the first (-1: none). */
  private nextAt(): number {
    const copies = this.ctx.firstCopies;
    const at = copies === undefined ? -1 : this.queue.findIndex((i) => copies.has(i));
    return at >= 0 ? at : this.queue.length > 0 ? 0 : -1;
  }

  resume(): void {
    void this.pump();
  }

  /** The link's send buffer fell to its low-water mark: the turn goes on if others wait; then more is sent. */
  drained(): void {
    const turns = this.ctx.turns;
    if (this.awaitingDrain) {
      this.awaitingDrain = false;
      this.clock.clearTimeout(this.drainTimer);
      turns?.handOn(this);
    }
    void this.pump();
  }

  /** The requests queued, in order, and the piece going out (-1: none). */
  state(): { queued: readonly number[]; sending: number } {
    return { queued: [...this.queue], sending: this.sendingIndex };
  }

  allowed(): boolean {
    return this.ctx.uploads?.uploadsAllowed() ?? true;
  }

  /** Our bitfield; with uploads off, an empty one: honest peers then never ask us for anything. */
  sendBitfield(): void {
    if (this.allowed()) {
      for (let i = 0; i < this.ctx.pieceCount; i++) if (this.ctx.have.has(i)) this.announced.set(i);
    }
    this.wire.send(encodeBitfield(this.announced.toBytes()));
  }

  /** Tells the remote we now hold `index` (not while uploads are off: then it is told once they are on). */
  announceHave(index: number): void {
    if (!this.allowed() || !this.announced.set(index)) return;
    this.wire.send(encodeHave(index));
  }

  /** Uploads are on again (or the handshake came): HAVE for every piece held and not yet announced. */
  announceHeld(): void {
    if (this.wire.closed || !this.allowed()) return;
    for (let i = 0; i < this.ctx.pieceCount; i++) {
      if (this.ctx.have.has(i) && this.announced.set(i)) this.wire.send(encodeHave(i));
    }
  }

  /** Uploads went off: refuse what is queued (the piece being sent is cut short by the pump). */
  refuseQueued(): void {
    if (this.wire.closed) return;
    for (const index of this.queue.splice(0)) {
      this.askedAt.delete(index);
      this.wire.send(encodeReject(index));
    }
    this.readAhead = undefined;
  }

  onRequest(index: number): void {
    if (!this.ctx.have.has(index)) {
      // We announce every piece we hold and never drop one, so an honest peer only asks for
      // pieces we hold: anything else is a probe or a flood.
      this.wire.send(encodeReject(index));
      return this.wire.violation(`request for piece ${index}, which we never announced`);
    }
    if (this.queue.includes(index) || this.sendingIndex === index) return this.wire.violation(`second request for piece ${index}`);
    const refused = this.budget.request(index, this.remoteHave.has(index));
    if (refused !== undefined) {
      this.wire.send(encodeReject(index));
      return this.wire.violation(refused);
    }
    // Uploads off: refuse, which is no fault of the remote (it may have asked before our
    // uploads went off).
    if (!this.allowed()) return this.wire.send(encodeReject(index));
    if (this.queue.length >= this.config.maxIncomingRequests) {
      this.wire.send(encodeReject(index));
      return this.wire.violation('too many outstanding requests');
    }
    if (this.steered(index)) return this.wire.send(encodeReject(index));
    this.queue.push(index);
    this.askedAt.set(index, this.wire.now());
    void this.pump();
  }

  /**
   * CANCEL: a queued request is dropped and a piece going out is cut at the next chunk; both are
   * answered with REJECT, so the remote knows the piece is over. A CANCEL for a piece already
   * sent whole or never asked changes nothing. Every CANCEL takes from the churn budget.
   */
  onCancel(index: number): void {
    const now = this.wire.now();
    const asked = this.askedAt.get(index);
    const churn = this.budget.cancel(now, asked === undefined ? undefined : now - asked);
    const at = this.queue.indexOf(index);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.askedAt.delete(index);
      if (this.readAhead?.index === index) this.readAhead = undefined;
      this.wire.send(encodeReject(index));
    } else if (index === this.sendingIndex) {
      this.sendingCancelled = true;
    }
    if (churn !== undefined) this.wire.violation(churn);
  }

  /** The session ended: nothing more goes out, and takes waiting for bandwidth are aborted. */
  close(): void {
    this.awaitingDrain = false;
    this.clock.clearTimeout(this.drainTimer);
    this.ctx.turns?.give(this);
    this.queue.length = 0;
    this.askedAt.clear();
    this.readAhead = undefined;
    this.abort.abort();
  }

  /**
   * Sends queued pieces while the channel's buffer is under the high-water mark. The next
   * queued piece is read from storage while the current one goes out, so the channel does not
   * idle through a storage read. At most two pieces are in memory here. Each chunk first takes
   * its bytes from the upload bucket; a piece is cut short (REJECT) when uploads go off or the
   * remote cancels it while it goes out. With turns (`ctx.turns`) it sends only in its turn, a
   * piece at a time (the next once the link has taken it), and hands the turn on after each
   * piece while others wait.
   */
  async pump(): Promise<void> {
    const turns = this.ctx.turns;
    if (this.uploading || this.awaitingDrain) return;
    this.uploading = true;
    try {
      while (!this.wire.closed && this.queue.length > 0 && this.link.bufferedAmount < this.config.sendBufferHighBytes) {
        if (turns && !turns.take(this)) return; // resumed when a turn comes
        const index = this.queue.splice(this.nextAt(), 1)[0]!;
        // A first copy came since it asked: its turn goes to that instead.
        if (this.steered(index)) {
          this.askedAt.delete(index);
          this.wire.send(encodeReject(index));
          continue;
        }
        // From here a CANCEL of `index` cuts it (it may come while the piece is read).
        this.sendingIndex = index;
        this.sendingCancelled = false;
        const ahead = this.readAhead;
        this.readAhead = undefined;
        const data = await (ahead?.index === index ? ahead.data : this.read(index));
        if (this.wire.closed) return;
        const next = this.queue[this.nextAt()];
        if (next !== undefined) this.readAhead = { index: next, data: this.read(next) };
        // No data (our storage failed), or the remote has announced it since it asked: REJECT.
        if (!data || this.remoteHave.has(index) || this.sendingCancelled) {
          this.askedAt.delete(index);
          this.wire.send(encodeReject(index));
          continue;
        }
        const ok = await this.sendPiece(index, data);
        this.askedAt.delete(index);
        if (!ok) return;
        if (turns && this.afterPiece(turns, data.byteLength)) return;
      }
    } finally {
      this.uploading = false;
      this.sendingIndex = -1;
      // Stopped with nothing to send, closed, or held up by its link: the turn is someone else's
      // (awaiting its drain, it is handed on by drained() or the drain time-out).
      if (turns?.holds(this) && !this.awaitingDrain) turns.give(this);
    }
  }

  /**
   * A piece went out in this session's turn. Until the link has taken it (its drain) nothing
   * more is sent, so the piece leaves at the uplink's whole rate; then, if others wait, the
   * turn goes on (drained()), or after the time the piece takes at the minimum rate if the link
   * does not drain by then. On a link that promises no drain, the turn goes on at once (the
   * pump's end) if others wait. True when the pump must stop here.
   */
  private afterPiece(turns: UploadTurns, pieceBytes: number): boolean {
    const mark = this.link.lowWaterMark;
    if (mark !== undefined && this.link.bufferedAmount > mark) {
      this.awaitingDrain = true;
      // A remote that stops reading its channel never lets it drain: past the time a piece
      // takes at the minimum rate, the turn goes on, and this session takes one again only
      // once its link has drained (it sends nothing before). It cannot hold the others' uploads.
      const { peerDeadlineGraceMs, minPeerBytesPerSec } = this.config;
      this.drainTimer = this.clock.setTimeout(
        () => {
          if (this.awaitingDrain && turns.holds(this)) turns.give(this);
        },
        peerDeadlineGraceMs + (pieceBytes * 1000) / Math.max(1, minPeerBytesPerSec),
      );
      return true;
    }
    if (!turns.contended) return false;
    // The pump stops here and hands the turn on; then this session waits for its next one.
    if (this.queue.length > 0 && !this.wire.closed) queueMicrotask(() => void this.pump());
    return true;
  }

  /** Sends one piece chunk by chunk; false when the session closed meanwhile. */
  private async sendPiece(index: number, data: Uint8Array): Promise<boolean> {
    const chunk = Math.max(1, Math.min(this.config.wireChunkBytes, LIMITS.maxWireChunk));
    const gate = this.ctx.uploads;
    let sent = 0;
    /** Ends the piece early with a REJECT (cancelled, or uploads went off): true, the session goes on. */
    const cut = (): boolean => {
      this.budget.ended(index, sent, false);
      this.wire.send(encodeReject(index));
      return true;
    };
    for (let off = 0; off < data.byteLength; off += chunk) {
      const end = Math.min(off + chunk, data.byteLength);
      if (this.wire.closed) return false;
      if (this.sendingCancelled) return cut();
      if (gate) {
        if (!gate.uploadsAllowed()) return cut();
        const wait = gate.takeUpload(end - off, this.abort.signal);
        if (wait) {
          try {
            await wait;
          } catch {
            return false; // aborted: the session closed
          }
          if (this.wire.closed) return false;
          if (this.sendingCancelled || !gate.uploadsAllowed()) return cut();
        }
      }
      this.wire.send(encodePiece(index, off, data.subarray(off, end), frameBuffer(PIECE_HEADER_BYTES + chunk)));
      sent += end - off;
      this.uploaded(end - off);
    }
    this.budget.ended(index, sent, true);
    this.ctx.firstCopies?.sent(index);
    return !this.wire.closed;
  }

  /** One of our pieces for upload; undefined when our storage fails (we then refuse, as for a piece we lack). */
  private read(index: number): Promise<Uint8Array | undefined> {
    return this.ctx.readPiece(index).catch(() => undefined);
  }
}
