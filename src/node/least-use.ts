/**
 * The size order of the Node cache's eviction (disk-content-cache.ts): least used first. A
 * cache node (DO's Connected Cache) keeps what its peers ask for; a content opened once a
 * month should go before one served every hour, however recently each was last touched.
 * Pure: the caller passes the time; core/cache-policy.ts's planEviction takes it as `order`
 * (the age stage before it still goes by last use: what nobody used for longer than
 * `maxCacheAgeMs` goes first, whatever its score).
 *
 * The score is uses per day in the cache:
 *
 *     score = (uses + bytesServed / fileSize) / max(1, days since the content was added)
 *
 * `uses` counts opens (a download, a seed, a `tabswarm get`: each `touch`); serving the whole
 * file's worth of bytes to peers counts as one use more (a cache node is mostly served from,
 * seldom opened). Dividing by the days in the cache puts a content that was busy long ago
 * behind one busy now; the floor of one day keeps a content added minutes ago from scoring
 * its one use as hundreds per day. Lower scores are evicted first; ties (two contents never
 * served, opened once each on the same day) go by least recent use, then by storage ID, so
 * the order is total and the plan deterministic.
 */

export const DAY_MS = 24 * 3600 * 1000;

/** What the order needs to know of a content. */
export interface UseCounts {
  storageId: string;
  /** Opens of the content (each `touch`). */
  uses: number;
  /** Bytes served to peers from the cache, in total. */
  bytesServed: number;
  /** The content's size (bytes); 0 for an empty file. */
  fileSize: number;
  /** When the content was first cached (ms). */
  addedAt: number;
  /** When it was last opened, seeded or served (ms). */
  lastUsedAt: number;
}

/** Uses per day in the cache (the file's comment); finite and non-negative for any input. */
export function useScore(e: UseCounts, now: number): number {
  const served = e.fileSize > 0 ? Math.max(0, e.bytesServed) / e.fileSize : 0;
  const days = Math.max(1, (now - e.addedAt) / DAY_MS);
  const score = (Math.max(0, e.uses) + served) / days;
  return Number.isFinite(score) ? score : 0;
}

/** Least used first (lowest score), then least recently used, then by storage ID. */
export function byLeastUse(now: number): (a: UseCounts, b: UseCounts) => number {
  return (a, b) =>
    useScore(a, now) - useScore(b, now) || a.lastUsedAt - b.lastUsedAt || (a.storageId < b.storageId ? -1 : a.storageId > b.storageId ? 1 : 0);
}
