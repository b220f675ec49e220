/**
 * What one remote peer may make us upload: bounded by what it could plausibly use.
 *
 * - A peer never gets a piece it announced it holds (its BITFIELD or a HAVE): asking for one
 *   is a violation. So a peer that claims to have everything gets nothing.
 * - Bytes are useful the first time a piece goes out whole. Everything else is waste: the
 *   chunks of a piece cut short (the peer cancelled it, or uploads went off) and every repeat
 *   of a piece already sent whole. Once the waste passes `uploadWasteBytes`, a request for a
 *   piece we already started sending it is a violation and refused. So what one peer can make
 *   us send is at most the file once plus `uploadWasteBytes` plus one piece.
 * - A CANCEL that comes within LIMITS.quickCancelMs of its REQUEST (or names nothing asked)
 *   takes a token from a bucket (`peerCancelBurst`, refilled at `peerCancelsPerSec`): past it
 *   each is a violation (request/cancel churn). An honest receiver cancels only a sender that
 *   was silent or slow for longer (PeerPace), and that costs it nothing here.
 */
import { Bitfield } from './bitfield.js';
import type { ClientConfig } from './config.js';
import { LIMITS } from '../protocol/limits.js';
import { TokenBucket } from '../protocol/token-bucket.js';

export type UploadBudgetConfig = Pick<ClientConfig, 'uploadWasteBytes' | 'peerCancelBurst' | 'peerCancelsPerSec'>;

/** Undefined when allowed; otherwise the violation, for the strike. */
export type BudgetVerdict = string | undefined;

export class UploadBudget {
  /** Pieces sent whole at least once. */
  private readonly whole: Bitfield;
  /** Pieces of which at least one chunk went out. */
  private readonly started: Bitfield;
  private readonly cancels: TokenBucket;
  /** Bytes sent that bought the peer nothing new (see the module comment). */
  wasted = 0;
  /** Bytes of pieces sent whole for the first time. */
  useful = 0;

  constructor(
    pieceCount: number,
    private readonly config: UploadBudgetConfig,
    now: number,
  ) {
    this.whole = new Bitfield(pieceCount);
    this.started = new Bitfield(pieceCount);
    this.cancels = new TokenBucket(config.peerCancelsPerSec, Math.max(1, config.peerCancelBurst), now);
  }

  /** A REQUEST for `index`; `remoteHolds`: the peer announced it holds the piece. */
  request(index: number, remoteHolds: boolean): BudgetVerdict {
    if (remoteHolds) return `request for piece ${index}, which it announced it holds`;
    if (this.started.has(index) && this.wasted >= this.config.uploadWasteBytes) {
      return `request for piece ${index} again after ${this.wasted} bytes of cancelled or repeated uploads`;
    }
    return undefined;
  }

  /**
   * A CANCEL arrived, `sinceRequestMs` after the REQUEST it withdraws (undefined: it withdraws
   * nothing we were asked and have not answered).
   */
  cancel(now: number, sinceRequestMs: number | undefined): BudgetVerdict {
    if (sinceRequestMs !== undefined && sinceRequestMs >= LIMITS.quickCancelMs) return undefined;
    return this.cancels.take(now) ? undefined : `more than ${this.config.peerCancelBurst} quick CANCELs at over ${this.config.peerCancelsPerSec}/s`;
  }

  /** A send of piece `index` ended after `bytes` bytes; `whole`: it went out to its last byte. */
  ended(index: number, bytes: number, whole: boolean): void {
    if (bytes > 0) this.started.set(index);
    if (whole && this.whole.set(index)) this.useful += bytes;
    else this.wasted += bytes;
  }
}
