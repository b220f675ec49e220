/**
 * The Node cache's eviction order (src/node/least-use.ts) alone and as planEviction's `order`:
 * uses per day in the cache, served bytes counting as uses of the file's size; ties by least
 * recent use, then storage ID; the age stage still first and by last use; pinned and active
 * contents never named.
 */
import { describe, expect, it } from 'vitest';
import { planEviction, type CacheLimits } from '../../../src/core/cache-policy.js';
import { byLeastUse, DAY_MS, useScore, type UseCounts } from '../../../src/node/least-use.js';

const NOW = 1_800_000_000_000;
const MiB = 1024 * 1024;

const counts = (storageId: string, more: Partial<UseCounts> = {}): UseCounts => ({
  storageId,
  uses: 1,
  bytesServed: 0,
  fileSize: 100 * MiB,
  addedAt: NOW - DAY_MS,
  lastUsedAt: NOW - DAY_MS,
  ...more,
});
const entry = (storageId: string, more: Partial<UseCounts> & { bytes?: number; pinned?: boolean; active?: boolean } = {}) => ({
  ...counts(storageId, more),
  bytes: more.bytes ?? 100,
  pinned: more.pinned ?? false,
  active: more.active ?? false,
});
const limits = (more: Partial<CacheLimits> = {}): CacheLimits => ({ maxCacheBytes: 0, maxCacheShareOfQuota: 0, maxCacheAgeMs: 0, ...more });
const order = (list: UseCounts[]) => [...list].sort(byLeastUse(NOW)).map((e) => e.storageId);

describe('useScore', () => {
  it('is uses per day in the cache, a whole file served counting as one use', () => {
    expect(useScore(counts('a', { uses: 6, addedAt: NOW - 3 * DAY_MS }), NOW)).toBe(2);
    expect(useScore(counts('a', { uses: 1, bytesServed: 250 * MiB, addedAt: NOW - 7 * DAY_MS }), NOW)).toBeCloseTo(3.5 / 7);
  });

  it('counts at least one day, so a content added a minute ago does not score its one use as a thousand a day', () => {
    expect(useScore(counts('a', { uses: 1, addedAt: NOW - 60_000 }), NOW)).toBe(1);
    expect(useScore(counts('a', { uses: 1, addedAt: NOW + DAY_MS }), NOW)).toBe(1); // a clock set back
  });

  it('is finite and non-negative for an empty file or nonsense counts', () => {
    expect(useScore(counts('a', { fileSize: 0, bytesServed: 10 }), NOW)).toBe(1);
    expect(useScore(counts('a', { uses: -5, bytesServed: -1 }), NOW)).toBe(0);
    expect(useScore(counts('a', { addedAt: Number.NaN }), NOW)).toBe(0);
  });
});

describe('byLeastUse', () => {
  it('puts the least used per day first, whatever was used last', () => {
    const list = [
      counts('busy-now', { uses: 3, addedAt: NOW - 2 * DAY_MS, lastUsedAt: NOW - 1000 }), // 1.5/day
      counts('busy-long-ago', { uses: 30, addedAt: NOW - 60 * DAY_MS, lastUsedAt: NOW - 5000 }), // 0.5/day
      counts('served-a-lot', { uses: 1, bytesServed: 900 * MiB, addedAt: NOW - 5 * DAY_MS, lastUsedAt: NOW - 9 * DAY_MS }), // 2/day
      counts('once', { uses: 1, addedAt: NOW - 4 * DAY_MS, lastUsedAt: NOW - 100 }), // 0.25/day, used most recently of all
    ];
    expect(order(list)).toEqual(['once', 'busy-long-ago', 'busy-now', 'served-a-lot']);
  });

  it('breaks ties by least recent use, then by storage ID', () => {
    const list = [counts('b', { lastUsedAt: NOW - 10 }), counts('c', { lastUsedAt: NOW - 20 }), counts('a', { lastUsedAt: NOW - 10 })];
    expect(order(list)).toEqual(['c', 'a', 'b']);
  });
});

describe('planEviction with the least-use order', () => {
  it('evicts by age first (by last use), then least used first until within the byte limit, never pinned or active', () => {
    const entries = [
      entry('stale', { uses: 500, addedAt: NOW - 90 * DAY_MS, lastUsedAt: NOW - 40 * DAY_MS }), // much used, unused for 40 days
      entry('stale-pinned', { lastUsedAt: NOW - 40 * DAY_MS, pinned: true }),
      entry('rare', { uses: 1, addedAt: NOW - 10 * DAY_MS, lastUsedAt: NOW - 1000 }), // 0.1/day
      entry('rare-active', { uses: 1, addedAt: NOW - 20 * DAY_MS, lastUsedAt: NOW - 2000, active: true }), // 0.05/day
      entry('medium', { uses: 5, addedAt: NOW - 10 * DAY_MS, lastUsedAt: NOW - 9 * DAY_MS }), // 0.5/day
      entry('hot', { uses: 20, addedAt: NOW - 10 * DAY_MS, lastUsedAt: NOW - 8 * DAY_MS }), // 2/day
    ];
    // 600 bytes, limit 300: 'stale' goes for its age; then 'rare' and 'medium' (least used, evictable).
    const plan = planEviction({ entries, limits: limits({ maxCacheBytes: 300, maxCacheAgeMs: 30 * DAY_MS }), quota: undefined, now: NOW, order: byLeastUse(NOW) });
    expect(plan.evict).toEqual([
      { storageId: 'stale', bytes: 100, reason: 'age' },
      { storageId: 'rare', bytes: 100, reason: 'size' },
      { storageId: 'medium', bytes: 100, reason: 'size' },
    ]);
    expect(plan).toMatchObject({ keptBytes: 300, withinLimit: true });
    // Without the order (the browser's), least recently used goes first: 'medium' before 'rare'.
    const lru = planEviction({ entries, limits: limits({ maxCacheBytes: 300, maxCacheAgeMs: 30 * DAY_MS }), quota: undefined, now: NOW });
    expect(lru.evict.map((e) => e.storageId)).toEqual(['stale', 'medium', 'hot']);
  });

  it('says so when pinned and active contents alone are over the limit', () => {
    const entries = [entry('p', { pinned: true, bytes: 500 }), entry('a', { active: true, bytes: 500 }), entry('x', { bytes: 10 })];
    const plan = planEviction({ entries, limits: limits({ maxCacheBytes: 100 }), quota: undefined, now: NOW, order: byLeastUse(NOW) });
    expect(plan.evict.map((e) => e.storageId)).toEqual(['x']);
    expect(plan.blocked).toMatchObject({ pinnedBytes: 500, activeBytes: 500 });
  });
});
