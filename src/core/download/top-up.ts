/**
 * A background download's top-up (DO's `minBackgroundBytesPerSec`): before its HTTP delay is
 * over, CDN requests are paced to the shortfall of the peers' rate below that minimum; paused
 * while there is none, unlimited once the delay is over.
 */
import { systemClock, type Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';
import { RateLimiter } from '../rate-limiter.js';

/**
 * The top-up is decided on the peers' rate over this window (sliding), and not before this
 * long after the start.
 */
const TOP_UP_WINDOW_MS = 3000;
const TOP_UP_FIRST_CHECK_MS = 1500;
/** How often the top-up is re-evaluated while it may apply. */
const TOP_UP_CHECK_MS = 500;

export class TopUp {
  /** Paces the CDN's requests (as the first of its buckets, cdn-source.ts). */
  readonly limiter: RateLimiter;
  private rate = 0;
  /** Bytes of verified peer pieces, with when they came: the peers' rate. */
  private readonly arrivals: Array<{ at: number; bytes: number }> = [];

  constructor(
    private readonly config: Pick<ClientConfig, 'minBackgroundBytesPerSec'>,
    private readonly startedAt: number,
    private readonly httpDelayMs: number,
    clock: Clock = systemClock,
  ) {
    this.limiter = new RateLimiter(0, clock);
    this.limiter.setPaused(true);
  }

  /** The rate in effect now (0: none). */
  get bytesPerSec(): number {
    return this.limiter.isPaused ? 0 : this.limiter.bytesPerSec;
  }

  /** A verified peer piece of `bytes` came at `at`; counted while the HTTP delay lasts. */
  peerPiece(at: number, bytes: number): void {
    if (at < this.startedAt + this.httpDelayMs) this.arrivals.push({ at, bytes });
  }

  /**
   * Sets the top-up from the peers' rate over the last few seconds: the CDN makes up what they
   * deliver below `minBackgroundBytesPerSec`, so peers and CDN together come to about that.
   * True while topping up; `wakeIn` asks to be called again.
   */
  update(now: number, wakeIn: (ms: number) => void): boolean {
    const elapsed = now - this.startedAt;
    if (elapsed < TOP_UP_FIRST_CHECK_MS) {
      wakeIn(TOP_UP_FIRST_CHECK_MS - elapsed);
      return false;
    }
    wakeIn(TOP_UP_CHECK_MS);
    const from = Math.max(this.startedAt, now - TOP_UP_WINDOW_MS);
    while (this.arrivals.length > 0 && this.arrivals[0]!.at < from) this.arrivals.shift();
    let bytes = 0;
    for (const a of this.arrivals) bytes += a.bytes;
    const peerRate = (bytes * 1000) / Math.max(1, now - from);
    const minimum = this.config.minBackgroundBytesPerSec;
    const shortfall = minimum - peerRate;
    // Below 5% of the minimum it is not worth a request.
    if (shortfall < 0.05 * minimum) {
      this.rate = 0;
      this.limiter.setPaused(true);
      return false;
    }
    // Re-time the bucket only on a real change: every setRate would refill it.
    if (Math.abs(shortfall - this.rate) > 0.05 * minimum) {
      this.rate = shortfall;
      this.limiter.setRate(shortfall);
    }
    this.limiter.setPaused(false);
    return true;
  }

  /** The HTTP delay is over: the bucket no longer limits anything. */
  end(): void {
    if (this.limiter.bytesPerSec === 0 && !this.limiter.isPaused) return;
    this.rate = 0;
    this.limiter.setRate(0);
    this.limiter.setPaused(false);
  }

  close(): void {
    this.limiter.close();
  }
}
