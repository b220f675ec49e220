/**
 * What one address may share (share-api.ts): shares per minute (a token bucket), and shares
 * and metadata bytes within the share lifetime; and the delete secret of each share, of which
 * only the SHA-256 is kept, in memory (after a restart a share goes at its TTL). Memory is
 * bounded: at most MAX_ADDRESSES addresses are remembered, and secrets by the share quota.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TokenBucket } from '../src/protocol/token-bucket.js';
import type { ServerConfig } from './config.js';

/** Most addresses whose buckets and recent shares are kept; past it the oldest go (bounded memory). */
const MAX_ADDRESSES = 10_000;

export type ShareQuotaConfig = Pick<ServerConfig, 'shareRatePerMinute' | 'shareBurst' | 'shareMaxPerAddress' | 'shareMaxBytesPerAddress' | 'shareTtlMs'>;

export class ShareQuota {
  private readonly buckets = new Map<string, TokenBucket>();
  /** Shares each address made within the last `shareTtlMs` (when, and their bytes). */
  private readonly madeBy = new Map<string, Array<{ at: number; bytes: number }>>();

  constructor(
    private readonly config: ShareQuotaConfig,
    private readonly now: () => number,
  ) {}

  /** Takes one share from the address's rate; false past it. */
  takeRate(address: string): boolean {
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_ADDRESSES) this.buckets.clear();
      bucket = new TokenBucket(this.config.shareRatePerMinute / 60, this.config.shareBurst, this.now());
      this.buckets.set(address, bucket);
    }
    return bucket.take(this.now());
  }

  /** Whether one more share of `bytes` from `address` would pass its count or bytes within the lifetime. */
  wouldExceed(address: string, bytes: number): boolean {
    const mine = this.recent(address);
    return mine.length + 1 > this.config.shareMaxPerAddress || mine.reduce((n, e) => n + e.bytes, 0) + bytes > this.config.shareMaxBytesPerAddress;
  }

  /** `address` made a new share of `bytes`. */
  record(address: string, bytes: number): void {
    this.madeBy.set(address, [...this.recent(address), { at: this.now(), bytes }]);
  }

  /** What `address` shared within the window, old entries dropped. */
  private recent(address: string): Array<{ at: number; bytes: number }> {
    const t = this.now();
    const list = (this.madeBy.get(address) ?? []).filter((e) => t - e.at < this.config.shareTtlMs);
    this.madeBy.delete(address);
    if (list.length > 0) this.madeBy.set(address, list);
    while (this.madeBy.size > MAX_ADDRESSES) this.madeBy.delete(this.madeBy.keys().next().value!);
    return list;
  }
}

/** The SHA-256 of each share's delete secret, by content ID. */
export class DeleteSecrets {
  private readonly hashes = new Map<string, Buffer>();

  /** A new secret for `contentId`, unless it has one (whoever shares the same bytes later gets none). */
  issue(contentId: string): string | undefined {
    if (this.hashes.has(contentId)) return undefined;
    const secret = randomBytes(32).toString('hex');
    this.hashes.set(contentId, createHash('sha256').update(secret).digest());
    return secret;
  }

  /** Checks an `Authorization: Bearer <secret>` header against `contentId`'s secret. */
  check(contentId: string, authorization: string | undefined): 'ok' | 'unknown' | 'wrong' {
    const expected = this.hashes.get(contentId);
    if (expected === undefined) return 'unknown';
    const m = /^Bearer\s+([0-9a-f]{64})\s*$/i.exec(authorization ?? '');
    const given = createHash('sha256').update(m?.[1]?.toLowerCase() ?? '').digest();
    return m !== null && timingSafeEqual(given, expected) ? 'ok' : 'wrong';
  }

  drop(contentId: string): void {
    this.hashes.delete(contentId);
  }

  /** Drops the secrets of shares `isShare` no longer names. */
  prune(isShare: (contentId: string) => boolean): void {
    for (const id of this.hashes.keys()) if (!isShare(id)) this.hashes.delete(id);
  }
}
