/**
 * A download's intake: a source's bytes for a piece are checked (length, SHA-256 unless in
 * simple mode), stored, fed to the whole-file hash and announced; or rejected, and the source
 * blamed (a strike for a peer, a back-off for the CDN). One source per piece: a piece that is
 * already ours, or that comes to a stopped download, is dropped unread.
 */
import type { CdnSource } from '../cdn-source.js';
import type { Clock } from '../clock.js';
import type { Emitter } from '../emitter.js';
import { TabswarmError, isTabswarmError } from '../errors.js';
import type { PieceFile, PieceSource } from '../ports.js';
import type { DownloadStats } from '../stats.js';
import type { PeerPool } from './peer-pool.js';
import type { PieceBook } from './piece-book.js';
import type { TopUp } from './top-up.js';
import type { DownloadEvents } from './types.js';
import { pieceLength, type Metadata } from '../../protocol/metadata.js';

export interface IntakeDeps {
  book: PieceBook;
  pool: PeerPool;
  stats: DownloadStats;
  events: Emitter<DownloadEvents>;
  metadata: Metadata;
  clock: Clock;
  /** Set in simple mode: nothing to verify against. */
  simpleReason: string | undefined;
  cdn: CdnSource | undefined;
  topUp: TopUp | undefined;
  /** The content's pieces: where a piece is hashed, written and fed to the whole-file hash. */
  file: () => PieceFile | undefined;
  /** Settles once the store is open (undefined: it could not be, or the download stopped): a player's first pieces may come sooner. */
  fileOpened: () => Promise<PieceFile | undefined>;
  /** Whether a player has a deadline for the piece (its bytes are offered as 'arrived' before they are stored). */
  playerWants: (index: number) => boolean;
  isStopped: () => boolean;
  /** Storage failed: the download fails. */
  fail: (error: TabswarmError) => void;
  /** Runs the scheduler again after `ms`. */
  wakeIn: (ms: number) => void;
}

export class Intake {
  constructor(private readonly d: IntakeDeps) {}

  /** Verifies a piece from exactly one source, then stores it and tells the peers. */
  readonly accept = async (index: number, source: PieceSource, data: Uint8Array): Promise<void> => {
    const { d } = this;
    const { book } = d;
    if (d.isStopped() || book.have.has(index)) return;
    if (data.byteLength !== pieceLength(d.metadata, index)) {
      return this.reject(index, source, `piece ${index} has ${data.byteLength} bytes`);
    }
    if (d.simpleReason === undefined && d.events.has('arrived') && d.playerWants(index)) {
      d.events.emit('arrived', { index, bytes: data.slice() });
    }
    const file = d.file() ?? (await d.fileOpened());
    if (!file || d.isStopped() || book.have.has(index)) return;
    const length = data.byteLength;
    // One crossing: the file hashes, writes and feeds the whole-file hash (`data` is given away).
    let admitted;
    try {
      admitted = await file.admit(index, data, d.simpleReason === undefined ? d.metadata.pieceSha256[index] : undefined);
    } catch (e) {
      if (d.isStopped()) return;
      return d.fail(isTabswarmError(e) ? e : new TabswarmError('storage-error', `cannot store piece ${index}: ${String(e)}`, { cause: e }));
    }
    if (!admitted.stored) {
      if (d.isStopped() || book.have.has(index)) return;
      return this.reject(index, source, admitted.reason);
    }
    if (d.isStopped() || !book.have.set(index)) return;
    d.stats.received(source.kind, source.id, length);
    if (source.kind === 'cdn') d.cdn?.reportSuccess();
    if (source.kind === 'peer') {
      book.lastPeerPieceAt = this.d.clock.now();
      d.pool.credit(source.id);
      d.topUp?.peerPiece(book.lastPeerPieceAt, length);
    }
    d.events.emit('piece', { index, source: source.id, kind: source.kind });
    d.pool.announce(index);
  };

  /**
   * A request failed. The CDN backs off. A stalled, slow or refusing peer is not a liar: its
   * session counted the miss and asks it for less (PeerPace); nothing is struck here.
   */
  readonly fetchFailed = (source: PieceSource): void => {
    if (!this.d.isStopped() && source.kind === 'cdn') this.cdnFailed();
  };

  private reject(index: number, source: PieceSource, reason: string): void {
    this.d.stats.rejected();
    this.d.book.markFailed(index, source.id);
    this.d.events.emit('rejected', { index, source: source.id, reason });
    if (source.kind === 'cdn') this.cdnFailed();
    else this.d.pool.strike(source.id, reason);
  }

  /** A CDN request failed or its bytes were wrong: count it, back off, and come back then. */
  private cdnFailed(): void {
    this.d.stats.cdnError();
    const cdn = this.d.cdn;
    cdn?.reportFailure();
    if (cdn) this.d.wakeIn(cdn.retryInMs());
  }
}
