/**
 * The ContentCache port (core/ports.ts) on a Node disk, for the cache node and `tabswarm get`:
 * the browser's piece cache (storage/piece-cache.ts, docs/cache.md) over the disk store
 * (disk-piece-store.ts), with eviction by age and least use. Same calls and records as the
 * browser's, plus the content's use (`uses`, `bytesServed`, `lastServedAt`) and
 * `recordServed`, which a cache node calls as it serves bytes.
 *
 * The contract:
 *   - One record per content, a JSON file beside the store's files (cache-record.ts: its
 *     format, its checks, its atomic writes). Records are found and recounted against the store
 *     when the cache opens (cache-scan.ts); after that this process is their only writer and
 *     keeps every record's summary in memory (all but the metadata text, read from the file
 *     when `list` or `get` hands it out).
 *   - One process per directory: `createDiskContentCache` takes a lock file on it
 *     (directory-lock.ts) and refuses a directory another live process holds ('storage-error').
 *     The process is one "tab": leases are in memory, taken by `touch`, `recordBytes`, `renew`
 *     and `recordServed`, dropped by `release` or after `leaseMs`; `enforce` never evicts a
 *     content under a live lease, in `active`, or pinned. A restarted process holds none.
 *   - Writes: `touch`, `recordBytes`, `recount`, `pin` and `unpin` write the record before they
 *     resolve. `renew` and `recordServed` (many calls a second on a busy node) change the
 *     summary in memory and write it at most once per content every `flushMs`, and at `flush`
 *     and `close`; a crash loses at most that much counting.
 *   - Sizes are what the disk holds (DiskPieceStore.size: blocks allocated, the file sparse
 *     until its pieces come, plus both records), never a piece read. The share limit is of the file system's room: its free bytes plus what the
 *     cache holds (a share of only the free bytes would shrink as the cache grows).
 *   - Eviction (core/cache-policy.ts planEviction): what nobody used for `maxCacheAgeMs`, then least used first (least-use.ts).
 *   - Every failure is a TabswarmError 'storage-error'. A record file that does not parse is
 *     not a record: `list` ignores it and the next `touch` of its content writes a new one.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { planEviction, type CacheLimits, type Eviction, type EvictionPlan } from '../core/cache-policy.js';
import { TabswarmError } from '../core/errors.js';
import type { ContentCache } from '../core/ports.js';
import { SHA256_HEX } from '../protocol/hex.js';
import { encodeMetadata, type Metadata } from '../protocol/metadata.js';
import type { CacheSummary, DiskCacheRecord } from './cache-record.js';
import { CacheRecords } from './cache-records.js';
import { reconciled, scanCacheRecords } from './cache-scan.js';
import { storageOp } from './disk-content.js';
import type { DiskPieceStore } from './disk-piece-store.js';
import { lockDirectory, type DirectoryLock } from './directory-lock.js';
import { byLeastUse } from './least-use.js';
import { checkStorageId, isStorageId } from './storage-id.js';

export interface DiskContentCacheOptions {
  pieces: DiskPieceStore;
  /** Where the records go. Default: the store's directory, beside its files. */
  directory?: string;
  now?: () => number;
  /** How long a lease lasts without renewal (ms). @default 120000 */
  leaseMs?: number;
  /** The longest `renew` and `recordServed` changes wait to be written (ms). @default 5000 */
  flushMs?: number;
  /** Flush a record to the disk before renaming it into place. @default true */
  durable?: boolean;
  /** The room the share limit is of, given the cache's own bytes. Default: the file system's free bytes plus `cacheBytes`. */
  room?: (cacheBytes: number) => Promise<number | undefined>;
}

/** What `touch` is told about a content (the browser's TouchEntry). */
export interface TouchEntry {
  contentId: string;
  /** Default: `contentId`; else `simple:<contentId>`. */
  storageId?: string;
  /** The verified metadata, kept as its canonical JSON text. Omit in simple mode. */
  metadata?: Metadata;
  fileName?: string;
  fileSize?: number;
  bytesStored?: number;
  complete?: boolean;
  seedable?: boolean;
  /** Whether this process now uses the content (takes the lease). @default true */
  active?: boolean;
}

export interface CacheUsage {
  /** Bytes on disk: every recorded content's file, piece record and cache record. */
  cacheBytes: number;
  /** Sum of the records' `bytesStored`. */
  storedBytes: number;
  contents: number;
  pinnedBytes: number;
  /** The room the share limit is of (`room`), when known. */
  quota?: number;
}

export interface EnforceResult {
  /** Contents deleted, pieces and records, in the order the policy chose. */
  evicted: Eviction[];
  /** Contents the policy named that were not deleted: used again meanwhile, or the store refused (open). */
  kept: Array<{ storageId: string; reason: string }>;
  plan: EvictionPlan;
  usage: CacheUsage;
}

/** Opens the cache over `options.pieces`' directory: takes the directory's lock, then finds and recounts its records. */
export async function createDiskContentCache(options: DiskContentCacheOptions): Promise<DiskContentCache> {
  const directory = resolve(options.directory ?? options.pieces.directory);
  const dirs = [...new Set([resolve(options.pieces.directory), directory])];
  const locks: DirectoryLock[] = [];
  try {
    for (const dir of dirs) {
      await storageOp(`creating ${dir}`, () => mkdir(dir, { recursive: true }));
      locks.push(await lockDirectory(dir));
    }
    const { summaries, changed } = await storageOp('reading the cache records', () => scanCacheRecords(directory, options.pieces));
    const records = new CacheRecords(directory, summaries, { flushMs: options.flushMs ?? 5000, durable: options.durable ?? true });
    for (const id of changed) await records.write(id); // the recount's corrections
    return new DiskContentCache(options, records, locks);
  } catch (e) {
    await Promise.allSettled(locks.map((l) => l.release()));
    throw e;
  }
}

export class DiskContentCache implements ContentCache {
  private readonly pieces: DiskPieceStore;
  private readonly now: () => number;
  private readonly leaseMs: number;
  private readonly room: (cacheBytes: number) => Promise<number | undefined>;
  /** This process's lease holder name in the records it hands out. */
  private readonly holder = `pid:${process.pid}`;
  /** Leases: until when (ms) this process uses each content. */
  private readonly leases = new Map<string, number>();
  private closing: Promise<void> | undefined;

  /** Use `createDiskContentCache`. */
  constructor(
    options: DiskContentCacheOptions,
    /** The records, in memory and on disk. */
    readonly records: CacheRecords,
    private readonly locks: readonly DirectoryLock[],
  ) {
    this.pieces = options.pieces;
    this.now = options.now ?? Date.now;
    this.leaseMs = options.leaseMs ?? 120_000;
    this.room = options.room ?? ((cacheBytes) => freeBytesOf(records.directory).then((free) => (free === undefined ? undefined : free + cacheBytes)));
  }

  /** Creates or updates a content's record, counts a use, marks it used now and (unless `active: false`) leases it. */
  async touch(entry: TouchEntry): Promise<DiskCacheRecord> {
    this.ensureOpen();
    const storageId = checkStorageId(entry.storageId ?? entry.contentId);
    if (!SHA256_HEX.test(entry.contentId) || (storageId !== entry.contentId && storageId !== `simple:${entry.contentId}`)) {
      throw new TabswarmError('storage-error', `cache: ${storageId} is not the storage ID of content ${JSON.stringify(String(entry.contentId).slice(0, 80))}`);
    }
    const metadataJson = entry.metadata ? new TextDecoder().decode(encodeMetadata(entry.metadata)) : undefined;
    const at = this.now();
    const written = await this.records.modify(storageId, (old) => touched(entry, storageId, old, at), metadataJson);
    if (entry.active ?? true) this.leases.set(storageId, at + this.leaseMs);
    return this.recordOf(written!.summary, written!.metadataJson);
  }

  /** Sets the bytes stored (absolute) and, if given, `complete`; marks the content used and renews the lease. Undefined without a record. */
  async recordBytes(storageId: string, bytes: number, complete?: boolean): Promise<DiskCacheRecord | undefined> {
    this.ensureOpen();
    checkStorageId(storageId);
    const at = this.now();
    const written = await this.records.modify(storageId, (old) => old && { ...old, bytesStored: checkedBytes(storageId, bytes, old.fileSize), complete: complete ?? old.complete, lastUsedAt: at });
    if (!written) return undefined;
    this.leases.set(storageId, at + this.leaseMs);
    return this.recordOf(written.summary, written.metadataJson);
  }

  /** Recomputes `bytesStored` and `complete` from the store's pieces (never sets `complete`: only the whole-file check does). */
  async recount(storageId: string, sizes: Pick<Metadata, 'fileSize' | 'pieceSize'>): Promise<DiskCacheRecord | undefined> {
    this.ensureOpen();
    checkStorageId(storageId);
    const { fileSize, pieceSize } = sizes;
    if (!Number.isSafeInteger(pieceSize) || pieceSize < 1 || !Number.isSafeInteger(fileSize) || fileSize < 0) {
      throw new TabswarmError('storage-error', `cache: cannot recount ${storageId} by sizes ${JSON.stringify(sizes)}`);
    }
    const indexes = await this.pieces.list(storageId);
    const written = await this.records.modify(storageId, (old) => old && reconciled({ ...old, fileSize, pieceSize }, indexes));
    return written && this.recordOf(written.summary, written.metadataJson);
  }

  /** Marks contents used now and renews this process's lease on them; written within `flushMs`. */
  async renew(storageIds: Iterable<string>): Promise<void> {
    this.ensureOpen();
    const at = this.now();
    for (const id of storageIds) {
      const summary = isStorageId(id) ? this.records.summary(id) : undefined;
      if (!summary) continue;
      summary.lastUsedAt = at;
      this.leases.set(id, at + this.leaseMs);
      this.records.markDirty(id);
    }
  }

  async release(storageId: string): Promise<void> {
    this.leases.delete(storageId);
  }

  /**
   * Counts `bytes` served to peers from a content: its use for eviction (least-use.ts). Cheap:
   * memory only, the record written within `flushMs`. Marks the content used now and renews
   * its lease. False (nothing counted) if the content has no record, or the cache is closed (a
   * piece served while the node shuts down is not worth failing the serving path for).
   */
  recordServed(storageId: string, bytes: number): boolean {
    if (this.closing) return false;
    checkStorageId(storageId);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new TabswarmError('storage-error', `cache: cannot count ${bytes} bytes served of ${storageId}`);
    const summary = this.records.summary(storageId);
    if (!summary) return false;
    const at = this.now();
    summary.bytesServed = Math.min(Number.MAX_SAFE_INTEGER, summary.bytesServed + bytes);
    summary.lastServedAt = at;
    summary.lastUsedAt = at;
    this.leases.set(storageId, at + this.leaseMs);
    this.records.markDirty(storageId);
    return true;
  }

  /** Never evict it. Rejects with 'storage-error' if there is no such record. */
  pin(storageId: string): Promise<void> {
    return this.setPinned(storageId, true);
  }

  unpin(storageId: string): Promise<void> {
    return this.setPinned(storageId, false);
  }

  /** A content's record, its metadata text read from its file; undefined without a valid one. */
  async get(storageId: string): Promise<DiskCacheRecord | undefined> {
    this.ensureOpen();
    checkStorageId(storageId);
    const summary = this.records.summary(storageId);
    if (!summary) return undefined;
    // A file changed behind this process's back into something that is not a record is ignored, as at start.
    const file = await this.records.metadataOf(storageId);
    return file.found ? this.recordOf({ ...summary }, file.metadataJson) : undefined;
  }

  /** Every record, least recently used first (the records are read one after another). */
  async list(): Promise<DiskCacheRecord[]> {
    this.ensureOpen();
    const ids = this.records
      .all()
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.storageId < b.storageId ? -1 : 1))
      .map((s) => s.storageId);
    const out: DiskCacheRecord[] = [];
    for (const id of ids) {
      const record = await this.get(id);
      if (record) out.push(record);
    }
    return out;
  }

  /** Deletes a content's pieces, then its record; refused ('storage-error') while the store has the content open. */
  async remove(storageId: string): Promise<void> {
    this.ensureOpen();
    checkStorageId(storageId);
    await this.records.remove(storageId, () => this.pieces.delete(storageId));
    this.leases.delete(storageId);
  }

  /** What `enforce` would evict, deleting nothing; `leasesBind` false: as if no lease were held (the cache node stops those seeds first). */
  async plan(limits: CacheLimits, active: ReadonlySet<string> = new Set(), leasesBind = true): Promise<EvictionPlan> {
    this.ensureOpen();
    const at = this.now();
    const entries = [];
    for (const s of this.records.all()) entries.push({ ...s, bytes: await this.diskBytes(s.storageId), active: leasesBind ? this.isInUse(s.storageId, active) : active.has(s.storageId) });
    const cacheBytes = entries.reduce((sum, e) => sum + e.bytes, 0);
    return planEviction({ entries, limits, quota: await this.room(cacheBytes).catch(() => undefined), now: at, order: byLeastUse(at) });
  }

  /** Evicts what the policy names (age, then least use), never a content in `active`, leased or pinned. */
  async enforce(limits: CacheLimits, active: ReadonlySet<string> = new Set()): Promise<EnforceResult> {
    const plan = await this.plan(limits, active);
    const evicted: Eviction[] = [];
    const kept: EnforceResult['kept'] = [];
    for (const e of plan.evict) {
      const why = await this.evict(e.storageId, active).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (why === undefined) evicted.push(e);
      else kept.push({ storageId: e.storageId, reason: why });
    }
    return { evicted, kept, plan, usage: await this.usage() };
  }

  /** The cache's bytes on disk, its contents, its pinned bytes, and the room the share limit is of. */
  async usage(): Promise<CacheUsage> {
    this.ensureOpen();
    const usage: CacheUsage = { cacheBytes: 0, storedBytes: 0, contents: this.records.size, pinnedBytes: 0 };
    for (const s of this.records.all()) {
      const bytes = await this.diskBytes(s.storageId);
      usage.cacheBytes += bytes;
      usage.storedBytes += s.bytesStored;
      if (s.pinned) usage.pinnedBytes += bytes;
    }
    const quota = await this.room(usage.cacheBytes).catch(() => undefined);
    if (quota !== undefined) usage.quota = quota;
    return usage;
  }

  /** Storage IDs the store holds that have no record: the cache neither sizes nor evicts them (the caller touches or removes them). */
  async orphans(): Promise<string[]> {
    this.ensureOpen();
    return (await this.pieces.storageIds()).filter((id) => !this.records.summary(id));
  }

  /** Writes every record changed in memory now. */
  flush(): Promise<void> {
    return this.records.flush();
  }

  /** Writes what is pending, waits for the writes under way, and lets the directory go. Rejects if a last write failed (after letting go). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.records.close();
      } finally {
        this.leases.clear();
        await Promise.allSettled(this.locks.map((l) => l.release()));
      }
    })();
    return this.closing;
  }

  /** Deletes a content the plan named, unless it was touched, leased or pinned since (checked in its turn); why not, if not. */
  private evict(storageId: string, active: ReadonlySet<string>): Promise<string | undefined> {
    return this.records.remove(storageId, async () => {
      const s = this.records.summary(storageId);
      if (!s || s.pinned || this.isInUse(storageId, active)) throw new TabswarmError('storage-error', `cache: ${storageId} is ${s ? 'in use or pinned' : 'gone'} now`);
      await this.pieces.delete(storageId);
      this.leases.delete(storageId);
      return undefined;
    });
  }

  private async setPinned(storageId: string, pinned: boolean): Promise<void> {
    this.ensureOpen();
    checkStorageId(storageId);
    const written = await this.records.modify(storageId, (old) => old && { ...old, pinned });
    if (!written) throw new TabswarmError('storage-error', `cache: cannot ${pinned ? 'pin' : 'unpin'} ${storageId}: it is not in the cache`);
  }

  private isInUse(storageId: string, active: ReadonlySet<string>): boolean {
    return active.has(storageId) || (this.leases.get(storageId) ?? 0) > this.now();
  }

  private recordOf(summary: CacheSummary, metadataJson: string | undefined): DiskCacheRecord {
    const until = this.leases.get(summary.storageId);
    const record: DiskCacheRecord = { ...summary, leases: until !== undefined && until > this.now() ? { [this.holder]: until } : {} };
    if (metadataJson !== undefined) record.metadataJson = metadataJson;
    return record;
  }

  /** Bytes a content takes on disk: the store's file and piece record, and this record. */
  private async diskBytes(storageId: string): Promise<number> {
    return (await this.pieces.size(storageId)) + (await this.records.bytesOnDisk(storageId));
  }

  private ensureOpen(): void {
    if (this.closing) throw new TabswarmError('storage-error', `cache: ${this.records.directory} is closed`);
  }
}

/** A content's summary after `touch`: what the entry says over what the record said, used (once more) at `at`. */
function touched(entry: TouchEntry, storageId: string, old: CacheSummary | undefined, at: number): CacheSummary {
  const fileSize = entry.fileSize ?? entry.metadata?.fileSize ?? old?.fileSize ?? 0;
  const pieceSize = entry.metadata?.pieceSize ?? old?.pieceSize;
  const next: CacheSummary = {
    storageId,
    contentId: entry.contentId,
    fileName: entry.fileName ?? entry.metadata?.name ?? old?.fileName ?? '',
    fileSize,
    bytesStored: entry.bytesStored !== undefined ? checkedBytes(storageId, entry.bytesStored, fileSize) : Math.min(old?.bytesStored ?? 0, fileSize),
    complete: entry.complete ?? old?.complete ?? false,
    lastUsedAt: at,
    pinned: old?.pinned ?? false,
    seedable: entry.seedable ?? old?.seedable ?? false,
    addedAt: old?.addedAt ?? at,
    uses: (old?.uses ?? 0) + 1,
    bytesServed: old?.bytesServed ?? 0,
  };
  if (pieceSize !== undefined) next.pieceSize = pieceSize;
  if (old?.lastServedAt !== undefined) next.lastServedAt = old.lastServedAt;
  return next;
}

/** A byte count checked against the file's size (a record never claims more than the file). */
function checkedBytes(storageId: string, bytes: number, fileSize: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > fileSize) {
    throw new TabswarmError('storage-error', `cache: cannot record ${bytes} bytes stored for ${storageId} (a file of ${fileSize} bytes)`);
  }
  return bytes;
}

/** The bytes free to this user on the file system of `directory`; undefined where the platform cannot say. */
async function freeBytesOf(directory: string): Promise<number | undefined> {
  try {
    const s = await statfs(directory);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
