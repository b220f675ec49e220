import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { byteLimitOf, contentsToSeed, planEviction, type CacheEntry, type CacheLimits } from '../../../src/core/cache-policy.js';

const MiB = 1024 * 1024;
const DAY = 24 * 3600 * 1000;
const NOW = 1_800_000_000_000;

const entry = (storageId: string, bytes: number, ageMs: number, more: Partial<CacheEntry> = {}): CacheEntry => ({
  storageId,
  bytes,
  lastUsedAt: NOW - ageMs,
  pinned: false,
  active: false,
  ...more,
});
const limits = (more: Partial<CacheLimits> = {}): CacheLimits => ({ maxCacheBytes: 0, maxCacheShareOfQuota: 0.2, maxCacheAgeMs: 3 * DAY, ...more });
const ids = (plan: ReturnType<typeof planEviction>) => plan.evict.map((e) => e.storageId);

describe('byteLimitOf', () => {
  it('is the share of the quota when maxCacheBytes is 0 (DO: 20%)', () => {
    expect(byteLimitOf({ maxCacheBytes: 0, maxCacheShareOfQuota: 0.2 }, 1000 * MiB)).toBe(200 * MiB);
  });
  it('is the smaller of the absolute limit and the share', () => {
    expect(byteLimitOf({ maxCacheBytes: 50 * MiB, maxCacheShareOfQuota: 0.2 }, 1000 * MiB)).toBe(50 * MiB);
    expect(byteLimitOf({ maxCacheBytes: 500 * MiB, maxCacheShareOfQuota: 0.2 }, 1000 * MiB)).toBe(200 * MiB);
  });
  it('is the absolute limit alone when the quota is unknown, and Infinity when nothing applies', () => {
    expect(byteLimitOf({ maxCacheBytes: 50 * MiB, maxCacheShareOfQuota: 0.2 }, undefined)).toBe(50 * MiB);
    expect(byteLimitOf({ maxCacheBytes: 0, maxCacheShareOfQuota: 0.2 }, undefined)).toBe(Infinity);
    expect(byteLimitOf({ maxCacheBytes: 0, maxCacheShareOfQuota: 0 }, 1000 * MiB)).toBe(Infinity);
  });
  it('caps a share above 1 at the whole quota', () => {
    expect(byteLimitOf({ maxCacheBytes: 0, maxCacheShareOfQuota: 3 }, 1000)).toBe(1000);
  });
  it("takes the config's defaults", () => {
    expect(byteLimitOf(DEFAULT_CONFIG, 10_000)).toBe(2000);
  });
});

describe('planEviction', () => {
  it('evicts nothing within the limits', () => {
    const plan = planEviction({ entries: [entry('a', 10, 0), entry('b', 10, DAY)], limits: limits({ maxCacheBytes: 100 }), quota: undefined, now: NOW });
    expect(plan.evict).toEqual([]);
    expect(plan).toMatchObject({ totalBytes: 20, keptBytes: 20, byteLimit: 100, withinLimit: true });
    expect(plan.blocked).toBeUndefined();
  });

  it('evicts least recently used first, only until the total is within the limit', () => {
    const entries = [entry('new', 40, 1000), entry('oldest', 40, 3000), entry('old', 40, 2000)];
    const plan = planEviction({ entries, limits: limits({ maxCacheBytes: 80 }), quota: undefined, now: NOW });
    expect(ids(plan)).toEqual(['oldest']);
    expect(plan.evict[0]!.reason).toBe('size');
    expect(plan).toMatchObject({ keptBytes: 80, withinLimit: true });

    const tighter = planEviction({ entries, limits: limits({ maxCacheBytes: 41 }), quota: undefined, now: NOW });
    expect(ids(tighter)).toEqual(['oldest', 'old']);
  });

  it('evicts every content older than the age limit first, even within the byte limit', () => {
    const entries = [entry('fresh', 10, DAY), entry('stale', 10, 4 * DAY), entry('staler', 10, 10 * DAY)];
    const plan = planEviction({ entries, limits: limits(), quota: 1e12, now: NOW });
    expect(plan.evict).toEqual([
      { storageId: 'staler', bytes: 10, reason: 'age' },
      { storageId: 'stale', bytes: 10, reason: 'age' },
    ]);
    expect(plan.keptBytes).toBe(10);
  });

  it('has no age limit with maxCacheAgeMs 0', () => {
    const plan = planEviction({ entries: [entry('ancient', 10, 1000 * DAY)], limits: limits({ maxCacheAgeMs: 0 }), quota: undefined, now: NOW });
    expect(plan.evict).toEqual([]);
  });

  it('never evicts pinned or active contents, whatever their age or size', () => {
    const entries = [
      entry('pinned-old', 50, 30 * DAY, { pinned: true }),
      entry('active-old', 50, 30 * DAY, { active: true }),
      entry('plain', 50, DAY),
      entry('newest', 50, 0),
    ];
    const plan = planEviction({ entries, limits: limits({ maxCacheBytes: 120 }), quota: undefined, now: NOW });
    expect(ids(plan)).toEqual(['plain', 'newest']);
    expect(plan).toMatchObject({ keptBytes: 100, withinLimit: true });
  });

  it('says so when pinned and active contents alone exceed the limit', () => {
    const entries = [entry('pinned', 60, 0, { pinned: true }), entry('active', 30, 0, { active: true }), entry('plain', 20, DAY)];
    const plan = planEviction({ entries, limits: limits({ maxCacheBytes: 50 }), quota: undefined, now: NOW });
    expect(ids(plan)).toEqual(['plain']);
    expect(plan.withinLimit).toBe(false);
    expect(plan.keptBytes).toBe(90);
    expect(plan.blocked).toMatchObject({ pinnedBytes: 60, activeBytes: 30 });
    expect(plan.blocked!.message).toMatch(/over its 50-byte limit.*pinned/);
  });

  it('applies the share of the quota when there is no absolute limit', () => {
    const entries = [entry('a', 30 * MiB, 3000), entry('b', 30 * MiB, 2000), entry('c', 30 * MiB, 1000)];
    // 20% of 300 MiB = 60 MiB: the oldest goes.
    const plan = planEviction({ entries, limits: limits(), quota: 300 * MiB, now: NOW });
    expect(plan.byteLimit).toBe(60 * MiB);
    expect(ids(plan)).toEqual(['a']);
    // Unknown quota and no absolute limit: only age evicts.
    expect(planEviction({ entries, limits: limits(), quota: undefined, now: NOW }).evict).toEqual([]);
    // An absolute limit below the share wins.
    expect(ids(planEviction({ entries, limits: limits({ maxCacheBytes: 30 * MiB }), quota: 300 * MiB, now: NOW }))).toEqual(['a', 'b']);
  });

  it('breaks ties in last use by storage ID, so plans are deterministic', () => {
    const entries = [entry('b', 10, 0), entry('a', 10, 0)];
    expect(ids(planEviction({ entries, limits: limits({ maxCacheBytes: 10 }), quota: undefined, now: NOW }))).toEqual(['a']);
  });

  it('does not change its input', () => {
    const entries = [entry('b', 10, 0), entry('a', 10, 100)];
    const copy = structuredClone(entries);
    planEviction({ entries, limits: limits({ maxCacheBytes: 1 }), quota: undefined, now: NOW });
    expect(entries).toEqual(copy);
  });
});

describe('contentsToSeed', () => {
  it('keeps the most recently used, within the slots the running downloads leave', () => {
    const completed = [entry('a', 1, 4), entry('b', 1, 1), entry('c', 1, 3), entry('d', 1, 2), entry('e', 1, 5)];
    expect(contentsToSeed(completed, DEFAULT_CONFIG.maxSeededContents)).toEqual(['b', 'd', 'c', 'a']);
    expect(contentsToSeed(completed, 4, 3)).toEqual(['b']);
    expect(contentsToSeed(completed, 4, 9)).toEqual([]);
  });
});
