/**
 * A token bucket measured in bytes, for Delivery Optimization's bandwidth caps (bandwidth.ts).
 *
 * Contract:
 * - `take(bytes)` returns `undefined` when the bytes may pass now (always, and without
 *   touching the clock, when the rate is 0 = unlimited), else a promise that resolves when they
 *   may. Callers skip the await on `undefined`, so an unset limit costs one branch.
 * - Debt is allowed: a take passes as soon as the bucket is not negative and then subtracts
 *   all its bytes, so a 1 MiB piece passes at any rate and the next take waits it off. The
 *   long-run rate is exact; over a window of W seconds at most one burst plus one take more
 *   than `rate × W` passes.
 * - Takes pass in order (FIFO): a take never overtakes one queued before it.
 * - The burst (the most tokens the bucket holds) is about 100 ms worth, at least one 64 KiB
 *   wire chunk, so that a limit holds within a few percent over a few seconds.
 * - While paused nothing passes; takes queue until `setPaused(false)`.
 */
import { TabswarmError } from './errors.js';
import { systemClock, type Clock } from './clock.js';

/** The clock port moved to clock.ts; re-exported for the importers of this module. */
export { systemClock, type Clock } from './clock.js';

/** The bucket holds this long's worth of tokens... */
export const BURST_SECONDS = 0.1;
/** ...and at least one wire chunk. */
export const MIN_BURST_BYTES = 64 * 1024;

interface Waiter {
  bytes: number;
  resolve(): void;
  reject(e: TabswarmError): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class RateLimiter {
  private rate = 0;
  private burst = MIN_BURST_BYTES;
  private tokens = 0;
  private updatedAt = 0;
  private paused = false;
  private readonly queue: Waiter[] = [];
  private timer: unknown;
  private timerSet = false;
  /** Takes that had to wait (a test and status figure: 0 while the limit never bit). */
  queuedTakes = 0;

  constructor(
    bytesPerSec = 0,
    private readonly clock: Clock = systemClock,
  ) {
    this.setRate(bytesPerSec);
  }

  /** Bytes per second; 0 = unlimited. */
  get bytesPerSec(): number {
    return this.rate;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Takes waiting now. */
  get waiting(): number {
    return this.queue.length;
  }


  /**
   * Changes the rate (0 = unlimited). Tokens earned at the old rate are kept up to the new
   * burst; waiting takes are re-timed (or released at once when unlimited).
   */
  setRate(bytesPerSec: number): void {
    const rate = Number.isFinite(bytesPerSec) && bytesPerSec > 0 ? bytesPerSec : 0;
    if (this.rate > 0) this.refill();
    const wasUnlimited = this.rate === 0;
    this.rate = rate;
    this.burst = Math.max(MIN_BURST_BYTES, rate * BURST_SECONDS);
    // From unlimited, start with a full bucket: the limit starts now, not in debt.
    if (wasUnlimited) this.tokens = this.burst;
    else this.tokens = Math.min(this.tokens, this.burst);
    this.updatedAt = this.clock.now();
    this.reschedule();
  }

  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    if (this.rate > 0) this.refill();
    this.paused = paused;
    // Tokens do not pile up while paused: resuming starts from a full burst at most.
    this.reschedule();
  }

  /**
   * Asks for `bytes` to pass. `undefined`: they pass now. Otherwise a promise resolved when
   * they do, or rejected with kind 'aborted' if `signal` aborts first (the bytes are then not
   * taken).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    if (this.queue.length === 0 && !this.paused) {
      if (this.rate === 0) return undefined;
      this.refill();
      if (this.tokens >= 0) {
        this.tokens -= bytes;
        return undefined;
      }
    }
    if (signal?.aborted) return Promise.reject(new TabswarmError('aborted', 'aborted while waiting for bandwidth'));
    this.queuedTakes++;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          reject(new TabswarmError('aborted', 'aborted while waiting for bandwidth'));
          this.reschedule();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.schedule();
    });
  }

  /** Rejects every waiting take (kind 'aborted') and stops the timer. */
  close(): void {
    this.cancelTimer();
    for (const w of this.queue.splice(0)) {
      this.detach(w);
      w.reject(new TabswarmError('aborted', 'the rate limiter closed'));
    }
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    if (this.paused) return;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }

  /** Lets through every waiter whose turn has come, then times the next one. */
  private drain(): void {
    if (this.paused) return;
    if (this.rate > 0) this.refill();
    while (this.queue.length > 0 && (this.rate === 0 || this.tokens >= 0)) {
      const w = this.queue.shift()!;
      if (this.rate > 0) this.tokens -= w.bytes;
      this.detach(w);
      w.resolve();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timerSet || this.paused || this.queue.length === 0) return;
    if (this.rate === 0) return this.drain();
    this.refill();
    // Timers may fire a little early: at least 1 ms, and drain() re-checks and re-arms.
    const ms = this.tokens >= 0 ? 0 : Math.max(1, Math.ceil((-this.tokens * 1000) / this.rate));
    this.timerSet = true;
    this.timer = this.clock.setTimeout(() => {
      this.timerSet = false;
      this.drain();
    }, ms);
  }

  private reschedule(): void {
    this.cancelTimer();
    this.drain();
  }

  private cancelTimer(): void {
    if (!this.timerSet) return;
    this.clock.clearTimeout(this.timer);
    this.timerSet = false;
  }

  private detach(w: Waiter): void {
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
  }
}
