/**
 * A token bucket: `burst` tokens at most, refilled at `ratePerSec`. Each accepted event takes
 * one. The protocol's per-sender rate limits are token buckets: announces and signals per
 * socket (signaling/arrays.ts), shares per address (signaling/share-api.ts), CANCELs per peer
 * (src/core/upload-budget.ts).
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes one token if there is one (true), or refuses (false). `now` in ms. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whether a token is there now, without taking it. */
  hasToken(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= 1;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSec) / 1000);
  }
}
