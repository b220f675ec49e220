/**
 * Offers the Arrays service relayed recently, so that it relays an `answer` only to a peer
 * that offered to the answerer (no unsolicited answers), and ICE candidates only between two
 * peers with an offer relayed either way. WebTorrent's tracker relays answers to offers never
 * sent; this closes that door.
 *
 * Entries are keyed by (offerer, answerer, content) and expire after `ttlMs`. The table is
 * bounded: past `maxEntries` the oldest entry is dropped (a Map iterates in insertion order
 * and a refreshed entry is moved to the end), so memory stays bounded under any flood.
 */
export class OfferTracker {
  readonly #expiry = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 65_536,
  ) {}

  static #key(offerer: string, answerer: string, contentId: string): string {
    return `${offerer}|${answerer}|${contentId}`;
  }

  /** The server relayed an offer from `offerer` to `answerer` for this content at `now`. */
  offered(offerer: string, answerer: string, contentId: string, now: number): void {
    const key = OfferTracker.#key(offerer, answerer, contentId);
    this.#expiry.delete(key);
    this.#expiry.set(key, now + this.ttlMs);
    if (this.#expiry.size > this.maxEntries) {
      const oldest = this.#expiry.keys().next().value;
      if (oldest !== undefined) this.#expiry.delete(oldest);
    }
  }

  /** Whether `answerer` may answer `offerer` now (an offer went from `offerer` to it within the TTL). */
  mayAnswer(answerer: string, offerer: string, contentId: string, now: number): boolean {
    return (this.#expiry.get(OfferTracker.#key(offerer, answerer, contentId)) ?? -Infinity) >= now;
  }

  /** Whether the two peers may exchange candidates (an offer went either way within the TTL). */
  paired(a: string, b: string, contentId: string, now: number): boolean {
    return this.mayAnswer(a, b, contentId, now) || this.mayAnswer(b, a, contentId, now);
  }

  /** Drops expired entries; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [key, expiry] of this.#expiry) {
      if (expiry < now) {
        this.#expiry.delete(key);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.#expiry.size;
  }
}
