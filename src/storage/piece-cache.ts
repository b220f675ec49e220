/**
 * The piece cache in the browser: one record per content in IndexedDB database
 * `tabswarm-cache` (store `contents`, key = storage ID), apart from the pieces themselves
 * (database `tabswarm`, src/storage/idb-piece-store.ts), and the eviction that keeps it within
 * Delivery Optimization's limits (src/core/cache-policy.ts decides; this file deletes).
 * docs/cache.md describes it for people.
 *
 * A record holds what it takes to re-open and seed the content without the server: its
 * metadata as canonical JSON text (its SHA-256 is the content ID, so it is checked again on
 * re-opening: core/verify-stored.ts), plus counters that make sizes cheap: `bytesStored` is the
 * sum of the stored pieces' lengths, kept up to date by the caller (`recordBytes`, or
 * `recount`, which reads piece keys only). No piece is ever read to size the cache.
 *
 * Several tabs of one origin share this database and the piece store, and each tab knows only
 * its own downloads. So a tab that uses a content holds a lease on its record (`leases[tab]`,
 * renewed by `touch`, `recordBytes` and `renew`, dropped by `release`), and `enforce` treats a
 * content under another tab's live lease as active too: a tab never evicts pieces another tab
 * is downloading or seeding. A tab that closes without releasing leaves a lease that simply
 * runs out (`leaseMs`).
 *
 * Every IndexedDB failure surfaces as TabswarmError('storage-error').
 */
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import { planEviction, type CacheLimits, type Eviction, type EvictionPlan } from '../core/cache-policy.js';
import { TabswarmError } from '../core/errors.js';
import { encodeMetadata, pieceCountOf, pieceLength, type Metadata } from '../protocol/metadata.js';
import { asStorageError } from './storage-error.js';

/** One cached content. */
export interface CacheRecord {
  /** The piece store's key space and this record's key: the content ID, or `simple:<content ID>`. */
  storageId: string;
  contentId: string;
  /** The metadata's canonical JSON text (SHA-256 of its UTF-8 bytes = content ID); absent in simple mode (nothing verified to seed). */
  metadataJson?: string;
  fileName: string;
  fileSize: number;
  /** Bytes of the pieces stored: the sum of their lengths. */
  bytesStored: number;
  /** Every piece is stored and the whole file passed its SHA-256. */
  complete: boolean;
  /** When the content was last downloaded, seeded or opened (ms). Eviction is least recently used first. */
  lastUsedAt: number;
  /** Pinned contents are never evicted. */
  pinned: boolean;
  /** The content's policy allowed peering when it was last opened: it may be seeded from the cache. */
  seedable: boolean;
  /** Tabs using the content, each until a time (ms): leases, renewed while they download or seed. Keyed by a random ID per cache instance (per tab). */
  leases: Record<string, number>;
  /** When the record was created (ms). */
  addedAt: number;
}

/** What `touch` is told about a content. */
export interface TouchEntry {
  contentId: string;
  /** Default: `contentId`. */
  storageId?: string;
  /** The verified metadata (stored as its canonical JSON text). Omit in simple mode. */
  metadata?: Metadata;
  /** For simple mode, or a record without metadata. Default: the metadata's. */
  fileName?: string;
  fileSize?: number;
  /** Bytes stored now, if known; otherwise the record keeps its count (0 for a new record). */
  bytesStored?: number;
  complete?: boolean;
  /** Whether the content's policy allows peering (`policy.peering`). Default: the record's, false for a new one. */
  seedable?: boolean;
  /** Whether this tab now uses the content (takes the lease). @default true */
  active?: boolean;
}

export interface CacheUsage {
  /** Sum of the records' `bytesStored`. */
  cacheBytes: number;
  contents: number;
  pinnedBytes: number;
  /** The origin's quota and usage (`navigator.storage.estimate()`), when the browser says. */
  quota?: number;
  originUsage?: number;
}

export interface EnforceResult {
  /** Contents deleted, pieces and records, in the order the policy chose. */
  evicted: Eviction[];
  plan: EvictionPlan;
  /** Usage after eviction. */
  usage: CacheUsage;
}

/** What the cache needs of the piece store (createIdbPieceStore provides it). */
export interface CachePieces {
  /** Indexes stored for `storageId` (keys only: no piece is read). */
  list(storageId: string): Promise<number[]>;
  /** Deletes every piece of `storageId`. */
  clear(storageId: string): Promise<void>;
  /** The storage IDs with pieces stored (keys only), for `orphans`. */
  storageIds?(): Promise<string[]>;
}

export interface PieceCacheOptions {
  pieces: CachePieces;
  /** @default 'tabswarm-cache' */
  dbName?: string;
  /** How long a lease lasts without renewal. @default 120000 */
  leaseMs?: number;
  now?: () => number;
  /** The origin's storage estimate. Default: `navigator.storage.estimate`, where the browser has it. */
  estimate?: () => Promise<{ quota?: number; usage?: number }>;
}

export interface PieceCache {
  /** Creates or updates the record of a content and marks it used now (and, unless `active: false`, leased by this tab). */
  touch(entry: TouchEntry): Promise<CacheRecord>;
  /** Sets the bytes stored (absolute, not added) and, if given, the complete flag; renews the lease. Undefined if there is no record. */
  recordBytes(storageId: string, bytes: number, complete?: boolean): Promise<CacheRecord | undefined>;
  /** Recomputes `bytesStored` and `complete` from the piece store's keys and the metadata's sizes. */
  recount(storageId: string, sizes: Pick<Metadata, 'fileSize' | 'pieceSize'>): Promise<CacheRecord | undefined>;
  /** Marks contents used now and renews this tab's lease on them (call every `leaseMs / 4` while downloading or seeding). */
  renew(storageIds: Iterable<string>): Promise<void>;
  /** Drops this tab's lease (the download stopped, the content is no longer seeded). */
  release(storageId: string): Promise<void>;
  /** Never evict it. Rejects with 'storage-error' if there is no such record. */
  pin(storageId: string): Promise<void>;
  unpin(storageId: string): Promise<void>;
  get(storageId: string): Promise<CacheRecord | undefined>;
  /** Every record, least recently used first. */
  list(): Promise<CacheRecord[]>;
  /** Deletes a content's pieces, then its record. The caller stops its download first. */
  remove(storageId: string): Promise<void>;
  /** Applies the policy: evicts what it names, among contents neither pinned, in `active`, nor leased by another tab. */
  enforce(limits: CacheLimits, active?: ReadonlySet<string>): Promise<EnforceResult>;
  usage(): Promise<CacheUsage>;
  /**
   * Storage IDs whose pieces are stored but that have no record (stored before the cache
   * existed, or a record lost): the cache cannot size or evict them. The caller touches them
   * (when it opens that content again) or removes them (`remove`) once no tab uses them.
   */
  orphans(): Promise<string[]>;
}

function defaultEstimate(): Promise<{ quota?: number; usage?: number }> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  return storage?.estimate ? storage.estimate() : Promise.resolve({});
}

function isRecord(v: unknown): v is CacheRecord {
  const r = v as Partial<CacheRecord> | undefined;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.storageId === 'string' &&
    typeof r.contentId === 'string' &&
    typeof r.bytesStored === 'number' &&
    typeof r.lastUsedAt === 'number' &&
    typeof r.pinned === 'boolean'
  );
}

/** A content's record after `touch`: what the entry says over what the record said, used at `at`. */
function touchedRecord(entry: TouchEntry, old: CacheRecord | undefined, at: number, leases: Record<string, number>, metadataJson: string | undefined): CacheRecord {
  const next: CacheRecord = {
    storageId: entry.storageId ?? entry.contentId,
    contentId: entry.contentId,
    fileName: entry.fileName ?? entry.metadata?.name ?? old?.fileName ?? '',
    fileSize: entry.fileSize ?? entry.metadata?.fileSize ?? old?.fileSize ?? 0,
    bytesStored: entry.bytesStored ?? old?.bytesStored ?? 0,
    complete: entry.complete ?? old?.complete ?? false,
    lastUsedAt: at,
    pinned: old?.pinned ?? false,
    seedable: entry.seedable ?? old?.seedable ?? false,
    leases,
    addedAt: old?.addedAt ?? at,
  };
  const json = metadataJson ?? old?.metadataJson;
  if (json !== undefined) next.metadataJson = json;
  return next;
}

/** The cache's bytes, contents and pinned bytes, with the origin's quota and usage when the browser says. */
async function usageOf(records: readonly CacheRecord[], estimate: () => Promise<{ quota?: number; usage?: number }>): Promise<CacheUsage> {
  let cacheBytes = 0;
  let pinnedBytes = 0;
  for (const r of records) {
    cacheBytes += r.bytesStored;
    if (r.pinned) pinnedBytes += r.bytesStored;
  }
  const u: CacheUsage = { cacheBytes, contents: records.length, pinnedBytes };
  try {
    const e = await estimate();
    if (typeof e.quota === 'number') u.quota = e.quota;
    if (typeof e.usage === 'number') u.originUsage = e.usage;
  } catch {
    // No estimate: the share-of-quota limit does not apply (cache-policy.byteLimitOf).
  }
  return u;
}

export function createPieceCache(options: PieceCacheOptions): PieceCache {
  const dbName = options.dbName ?? 'tabswarm-cache';
  const leaseMs = options.leaseMs ?? 120_000;
  const now = options.now ?? Date.now;
  const estimate = options.estimate ?? defaultEstimate;
  const store: UseStore = createStore(dbName, 'contents');
  /** This cache instance's (this tab's) lease holder ID. */
  const tab = Math.random().toString(36).slice(2, 10) + now().toString(36);
  /** Live leases, expired ones dropped, with this tab's set to `until` (or dropped when undefined). */
  const leasesWith = (old: Record<string, number> | undefined, at: number, until: number | undefined) => {
    const next: Record<string, number> = {};
    for (const [k, v] of Object.entries(old ?? {})) if (k !== tab && typeof v === 'number' && v > at) next[k] = v;
    if (until !== undefined) next[tab] = until;
    return next;
  };

  const run = <T>(what: string, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => T | PromiseLike<T>) =>
    asStorageError(dbName, what, () => store(mode, fn));

  /** Reads a record (a value in the wrong shape reads as none: it was not written by us). */
  const read = (s: IDBObjectStore, storageId: string) => promisifyRequest(s.get(storageId) as IDBRequest<unknown>).then((v) => (isRecord(v) ? v : undefined));

  /** Reads, changes and writes one record in one transaction; undefined (and nothing written) if `change` returns undefined. */
  function modify(what: string, storageId: string, change: (old: CacheRecord | undefined) => CacheRecord | undefined) {
    return run(what, 'readwrite', async (s) => {
      const next = change(await read(s, storageId));
      if (next) s.put(next, storageId);
      await promisifyRequest(s.transaction);
      return next;
    });
  }

  async function list(): Promise<CacheRecord[]> {
    const all = await run('listing cached contents', 'readonly', (s) => promisifyRequest(s.getAll() as IDBRequest<unknown[]>));
    return all.filter(isRecord).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  }

  async function remove(storageId: string): Promise<void> {
    // Pieces first: a record without pieces is harmless (it is removed again next time), pieces
    // without a record would never be counted nor evicted.
    await options.pieces.clear(storageId);
    await run(`deleting the record of ${storageId}`, 'readwrite', (s) => {
      s.delete(storageId);
      return promisifyRequest(s.transaction);
    });
  }

  async function setPinned(storageId: string, pinned: boolean): Promise<void> {
    const r = await modify(`${pinned ? 'pinning' : 'unpinning'} ${storageId}`, storageId, (old) => (old ? { ...old, pinned } : undefined));
    if (!r) throw new TabswarmError('storage-error', `IndexedDB "${dbName}": cannot ${pinned ? 'pin' : 'unpin'} ${storageId}: it is not in the cache`);
  }

  return {
    async touch(entry) {
      const storageId = entry.storageId ?? entry.contentId;
      const at = now();
      const active = entry.active ?? true;
      const metadataJson = entry.metadata ? new TextDecoder().decode(encodeMetadata(entry.metadata)) : undefined;
      const record = await modify(`recording ${storageId}`, storageId, (old) =>
        touchedRecord(entry, old, at, leasesWith(old?.leases, at, active ? at + leaseMs : old?.leases?.[tab]), metadataJson),
      );
      return record!;
    },

    async recordBytes(storageId, bytes, complete) {
      if (!Number.isSafeInteger(bytes) || bytes < 0) throw new TabswarmError('storage-error', `cannot record ${bytes} bytes for ${storageId}: not a byte count`);
      const at = now();
      return modify(`recording the bytes of ${storageId}`, storageId, (old) =>
        old ? { ...old, bytesStored: bytes, complete: complete ?? old.complete, lastUsedAt: at, leases: leasesWith(old.leases, at, at + leaseMs) } : undefined,
      );
    },

    async recount(storageId, sizes) {
      const indexes = await options.pieces.list(storageId);
      const count = pieceCountOf(sizes.fileSize, sizes.pieceSize);
      let bytes = 0;
      let stored = 0;
      for (const i of indexes) {
        if (i < 0 || i >= count) continue;
        bytes += pieceLength(sizes, i);
        stored++;
      }
      const complete = stored === count;
      return modify(`recounting ${storageId}`, storageId, (old) => (old ? { ...old, bytesStored: bytes, complete: complete && old.complete } : undefined));
    },

    async renew(storageIds) {
      const ids = [...storageIds];
      if (ids.length === 0) return;
      const at = now();
      await run('renewing leases', 'readwrite', async (s) => {
        for (const id of ids) {
          const old = await read(s, id);
          if (old) s.put({ ...old, lastUsedAt: at, leases: leasesWith(old.leases, at, at + leaseMs) }, id);
        }
        await promisifyRequest(s.transaction);
      });
    },

    async release(storageId) {
      const at = now();
      await modify(`releasing ${storageId}`, storageId, (old) => (old ? { ...old, leases: leasesWith(old.leases, at, undefined) } : undefined));
    },

    pin: (storageId) => setPinned(storageId, true),
    unpin: (storageId) => setPinned(storageId, false),

    get: (storageId) => run(`reading the record of ${storageId}`, 'readonly', (s) => read(s, storageId)),

    list,
    remove,

    async enforce(limits, active = new Set()) {
      const records = await list();
      const before = await usageOf(records, estimate);
      const at = now();
      const plan = planEviction({
        entries: records.map((r) => ({
          storageId: r.storageId,
          bytes: r.bytesStored,
          lastUsedAt: r.lastUsedAt,
          pinned: r.pinned,
          // This tab's downloads say so themselves; another tab's, through its lease.
          active: active.has(r.storageId) || Object.entries(r.leases ?? {}).some(([k, until]) => k !== tab && until > at),
        })),
        limits,
        quota: before.quota,
        now: at,
      });
      for (const e of plan.evict) await remove(e.storageId);
      const gone = new Set(plan.evict.map((e) => e.storageId));
      return { evicted: plan.evict, plan, usage: await usageOf(records.filter((r) => !gone.has(r.storageId)), estimate) };
    },

    async usage() {
      return usageOf(await list(), estimate);
    },

    async orphans() {
      if (!options.pieces.storageIds) return [];
      const [ids, records] = await Promise.all([options.pieces.storageIds(), list()]);
      const known = new Set(records.map((r) => r.storageId));
      return ids.filter((id) => !known.has(id));
    },
  };
}
