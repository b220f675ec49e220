/**
 * Guess limits of join-code lookups (`GET /api/join/<code>`, `GET /j/<code>`): the arithmetic
 * that makes a code unguessable in its lifetime is in join-codes.ts.
 * - Per address bucket (lan-key.ts: an IPv4 address or an IPv6 /64): a token bucket of
 *   `joinBurst` lookups refilled at `joinRatePerMinute`, found or not.
 * - In total: failed lookups from every address together draw on a budget of
 *   `joinFailuresPerMinute` (burst: one minute's worth). While it is spent, an address that
 *   failed a lookup within the last `RECENT_FAILURE_MS` is refused; an address with no recent
 *   failure (a pupil typing the right code) still gets its lookups. A distributed guesser thus
 *   goes no faster than the budget plus one guess per fresh address.
 * Refused lookups answer 429 with Retry-After. The table of addresses is bounded (oldest first).
 */
import { TokenBucket } from '../src/protocol/token-bucket.js';
import type { ServerConfig } from './config.js';

export type JoinGuardConfig = Pick<ServerConfig, 'joinRatePerMinute' | 'joinBurst' | 'joinFailuresPerMinute'>;

/** How long an address counts as a recent guesser after a failed lookup. */
export const RECENT_FAILURE_MS = 10 * 60 * 1000;
/** Addresses remembered; the oldest are forgotten beyond it. */
const MAX_ADDRESSES = 100_000;

interface AddressState {
  bucket: TokenBucket;
  lastFailureAt: number;
}

export type JoinVerdict = { ok: true } | { ok: false; retryAfterS: number; why: string };

export class JoinGuard {
  readonly #addresses = new Map<string, AddressState>();
  readonly #failures: TokenBucket;
  /** Lookups refused so far (for logs and tests). */
  refused = 0;

  constructor(
    private readonly config: JoinGuardConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.#failures = new TokenBucket(config.joinFailuresPerMinute / 60, config.joinFailuresPerMinute, now());
  }

  /** Whether `address` may look a code up now (a token is taken if so). */
  check(address: string): JoinVerdict {
    const t = this.now();
    const s = this.#state(address, t);
    if (s.lastFailureAt > -Infinity && t - s.lastFailureAt < RECENT_FAILURE_MS && !this.#failures.hasToken(t)) {
      this.refused++;
      return { ok: false, retryAfterS: 60, why: 'too many wrong join codes are being tried on this server; try again in a minute' };
    }
    if (!s.bucket.take(t)) {
      this.refused++;
      return { ok: false, retryAfterS: Math.ceil(60 / this.config.joinRatePerMinute), why: 'too many join-code lookups from this address; wait a little' };
    }
    return { ok: true };
  }

  /** The lookup `check` allowed found nothing: it counts against the address and the budget. */
  failed(address: string): void {
    const t = this.now();
    this.#state(address, t).lastFailureAt = t;
    this.#failures.take(t);
  }

  #state(address: string, t: number): AddressState {
    let s = this.#addresses.get(address);
    if (s === undefined) {
      s = { bucket: new TokenBucket(this.config.joinRatePerMinute / 60, this.config.joinBurst, t), lastFailureAt: -Infinity };
      while (this.#addresses.size >= MAX_ADDRESSES) this.#addresses.delete(this.#addresses.keys().next().value!);
    } else this.#addresses.delete(address);
    this.#addresses.set(address, s);
    return s;
  }
}
