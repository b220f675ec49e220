/**
 * A PieceStore (core/ports.ts) on a Node file system, for the Connected Cache and the
 * `tabswarm get` command: in one directory, per content, a file of its bytes as laid out in
 * the content and a record beside it of which pieces are stored (disk-content.ts: the order
 * of writes that keeps the record honest through a crash; disk-record.ts: its format;
 * storage-id.ts: the names).
 *
 * The contract, beyond the port's:
 *   - Storage IDs are content IDs or `simple:<content ID>`; any other string is refused with
 *     TabswarmError 'storage-error' before it is near a path. Every failure is a TabswarmError
 *     ('storage-error', or 'aborted' for a closed PieceFile).
 *   - The layout is learnt at `open` and kept in the record. `list`, `get` and `remove` work on
 *     any content with a valid record, opened in this process or not; without one a content
 *     holds nothing (`[]`, undefined, nothing to do). `put` needs the layout: it refuses a
 *     content never opened (no valid record). None of them change a record they do not trust;
 *     `open` replaces one that does not parse or does not fit the layout by an empty one.
 *   - `get` returns the bytes on disk without hashing them (the whole-file check and the
 *     PieceFile's `read` with a SHA-256 are what catch a changed piece).
 *   - Memory: the bitfield of each open content and at most `maxConcurrentIo` piece buffers in
 *     the disk's hands (plus what the core's whole-file hash holds while a download runs);
 *     one handle on the file and one on the record per open content, shared by everything
 *     that uses it, closed when the last user is done.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TabswarmError } from '../core/errors.js';
import type { Hasher, PieceFile, PieceLayout, PieceStore } from '../core/ports.js';
import { DiskContent, ifMissing, storageOp, unlinkIfThere, type DiskContentOptions } from './disk-content.js';
import { diskPieceFile } from './disk-piece-file.js';
import { isLayout, sameLayout } from './disk-record.js';
import { Limiter } from './limiter.js';
import { createNodeHasher } from './node-hasher.js';
import { checkStorageId, contentNameOf, recordNameOf, recordTempNameOf, storageIdOfRecord } from './storage-id.js';

export interface DiskPieceStoreOptions {
  /** Where the contents' files and records go; created if missing. */
  directory: string;
  /** Hashes pieces for `open`'s PieceFile (default: node:crypto, createNodeHasher). */
  hasher?: Hasher;
  /** Piece reads and writes under way at once, across contents (default 4). */
  maxConcurrentIo?: number;
  /**
   * Flush a piece's bytes to the disk (fdatasync) before its bit is recorded, so that the
   * record survives a power cut as well as a crash (default true; pieces written together
   * share one flush).
   */
  durable?: boolean;
}

export class DiskPieceStore implements PieceStore {
  readonly directory: string;
  private readonly hasher: Hasher;
  private readonly contentOptions: DiskContentOptions;
  private ready: Promise<void> | undefined;
  /** Open contents and how many users hold each. */
  private readonly contents = new Map<string, { content: DiskContent; users: number }>();
  /** Per storage ID, the tail of its opens, releases and deletes (run one at a time). */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(options: DiskPieceStoreOptions) {
    this.directory = options.directory;
    this.hasher = options.hasher ?? createNodeHasher();
    this.contentOptions = { limiter: new Limiter(options.maxConcurrentIo ?? 4), durable: options.durable ?? true };
  }

  async open(storageId: string, layout: PieceLayout): Promise<PieceFile> {
    checkStorageId(storageId);
    if (!isLayout(layout)) throw new TabswarmError('storage-error', `not a layout: ${JSON.stringify(layout)}`);
    const content = await this.acquire(storageId, layout);
    let released = false;
    return diskPieceFile(content!, this.hasher, () => {
      if (released) return;
      released = true;
      void this.release(storageId).catch(() => undefined);
    });
  }

  async list(storageId: string): Promise<number[]> {
    return (await this.using(storageId, async (content) => content?.list())) ?? [];
  }

  async get(storageId: string, index: number): Promise<Uint8Array | undefined> {
    return this.using(storageId, async (content) => content?.read(index));
  }

  async put(storageId: string, index: number, data: Uint8Array): Promise<void> {
    await this.using(storageId, async (content) => {
      if (!content) throw new TabswarmError('storage-error', `disk store: ${storageId} was never opened here (its layout is unknown)`);
      await content.write(index, data);
    });
  }

  async remove(storageId: string, index: number): Promise<void> {
    await this.using(storageId, async (content) => content?.forget(index));
  }

  /**
   * Bytes a content takes on disk, its file and record: the blocks allocated where the
   * platform reports them (the file is sparse until its pieces come), else the files' sizes.
   * 0 for a content with nothing here.
   */
  async size(storageId: string): Promise<number> {
    checkStorageId(storageId);
    return storageOp(`sizing ${storageId}`, async () => {
      let bytes = 0;
      for (const name of [contentNameOf(storageId), recordNameOf(storageId)]) {
        const s = await stat(join(this.directory, name)).catch(ifMissing(undefined));
        if (s) bytes += Number.isFinite(s.blocks) && s.blocks > 0 ? s.blocks * 512 : s.size;
      }
      return bytes;
    });
  }

  /** Removes a content's record, then its file (bytes without a record are never read). Refused while the content is open. */
  async delete(storageId: string): Promise<void> {
    checkStorageId(storageId);
    await this.turn(storageId, () =>
      storageOp(`deleting ${storageId}`, async () => {
        if (this.contents.has(storageId)) throw new TabswarmError('storage-error', `disk store: ${storageId} is open`);
        for (const name of [recordNameOf(storageId), recordTempNameOf(storageId), contentNameOf(storageId)]) await unlinkIfThere(join(this.directory, name));
      }),
    );
  }

  /** The storage IDs that have a record here (valid or not: `list` says what it holds). */
  async storageIds(): Promise<string[]> {
    return storageOp('listing contents', async () => {
      const names = await readdir(this.directory).catch(ifMissing([] as string[]));
      return names.flatMap((name) => storageIdOfRecord(name) ?? []).sort();
    });
  }

  /** The path of a content's file (complete once `list` names every piece). */
  contentPath(storageId: string): string {
    return join(this.directory, contentNameOf(checkStorageId(storageId)));
  }

  /**
   * Closes every open content (after the reads and writes under way and a last commit of the
   * record); PieceFiles still open fail from then on. Resolves when every content closed so far
   * is closed: then another store may take the directory (two at once would write the same
   * records).
   */
  async close(): Promise<void> {
    await Promise.all(
      [...this.contents.keys()].map((id) =>
        this.turn(id, async () => {
          const entry = this.contents.get(id);
          this.contents.delete(id);
          await entry?.content.close();
        }),
      ),
    );
    // Contents let go just before (a PieceFile closed) may still be closing in their turn.
    await Promise.all([...this.turns.values()]);
  }

  /** Runs `fn` with the content open (undefined if it has no valid record here), then lets it go. */
  private async using<T>(storageId: string, fn: (content: DiskContent | undefined) => Promise<T>): Promise<T> {
    checkStorageId(storageId);
    const content = await this.acquire(storageId);
    try {
      return await fn(content);
    } finally {
      if (content) await this.release(storageId);
    }
  }

  /**
   * One more user of a content: the open one, or the content opened now. With `layout`, as a
   * download opens it (a new or invalid record starts empty); without, only as its record
   * says (undefined if it has none).
   */
  private acquire(storageId: string, layout?: PieceLayout): Promise<DiskContent | undefined> {
    return this.turn(storageId, async () => {
      const entry = this.contents.get(storageId);
      if (entry) {
        if (layout && !sameLayout(entry.content.layout, layout)) {
          throw new TabswarmError('storage-error', `disk store: ${storageId} is open with another layout`);
        }
        entry.users++;
        return entry.content;
      }
      await (this.ready ??= storageOp('creating the directory', async () => void (await mkdir(this.directory, { recursive: true }))).catch((e: unknown) => {
        this.ready = undefined; // tried again by the next open
        throw e;
      }));
      const content = layout
        ? await DiskContent.create(this.directory, storageId, layout, this.contentOptions)
        : await DiskContent.existing(this.directory, storageId, this.contentOptions);
      if (content) this.contents.set(storageId, { content, users: 1 });
      return content;
    });
  }

  private release(storageId: string): Promise<void> {
    return this.turn(storageId, async () => {
      const entry = this.contents.get(storageId);
      if (!entry || --entry.users > 0) return;
      this.contents.delete(storageId);
      await entry.content.close();
    });
  }

  /** Runs `fn` after every earlier turn of `storageId`. */
  private turn<T>(storageId: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.turns.get(storageId) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(storageId, tail);
    void tail.then(() => {
      if (this.turns.get(storageId) === tail) this.turns.delete(storageId);
    });
    return run;
  }
}
