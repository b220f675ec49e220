/**
 * The piece cache's eviction policy, after Delivery Optimization's cache: which contents to
 * delete so that the cache keeps within its limits. Pure (no storage, no clock, no DOM): the
 * browser's cache (src/storage/piece-cache.ts) feeds it its records, the quota and the time,
 * and deletes what it names. docs/cache.md describes the whole cache.
 *
 * The order, as DO's: first every evictable content not used for longer than the age limit;
 * then evictable contents least recently used first (or in the caller's `order`: the Node
 * cache node's is least used first, src/node/least-use.ts), until the total is within the byte
 * limit. Evictable = neither pinned (kept by the user or the app, whatever its age and size)
 * nor active (downloading or seeding in this tab right now: deleting its pieces under it
 * would fail its whole-file check or make it refuse pieces it announced).
 */
import type { ClientConfig } from './config.js';

/** One content in the cache, as the policy needs to see it. */
export interface CacheEntry {
  /** The piece store's key space: the content ID, or `simple:<content ID>` in simple mode. */
  storageId: string;
  /** Bytes of its pieces stored (the sum of the stored pieces' lengths). */
  bytes: number;
  /** When it was last downloaded, seeded or opened (ms since the epoch). */
  lastUsedAt: number;
  /** Kept whatever its age and the limits. */
  pinned: boolean;
  /** Downloading or seeding now: never evicted while so. */
  active: boolean;
}

export type CacheLimits = Pick<ClientConfig, 'maxCacheBytes' | 'maxCacheShareOfQuota' | 'maxCacheAgeMs'>;

export interface EvictionInput<E extends CacheEntry = CacheEntry> {
  entries: readonly E[];
  limits: CacheLimits;
  /** The origin's storage quota in bytes (`navigator.storage.estimate().quota`); undefined when unknown. */
  quota: number | undefined;
  now: number;
  /**
   * The order of the size stage, first evicted first; it must be total (ties broken) so that
   * the plan is deterministic. Default: least recently used first, ties by storage ID. The age
   * stage always goes by last use: an entry unused for longer than the limit goes whatever
   * its rank.
   */
  order?: (a: E, b: E) => number;
}

export interface Eviction {
  storageId: string;
  bytes: number;
  /** 'age': unused for longer than `maxCacheAgeMs`; 'size': first in the size order (least recently used by default) while over the byte limit. */
  reason: 'age' | 'size';
}

export interface EvictionPlan {
  /** What to delete, in the order decided (age first, then the size order). */
  evict: Eviction[];
  /** The byte limit applied; Infinity when none applies. */
  byteLimit: number;
  /** Bytes of all entries, before eviction. */
  totalBytes: number;
  /** Bytes left once `evict` is deleted. */
  keptBytes: number;
  /** Whether `keptBytes` is within `byteLimit`. */
  withinLimit: boolean;
  /**
   * Set when the limit cannot be met: everything evictable is evicted and pinned or active
   * contents alone still hold more than the limit. Their bytes, to say why.
   */
  blocked?: { pinnedBytes: number; activeBytes: number; message: string };
}

/**
 * The byte limit: the smaller of `maxCacheBytes` (when > 0) and `maxCacheShareOfQuota` × the
 * quota (when the quota is known and the share is > 0; a share above 1 counts as 1). Infinity
 * when neither applies: then only the age limit evicts.
 */
export function byteLimitOf(limits: Pick<CacheLimits, 'maxCacheBytes' | 'maxCacheShareOfQuota'>, quota: number | undefined): number {
  let limit = Infinity;
  if (Number.isFinite(limits.maxCacheBytes) && limits.maxCacheBytes > 0) limit = limits.maxCacheBytes;
  const share = limits.maxCacheShareOfQuota;
  if (quota !== undefined && Number.isFinite(quota) && quota >= 0 && Number.isFinite(share) && share > 0) {
    limit = Math.min(limit, Math.floor(Math.min(1, share) * quota));
  }
  return limit;
}

/** Least recently used first; the storage ID breaks ties, so the plan is deterministic. */
function byLastUse(a: CacheEntry, b: CacheEntry): number {
  return a.lastUsedAt - b.lastUsedAt || (a.storageId < b.storageId ? -1 : a.storageId > b.storageId ? 1 : 0);
}

/** Decides which entries to evict (see the file's comment for the order). */
export function planEviction<E extends CacheEntry>({ entries, limits, quota, now, order }: EvictionInput<E>): EvictionPlan {
  const byteLimit = byteLimitOf(limits, quota);
  const maxAge = limits.maxCacheAgeMs;
  const evict: Eviction[] = [];
  const evictable = (e: CacheEntry) => !e.pinned && !e.active;
  let totalBytes = 0;
  for (const e of entries) totalBytes += e.bytes;
  let keptBytes = totalBytes;

  const kept: E[] = [];
  for (const e of [...entries].sort(byLastUse)) {
    if (evictable(e) && maxAge > 0 && now - e.lastUsedAt > maxAge) {
      evict.push({ storageId: e.storageId, bytes: e.bytes, reason: 'age' });
      keptBytes -= e.bytes;
    } else {
      kept.push(e);
    }
  }
  if (order) kept.sort(order);
  for (const e of kept) {
    if (keptBytes <= byteLimit) break;
    if (!evictable(e)) continue;
    evict.push({ storageId: e.storageId, bytes: e.bytes, reason: 'size' });
    keptBytes -= e.bytes;
  }

  const withinLimit = keptBytes <= byteLimit;
  const plan: EvictionPlan = { evict, byteLimit, totalBytes, keptBytes, withinLimit };
  if (!withinLimit) {
    let pinnedBytes = 0;
    let activeBytes = 0;
    for (const e of kept) {
      if (e.pinned) pinnedBytes += e.bytes;
      else if (e.active) activeBytes += e.bytes;
    }
    plan.blocked = {
      pinnedBytes,
      activeBytes,
      message:
        `the cache holds ${keptBytes} bytes after eviction, over its ${byteLimit}-byte limit: ` +
        `${pinnedBytes} bytes are pinned and ${activeBytes} bytes belong to contents downloading or seeding now, which are never evicted`,
    };
  }
  return plan;
}

/**
 * Which completed contents to seed: the `max` most recently used (DO peers a few files at a
 * time, `maxSeededContents`). `busy` counts the slots already taken by running downloads, which
 * always seed what they have. Returns storage IDs, most recently used first.
 */
export function contentsToSeed(completed: readonly Pick<CacheEntry, 'storageId' | 'lastUsedAt'>[], max: number, busy = 0): string[] {
  const slots = Math.max(0, Math.floor(max) - busy);
  return [...completed]
    .sort((a, b) => b.lastUsedAt - a.lastUsedAt || (a.storageId < b.storageId ? -1 : 1))
    .slice(0, slots)
    .map((e) => e.storageId);
}
