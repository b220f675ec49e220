/**
 * The Node cache's records (disk-content-cache.ts), in memory and on disk: every content's
 * summary (cache-record.ts's record without its metadata text) in a map, authoritative while
 * this process holds the directory, and one JSON file per content written from it.
 *
 * Per content, writes and removals run one at a time, in order (`turn`), so a file is never
 * written by two writes at once and a removal is never undone by a write that started before
 * it. A write takes the summary as it is when it runs, so it carries every change made so far;
 * `markDirty` asks for one within `flushMs` (the coalesced writes of frequent counters), and a
 * write made sooner for another reason takes its place. A write whose file system fails leaves
 * the content dirty, to be written again.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeCacheRecord, readCacheRecord, writeCacheRecord, type CacheSummary } from './cache-record.js';
import { ifMissing, storageOp, unlinkIfThere } from './disk-content.js';
import { cacheRecordNameOf, cacheRecordTempNameOf } from './storage-id.js';

export class CacheRecords {
  /** Contents whose summary changed since their file was written, each with its write's timer. */
  private readonly dirty = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per storage ID, the tail of its writes and removals. */
  private readonly turns = new Map<string, Promise<unknown>>();
  private closed = false;
  /** The last failure of a background write. */
  flushError: unknown;

  constructor(
    readonly directory: string,
    private readonly summaries: Map<string, CacheSummary>,
    private readonly options: { flushMs: number; durable: boolean },
  ) {}

  /** The summary of a content (the live object: changes to it are written by the next write), or undefined. */
  summary(storageId: string): CacheSummary | undefined {
    return this.summaries.get(storageId);
  }

  all(): CacheSummary[] {
    return [...this.summaries.values()];
  }

  get size(): number {
    return this.summaries.size;
  }

  /** The metadata text the content's file holds; `found: false` if the file is not a valid record of it (or is missing). */
  async metadataOf(storageId: string): Promise<{ found: true; metadataJson: string | undefined } | { found: false }> {
    const r = await storageOp(`reading the record of ${storageId}`, () => readCacheRecord(this.pathOf(storageId), storageId));
    return r ? { found: true, metadataJson: r.metadataJson } : { found: false };
  }

  /**
   * Changes one record in its turn: `change` gets a copy of the summary (undefined if none) and
   * returns the new one, which is kept and written with `metadataJson` (default: the text the
   * file holds now). Resolves with what was written; undefined (nothing written) when `change`
   * returns undefined.
   */
  modify(
    storageId: string,
    change: (old: CacheSummary | undefined) => CacheSummary | undefined,
    metadataJson?: string,
  ): Promise<{ summary: CacheSummary; metadataJson: string | undefined } | undefined> {
    return this.turn(storageId, () =>
      storageOp(`writing the record of ${storageId}`, async () => {
        const old = this.summaries.get(storageId);
        const next = change(old && { ...old });
        if (!next) return undefined;
        this.summaries.set(storageId, next);
        this.clean(storageId); // this write carries every change so far
        try {
          // A file that no longer parses has no metadata to carry over: the record is written without.
          const text = metadataJson ?? (await readCacheRecord(this.pathOf(storageId), storageId).catch(() => undefined))?.metadataJson;
          await writeCacheRecord(this.pathOf(storageId), join(this.directory, cacheRecordTempNameOf(storageId)), encodeCacheRecord(next, text), this.options.durable);
          return { summary: { ...next }, metadataJson: text };
        } catch (e) {
          this.markDirty(storageId);
          throw e;
        }
      }),
    );
  }

  /** Runs `before` (the pieces' deletion) in the content's turn, then deletes its record and forgets it. */
  remove<T>(storageId: string, before: () => Promise<T>): Promise<T> {
    return this.turn(storageId, async () => {
      const result = await before();
      await storageOp(`deleting the record of ${storageId}`, async () => {
        await unlinkIfThere(this.pathOf(storageId));
        await unlinkIfThere(join(this.directory, cacheRecordTempNameOf(storageId)));
      });
      this.clean(storageId);
      this.summaries.delete(storageId);
      return result;
    });
  }

  /** Asks for a write of the content's record within `flushMs` (one pending per content). */
  markDirty(storageId: string): void {
    if (this.dirty.has(storageId) || this.closed) return;
    const timer = setTimeout(() => {
      void this.write(storageId).catch((e: unknown) => (this.flushError = e));
    }, this.options.flushMs);
    timer.unref?.(); // pending counts do not keep a process alive: `close` writes them
    this.dirty.set(storageId, timer);
  }

  /** Writes the content's record from its summary now (nothing if it has none). */
  async write(storageId: string): Promise<void> {
    await this.modify(storageId, (old) => old);
  }

  /** Writes every record changed since its last write; rejects with the first failure, after trying them all. */
  async flush(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all([...this.dirty.keys()].map((id) => this.write(id).catch((e: unknown) => void errors.push(e))));
    if (errors.length > 0) throw errors[0];
  }

  /** Writes what is pending, then waits for every write under way; no write is scheduled after it. */
  async close(): Promise<void> {
    let failure: unknown;
    await this.flush().catch((e: unknown) => (failure = e));
    this.closed = true;
    for (const id of [...this.dirty.keys()]) this.clean(id);
    await Promise.allSettled([...this.turns.values()]);
    if (failure !== undefined) throw failure;
  }

  /** Bytes the record file takes on disk (its blocks where the platform says), 0 without one. */
  async bytesOnDisk(storageId: string): Promise<number> {
    const s = await storageOp(`sizing the record of ${storageId}`, () => stat(this.pathOf(storageId)).catch(ifMissing(undefined)));
    if (!s) return 0;
    return Number.isFinite(s.blocks) && s.blocks > 0 ? s.blocks * 512 : s.size;
  }

  /** Runs `fn` after every earlier turn of `storageId`. */
  turn<T>(storageId: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.turns.get(storageId) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.turns.set(storageId, tail);
    void tail.then(() => {
      if (this.turns.get(storageId) === tail) this.turns.delete(storageId);
    });
    return run;
  }

  private clean(storageId: string): void {
    const timer = this.dirty.get(storageId);
    if (timer !== undefined) clearTimeout(timer);
    this.dirty.delete(storageId);
  }

  private pathOf(storageId: string): string {
    return join(this.directory, cacheRecordNameOf(storageId));
  }
}
