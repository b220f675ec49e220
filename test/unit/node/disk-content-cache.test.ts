/**
 * The Node cache (src/node/disk-content-cache.ts) over a real disk store in a temporary
 * directory: records written and read back as the browser's, counts recounted against the
 * store, eviction by age and least use that never takes an active, leased or pinned content,
 * coalesced use counting, records that do not parse ignored and replaced, restarts, the
 * directory lock, and a core download through TabDownloads that the cache then lists complete.
 */
import { mkdtemp, readdir, readFile, rm, stat, statfs, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bandwidth } from '../../../src/core/bandwidth.js';
import type { CacheLimits } from '../../../src/core/cache-policy.js';
import { resolveConfig } from '../../../src/core/config.js';
import { bannedAddresses } from '../../../src/core/swarm.js';
import { TabDownloads } from '../../../src/core/tab-downloads.js';
import { verifyStoredMetadata } from '../../../src/core/verify-stored.js';
import { createDiskContentCache, type DiskContentCacheOptions } from '../../../src/node/disk-content-cache.js';
import { DiskPieceStore } from '../../../src/node/disk-piece-store.js';
import { LOCK_NAME } from '../../../src/node/directory-lock.js';
import { DAY_MS } from '../../../src/node/least-use.js';
import { createNodeHasher } from '../../../src/node/node-hasher.js';
import { cacheRecordNameOf, contentNameOf } from '../../../src/node/storage-id.js';
import { makeContent, type TestContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { memoryDownload } from '../../helpers/memory-download.js';

const PIECE = 16 * 1024;
const T0 = 1_800_000_000_000;
const limits = (more: Partial<CacheLimits> = {}): CacheLimits => ({ maxCacheBytes: 0, maxCacheShareOfQuota: 0, maxCacheAgeMs: 0, ...more });

let dir: string;
let clock: number;
let toClose: Array<() => Promise<unknown>>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-cache-'));
  clock = T0;
  toClose = [];
});
afterEach(async () => {
  for (const close of toClose.reverse()) await close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** A store and a cache over `dir`, on the test's clock, closed after the test. */
async function openCache(more: Partial<DiskContentCacheOptions> = {}) {
  const pieces = new DiskPieceStore({ directory: dir, durable: false });
  const cache = await createDiskContentCache({ pieces, now: () => clock, flushMs: 40, durable: false, room: async () => undefined, ...more });
  toClose.push(() => pieces.close(), () => cache.close());
  return { pieces, cache };
}

const pieceOf = (c: TestContent, i: number) => c.bytes.slice(i * PIECE, (i + 1) * PIECE);
const layoutOf = (c: TestContent) => ({ pieceCount: c.metadata.pieceSha256.length, pieceSize: PIECE, fileSize: c.metadata.fileSize });
const recordPath = (id: string) => join(dir, cacheRecordNameOf(id));
const onDisk = async (id: string) => JSON.parse(await readFile(recordPath(id), 'utf8')) as Record<string, unknown>;

/** Stores `indexes` (default: every piece) of `c` in the disk store, verified, as a download would. */
async function storePieces(pieces: DiskPieceStore, c: TestContent, indexes = c.metadata.pieceSha256.map((_, i) => i)) {
  const file = await pieces.open(c.contentId, layoutOf(c));
  for (const i of indexes) expect(await file.admit(i, pieceOf(c, i), c.metadata.pieceSha256[i])).toEqual({ stored: true });
  file.close();
}

/** A content cached complete as a finished download leaves it, lease released. */
async function cacheComplete(env: Awaited<ReturnType<typeof openCache>>, c: TestContent) {
  await env.cache.touch({ contentId: c.contentId, metadata: c.metadata, seedable: true });
  await storePieces(env.pieces, c);
  await env.cache.recordBytes(c.contentId, c.metadata.fileSize, true);
  await env.cache.release(c.contentId);
}

async function until(done: () => Promise<boolean> | boolean, maxMs = 10_000): Promise<void> {
  for (const end = Date.now() + maxMs; !(await done()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
}

describe('DiskContentCache: records', () => {
  it('touch, recount, recordBytes, list and remove: the record on disk and the list agree, and the metadata text checks against its ID', async () => {
    const c = makeContent(5 * PIECE + 100, 1, PIECE);
    const id = c.contentId;
    const { pieces, cache } = await openCache();
    const touched = await cache.touch({ contentId: id, metadata: c.metadata, seedable: true });
    expect(touched).toMatchObject({ storageId: id, contentId: id, fileName: c.metadata.name, fileSize: c.metadata.fileSize, pieceSize: PIECE });
    expect(touched).toMatchObject({ bytesStored: 0, complete: false, uses: 1, bytesServed: 0, pinned: false, seedable: true, addedAt: T0, lastUsedAt: T0 });
    expect(touched.metadataJson).toBe(new TextDecoder().decode(c.metadataBytes));
    expect(Object.values(touched.leases)).toEqual([T0 + 120_000]);

    await storePieces(pieces, c, [0, 2, 5]);
    expect(await cache.recount(id, c.metadata)).toMatchObject({ bytesStored: 2 * PIECE + 100, complete: false });
    clock += 1000;
    expect(await cache.recordBytes(id, c.metadata.fileSize, true)).toMatchObject({ bytesStored: c.metadata.fileSize, complete: true, lastUsedAt: T0 + 1000 });
    // A recount never marks a content complete (the whole-file check does) but unmarks it when a piece is gone.
    await pieces.remove(id, 2);
    expect(await cache.recount(id, c.metadata)).toMatchObject({ bytesStored: PIECE + 100, complete: false });
    await expect(cache.recordBytes(id, c.metadata.fileSize + 1)).rejects.toMatchObject({ kind: 'storage-error' });
    await expect(cache.recordBytes(id, -1)).rejects.toMatchObject({ kind: 'storage-error' });
    const unknown = 'ab'.repeat(32);
    expect(await cache.recordBytes(unknown, 5)).toBeUndefined();
    expect(await cache.recount(unknown, c.metadata)).toBeUndefined();

    const file = await onDisk(id);
    expect(file).toMatchObject({ format: 'tabswarm-cache-record', version: 1, storageId: id, bytesStored: PIECE + 100, complete: false, uses: 1, metadataJson: touched.metadataJson });
    expect(file).not.toHaveProperty('leases');
    const listed = await cache.list();
    expect(listed).toEqual([await cache.get(id)]);
    expect(await verifyStoredMetadata(id, listed[0]!.metadataJson!, createNodeHasher())).toEqual(c.metadata);

    await cache.remove(id);
    expect(await cache.list()).toEqual([]);
    expect(await pieces.list(id)).toEqual([]);
    expect(await readdir(dir)).toEqual([LOCK_NAME]);
  });

  it('lists least recently used first; a simple-mode content has no metadata text; touch counts uses and keeps what it is not told', async () => {
    const a = makeContent(3 * PIECE, 2, PIECE);
    const b = makeContent(2 * PIECE, 3, PIECE);
    const { cache } = await openCache();
    await cache.touch({ contentId: a.contentId, metadata: a.metadata });
    clock += 10;
    await cache.touch({ contentId: b.contentId, storageId: `simple:${b.contentId}`, fileName: 'b.bin', fileSize: 2 * PIECE, active: false });
    clock += 10;
    await cache.touch({ contentId: a.contentId, seedable: true }); // no metadata this time: the text stays
    const [first, second] = await cache.list();
    expect(first).toMatchObject({ storageId: `simple:${b.contentId}`, fileName: 'b.bin', uses: 1, leases: {} });
    expect(first).not.toHaveProperty('metadataJson');
    expect(second).toMatchObject({ storageId: a.contentId, uses: 2, seedable: true, addedAt: T0, lastUsedAt: T0 + 20, metadataJson: new TextDecoder().decode(a.metadataBytes) });
  });

  it('refuses IDs that could name a path, and a storage ID of another content, before any file is written', async () => {
    const { cache } = await openCache();
    const hex = 'cd'.repeat(32);
    for (const bad of [{ contentId: '../x' }, { contentId: hex, storageId: `../${hex}` }, { contentId: hex, storageId: `simple:${'ef'.repeat(32)}` }, { contentId: hex.toUpperCase() }]) {
      await expect(cache.touch(bad), JSON.stringify(bad)).rejects.toMatchObject({ kind: 'storage-error' });
    }
    for (const call of [() => cache.get('../x'), () => cache.remove('/etc'), () => cache.pin(''), () => cache.recordBytes('a/b', 1)]) {
      await expect(call()).rejects.toMatchObject({ kind: 'storage-error' });
    }
    expect(() => cache.recordServed('..', 1)).toThrow(/not a storage ID/);
    expect(await readdir(dir)).toEqual([LOCK_NAME]);
  });

  it('counts bytes served in memory and writes them at most once per flushMs; close writes what is pending', async () => {
    const c = makeContent(4 * PIECE, 4, PIECE);
    const id = c.contentId;
    const { cache } = await openCache({ flushMs: 1000 });
    await cache.touch({ contentId: id, metadata: c.metadata, active: false });
    const { ino } = await stat(recordPath(id));
    clock += 5000;
    for (let i = 0; i < 50; i++) expect(cache.recordServed(id, 1000)).toBe(true);
    expect(cache.recordServed('ab'.repeat(32), 1000)).toBe(false);
    expect(() => cache.recordServed(id, -1)).toThrow(/cannot count/);
    expect(() => cache.recordServed(id, 0.5)).toThrow(/cannot count/);
    // Counted at once, in what the cache says; not yet written.
    expect(await cache.get(id)).toMatchObject({ bytesServed: 50_000, lastServedAt: T0 + 5000, lastUsedAt: T0 + 5000, uses: 1 });
    expect((await cache.get(id))!.leases).not.toEqual({});
    expect(await onDisk(id)).toMatchObject({ bytesServed: 0 });
    expect((await stat(recordPath(id))).ino).toBe(ino);
    // One write once the window is over, then none while nothing changes.
    await until(async () => (await onDisk(id)).bytesServed === 50_000);
    expect(await onDisk(id)).toMatchObject({ bytesServed: 50_000, lastServedAt: T0 + 5000 });
    const written = (await stat(recordPath(id))).ino;
    expect(written).not.toBe(ino);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await stat(recordPath(id))).ino).toBe(written);

    cache.recordServed(id, 7);
    await cache.renew([id, 'not an id']);
    await cache.close();
    expect(await onDisk(id)).toMatchObject({ bytesServed: 50_007 });
    expect(cache.recordServed(id, 1)).toBe(false);
    await expect(cache.list()).rejects.toMatchObject({ kind: 'storage-error' });
  });
});

describe('DiskContentCache: eviction', () => {
  it("sizes contents by their bytes on disk, and the share limit by the file system's room: its free bytes and the cache's own", async () => {
    const c = makeContent(6 * PIECE, 24, PIECE);
    const env = await openCache({ room: undefined });
    await env.cache.touch({ contentId: c.contentId, metadata: c.metadata, active: false });
    const sparse = await env.cache.usage();
    await storePieces(env.pieces, c);
    await env.cache.recordBytes(c.contentId, c.metadata.fileSize, true);
    await env.cache.release(c.contentId);
    const usage = await env.cache.usage();
    expect(usage).toMatchObject({ contents: 1, storedBytes: 6 * PIECE, pinnedBytes: 0 });
    // The file is sized at open but sparse: its blocks come with its pieces.
    expect(sparse.cacheBytes).toBeLessThan(6 * PIECE);
    expect(usage.cacheBytes).toBeGreaterThanOrEqual(6 * PIECE);
    const free = await statfs(dir);
    expect(usage.quota).toBeGreaterThan(usage.cacheBytes);
    expect(Math.abs(usage.quota! - usage.cacheBytes - free.bavail * free.bsize)).toBeLessThan(64 * 1024 * 1024); // other writers on this disk
    // A share of that room small enough: the content goes.
    const share = usage.cacheBytes / 2 / usage.quota!;
    expect((await env.cache.enforce(limits({ maxCacheShareOfQuota: share }))).evicted.map((e) => e.storageId)).toEqual([c.contentId]);
  });

  it('by size: the least used per day go first, not the least recently used; never an active or pinned content', async () => {
    const [a, b, c, d] = [5, 6, 7, 8].map((seed) => makeContent(8 * PIECE, seed, PIECE)) as [TestContent, TestContent, TestContent, TestContent];
    const env = await openCache();
    const { cache } = env;
    clock = T0 - 20 * DAY_MS;
    await cacheComplete(env, d); // added 20 days ago, used twice (below): 0.1 a day
    clock = T0 - 10 * DAY_MS;
    await cacheComplete(env, a);
    await cache.touch({ contentId: a.contentId, active: false }); // 2 uses in 10 days: 0.2 a day
    clock = T0 - 5 * DAY_MS;
    await cacheComplete(env, c);
    cache.recordServed(c.contentId, 10 * c.metadata.fileSize); // 11 uses' worth in 5 days: 2.2 a day
    await cache.release(c.contentId);
    clock = T0 - DAY_MS;
    await cacheComplete(env, b); // 1 use in a day
    clock = T0 - 1000;
    await cache.touch({ contentId: d.contentId, active: false }); // the most recently used of all
    clock = T0;

    const usage = await cache.usage();
    expect(usage).toMatchObject({ contents: 4, storedBytes: 4 * 8 * PIECE });
    expect(usage.cacheBytes).toBeGreaterThanOrEqual(4 * 8 * PIECE);
    const each = usage.cacheBytes / 4;
    const result = await cache.enforce(limits({ maxCacheBytes: Math.floor(usage.cacheBytes - 1.5 * each), maxCacheAgeMs: 30 * DAY_MS }));
    expect(result.evicted.map((e) => [e.storageId, e.reason])).toEqual([
      [d.contentId, 'size'],
      [a.contentId, 'size'],
    ]);
    expect(result.kept).toEqual([]);
    expect(result.usage.contents).toBe(2);
    expect(result.usage.cacheBytes).toBeLessThanOrEqual(result.plan.byteLimit);
    expect(await env.pieces.list(d.contentId)).toEqual([]);
    expect(await env.pieces.storageIds()).toEqual([a.contentId, b.contentId, c.contentId].filter((id) => id !== a.contentId).sort());
    expect((await cache.list()).map((r) => r.storageId)).toEqual([c.contentId, b.contentId]);

    // What is left is active (b) or pinned (c): nothing goes, and the plan says why.
    await cache.pin(c.contentId);
    const blocked = await cache.enforce(limits({ maxCacheBytes: 1 }), new Set([b.contentId]));
    expect(blocked.evicted).toEqual([]);
    expect(blocked.plan.blocked).toMatchObject({ pinnedBytes: expect.any(Number), activeBytes: expect.any(Number) });
    await cache.unpin(c.contentId);
    expect((await cache.enforce(limits({ maxCacheBytes: 1 }), new Set([b.contentId]))).evicted.map((e) => e.storageId)).toEqual([c.contentId]);
    await expect(cache.pin(c.contentId)).rejects.toMatchObject({ kind: 'storage-error' });
  });

  it('by age: what nobody used for longer than maxCacheAgeMs goes, however much it was used, unless pinned or active', async () => {
    const [old, oldPinned, oldActive, recent] = [9, 10, 11, 12].map((seed) => makeContent(2 * PIECE, seed, PIECE)) as TestContent[];
    const env = await openCache();
    clock = T0 - 4 * DAY_MS;
    for (const c of [old!, oldPinned!, oldActive!]) await cacheComplete(env, c);
    for (let i = 0; i < 50; i++) await env.cache.touch({ contentId: old!.contentId, active: false });
    await env.cache.pin(oldPinned!.contentId);
    clock = T0 - DAY_MS;
    await cacheComplete(env, recent!);
    clock = T0;
    const result = await env.cache.enforce(limits({ maxCacheAgeMs: 3 * DAY_MS }), new Set([oldActive!.contentId]));
    expect(result.evicted).toEqual([{ storageId: old!.contentId, bytes: expect.any(Number), reason: 'age' }]);
    expect((await env.cache.list()).map((r) => r.storageId).sort()).toEqual([oldPinned!.contentId, oldActive!.contentId, recent!.contentId].sort());
  });

  it('never evicts a content under a live lease: touch, recordServed and renew take it, release and time end it', async () => {
    const [a, b, c] = [13, 14, 15].map((seed) => makeContent(2 * PIECE, seed, PIECE)) as TestContent[];
    const env = await openCache({ leaseMs: 10_000 });
    const { cache } = env;
    const evictAll = async () => (await cache.enforce(limits({ maxCacheBytes: 1 }))).evicted.map((e) => e.storageId);
    for (const x of [a!, b!, c!]) {
      await storePieces(env.pieces, x);
      await cache.touch({ contentId: x.contentId, metadata: x.metadata, complete: true, bytesStored: x.metadata.fileSize, active: x !== c });
    }
    cache.recordServed(c!.contentId, 100); // serving leases it too
    expect(await evictAll()).toEqual([]);
    await cache.release(a!.contentId);
    expect(await evictAll()).toEqual([a!.contentId]);
    clock += 9000;
    await cache.renew([b!.contentId]);
    clock += 2000; // c's lease is over, b's renewed one is not
    expect(await evictAll()).toEqual([c!.contentId]);
    clock += 8001;
    expect(await evictAll()).toEqual([b!.contentId]);
  });

  it('a content the store has open (a reader not in `active`) is kept, with the reason, and its record stays', async () => {
    const a = makeContent(2 * PIECE, 16, PIECE);
    const env = await openCache();
    await cacheComplete(env, a);
    const file = await env.pieces.open(a.contentId, layoutOf(a));
    const result = await env.cache.enforce(limits({ maxCacheBytes: 1 }));
    expect(result.evicted).toEqual([]);
    expect(result.kept).toEqual([{ storageId: a.contentId, reason: expect.stringMatching(/is open/) }]);
    expect(await env.cache.get(a.contentId)).toMatchObject({ complete: true });
    file.close();
    await until(async () => (await env.cache.enforce(limits({ maxCacheBytes: 1 }))).evicted.length === 1);
    expect(await env.cache.list()).toEqual([]);
  });
});

describe('DiskContentCache: restarts and bad records', () => {
  it('a new cache over the same directory lists the same records; a complete one whose file is gone or resized is not complete any more', async () => {
    const [a, b, gone, resized] = [17, 18, 19, 20].map((seed) => makeContent(5 * PIECE + 9, seed, PIECE)) as TestContent[];
    const first = await openCache();
    for (const c of [a!, gone!, resized!]) await cacheComplete(first, c);
    await first.cache.pin(a!.contentId);
    first.cache.recordServed(a!.contentId, 12_345);
    await first.cache.touch({ contentId: b!.contentId, metadata: b!.metadata });
    await storePieces(first.pieces, b!, [1, 5]);
    await first.cache.recount(b!.contentId, b!.metadata);
    const before = await first.cache.list();
    await first.cache.close();
    await first.pieces.close();
    await unlink(join(dir, contentNameOf(gone!.contentId)));
    await truncate(join(dir, contentNameOf(resized!.contentId)), 3 * PIECE);

    const second = await openCache();
    const after = await second.cache.list();
    const expected = before.map((r) =>
      r.storageId === gone!.contentId || r.storageId === resized!.contentId ? { ...r, bytesStored: 0, complete: false, leases: {} } : { ...r, leases: {} },
    );
    expect(after).toEqual(expected);
    expect(after.find((r) => r.storageId === a!.contentId)).toMatchObject({ complete: true, pinned: true, bytesServed: 12_345, bytesStored: a!.metadata.fileSize });
    expect(after.find((r) => r.storageId === b!.contentId)).toMatchObject({ complete: false, bytesStored: PIECE + 9 });
    // The recount was written back: the file says so too.
    expect(await onDisk(gone!.contentId)).toMatchObject({ complete: false, bytesStored: 0 });
    // And a restarted node can re-open it without the server: its metadata text checks against its ID.
    const aAfter = after.find((r) => r.storageId === a!.contentId)!;
    expect(await verifyStoredMetadata(a!.contentId, aAfter.metadataJson!, createNodeHasher())).toEqual(a!.metadata);
  });

  it('a record that does not parse is ignored (its pieces are orphans) and replaced by the next touch', async () => {
    const a = makeContent(3 * PIECE, 21, PIECE);
    const b = makeContent(3 * PIECE, 22, PIECE);
    const setup = await openCache();
    await cacheComplete(setup, a);
    await cacheComplete(setup, b);
    await setup.cache.close();
    await setup.pieces.close();
    const good = await readFile(recordPath(a.contentId), 'utf8');
    const field = (patch: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(good), ...patch });
    const garbles: Array<[string, string | Uint8Array]> = [
      ['not JSON', 'not a record {'],
      ['cut short', good.slice(0, good.length / 2)],
      ['empty object', '{}'],
      ['another content', await readFile(recordPath(b.contentId), 'utf8')],
      ['more bytes than the file', field({ bytesStored: a.metadata.fileSize + 1 })],
      ['negative uses', field({ uses: -1 })],
      ['a field of the wrong type', field({ metadataJson: 42 })],
      ['an unknown field', field({ extra: true })],
      ['another format', field({ format: 'x' })],
      ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
    ];
    for (const [what, text] of garbles) {
      await writeFile(recordPath(a.contentId), text);
      const { cache, pieces } = await openCache();
      expect((await cache.list()).map((r) => r.storageId), what).toEqual([b.contentId]);
      expect(await cache.get(a.contentId), what).toBeUndefined();
      expect(await cache.orphans(), what).toEqual([a.contentId]);
      await cache.close();
      await pieces.close();
    }
    // Nothing the cache does not know is evicted: a's pieces stay until it is touched or removed.
    const { cache, pieces } = await openCache();
    clock += 2;
    expect((await cache.enforce(limits({ maxCacheAgeMs: 1 }))).evicted.map((e) => e.storageId)).toEqual([b.contentId]);
    expect(await pieces.list(a.contentId)).toHaveLength(3);
    await cacheComplete({ cache, pieces }, b);

    // The next touch writes a new record over it; a recount finds its pieces (complete waits for the whole-file check).
    clock += 777;
    expect(await cache.touch({ contentId: a.contentId, metadata: a.metadata })).toMatchObject({ uses: 1, addedAt: clock, bytesStored: 0, complete: false });
    expect(await cache.recount(a.contentId, a.metadata)).toMatchObject({ bytesStored: a.metadata.fileSize, complete: false });
    expect(await onDisk(a.contentId)).toMatchObject({ storageId: a.contentId, uses: 1 });
    expect(await cache.orphans()).toEqual([]);
    // A record garbled while the cache runs is ignored by list and get just the same.
    await writeFile(recordPath(b.contentId), '{"format":');
    expect((await cache.list()).map((r) => r.storageId)).toEqual([a.contentId]);
    expect(await cache.get(b.contentId)).toBeUndefined();
  });
});

describe('DiskContentCache: under the core', () => {
  it('a download through TabDownloads completes into the disk store and the cache lists it complete; a restarted node seeds it from the cache alone', async () => {
    const c = makeContent(30 * PIECE + 321, 23, PIECE);
    const id = c.contentId;
    const server = 'http://server.test';
    const policy = { contentId: id, metadataUrl: `/meta/${id}.json`, metadataSha256: id, cdnUrls: ['/cdn/file.bin'], peering: false, name: c.metadata.name, fileSize: c.metadata.fileSize };
    const fetcher = {
      async getBytes(url: string) {
        if (url === `${server}/api/content/${id}`) return new TextEncoder().encode(JSON.stringify(policy));
        if (url === `${server}/meta/${id}.json`) return c.metadataBytes;
        throw new Error(`HTTP 404 for ${url}`);
      },
    };
    const config = resolveConfig({ downloadMode: 'http', httpDelayMs: 0, maxCacheBytes: 0, maxCacheShareOfQuota: 0 });
    const { pieces, cache } = await openCache({ now: Date.now });
    const cdn = new MemoryCdn(c.bytes);
    const logs: string[] = [];
    const tab = new TabDownloads({
      peerId: 'f'.repeat(32),
      serverUrl: server,
      hasher: createNodeHasher(),
      store: pieces,
      http: cdn,
      fetcher,
      cache,
      bandwidth: new Bandwidth(config),
      bannedAddresses: bannedAddresses(),
      arraysFor: () => Promise.reject(new Error('no Arrays service in this test')),
      connector: () => Promise.reject(new Error('no WebRTC in this test')),
      hasWebRtc: () => false,
      config: () => config,
      log: (m, ...args) => logs.push([m, ...args].map(String).join(' ')),
    });
    toClose.push(async () => tab.close());
    const { download, hooks } = await tab.open(id);
    // What the client's handle (client/client-download.ts) wires: progress and completion.
    download.events.on('piece', () => hooks.stored(c.metadata.fileSize - download.bytesLeft));
    download.events.on('complete', () => hooks.completed());
    void download.start();
    await until(async () => (await cache.get(id))?.complete === true);
    expect(download.state).toBe('complete');
    expect(download.storeKind).toBe('disk');
    const record = await cache.get(id);
    expect(record).toMatchObject({ storageId: id, complete: true, bytesStored: c.metadata.fileSize, fileSize: c.metadata.fileSize, pieceSize: PIECE, uses: 1, seedable: false });
    expect(Object.keys(record!.leases)).toHaveLength(1); // this process seeds it (TabDownloads keeps it)
    expect(Buffer.compare(await readFile(pieces.contentPath(id)), c.bytes)).toBe(0);
    expect(logs.filter((l) => /failed/.test(l))).toEqual([]);
    tab.close();
    expect((await cache.get(id))!.leases).toEqual({});
    await cache.close();
    await pieces.close();

    // A restarted node: the cache alone says what it holds, and the store serves it complete, with no CDN.
    const again = await openCache({ now: Date.now });
    const [cached] = await again.cache.list();
    expect(cached).toMatchObject({ storageId: id, complete: true, bytesStored: c.metadata.fileSize, uses: 1 });
    const metadata = await verifyStoredMetadata(id, cached!.metadataJson!, createNodeHasher());
    const noCdn = new MemoryCdn(new Uint8Array(0));
    const seed = memoryDownload({ ...c, metadata }, noCdn, { store: again.pieces, cdnUrls: [], trustStored: true });
    await seed.d.start();
    expect(seed.d.state).toBe('complete');
    expect(noCdn.requests).toBe(0);
    seed.d.stop();
  });
});
