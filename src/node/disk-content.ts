/**
 * One content open in the disk store: its file (piece `i` at `i * pieceSize`, the last one
 * short; created at the content's full size, sparse where the file system allows), its record
 * (disk-record.ts), one handle on each, and two bitfields in memory (pieceCount / 8 bytes
 * each: 2 KiB for 16 GiB in 1 MiB pieces): the pieces written, and what the record says. No
 * piece's bytes are kept here.
 *
 * Crash safety: a piece's bit is set in the record only after its bytes are in the file.
 *   1. The piece is written at its offset (`write`); from then on the store holds it (`has`,
 *      `list`: the bytes are in the file, the kernel has them).
 *   2. A group commit, in the background, one at a time: the file is flushed (fdatasync, when
 *      `durable`), then the bits of every piece written before that flush are set in the
 *      record, their bitfield bytes written in place. Pieces written while a commit runs wait
 *      for the next one, so a fast download costs one flush per commit, not one per piece,
 *      and never waits for one.
 *   3. Forgetting a piece clears its bit before anything else; a held piece that is written
 *      again is forgotten first, so the record never claims bytes being rewritten.
 * So a process killed at any moment leaves a record naming only pieces whose bytes reached the
 * file, and with `durable` a power cut does too (the flush comes before the record write).
 * What a crash can lose is progress: pieces written but not yet recorded, fetched again after
 * a restart (`close` waits for the last commit). Record writes are serialized, so a write
 * never carries an older bitfield byte over a newer one; a torn record write leaves each byte
 * old or new, and both claim only written pieces. What the record cannot see (a disk that
 * rots, a byte changed by another program) the PieceFile catches when it hashes a piece again
 * (disk-piece-file.ts).
 *
 * A new record (a new content, or one whose record was not valid) is written aside, flushed and
 * renamed into place, after the old record is unlinked and the file is sized: a crash on the
 * way leaves no record, or an empty one.
 *
 * Every failure surfaces as TabswarmError('storage-error').
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Bitfield } from '../core/bitfield.js';
import { TabswarmError } from '../core/errors.js';
import type { PieceLayout } from '../core/ports.js';
import { RECORD_HEADER_BYTES, decodeRecord, emptyRecord, recordLength } from './disk-record.js';
import type { Limiter } from './limiter.js';
import { contentNameOf, recordNameOf, recordTempNameOf } from './storage-id.js';

export interface DiskContentOptions {
  /** Every piece read and write of the store goes through it. */
  limiter: Limiter;
  /** Flush a piece's bytes to the disk before its bit is recorded. */
  durable: boolean;
}

export class DiskContent {
  private closing: Promise<void> | undefined;
  /** Operations under way; `close` waits for them. */
  private readonly ops = new Set<Promise<unknown>>();
  /** The record's writes, one at a time, in order. */
  private recordTail: Promise<void> = Promise.resolve();
  /** Pieces written and not yet recorded: the next group commit's. */
  private readonly pending = new Set<number>();
  private commitQueued = false;
  /** Pieces whose bytes are in the file: what the store holds. */
  private readonly written: Bitfield;
  /** The last failure of a background commit (its pieces stay pending and are tried again). */
  commitError: unknown;

  private constructor(
    readonly storageId: string,
    readonly layout: PieceLayout,
    private readonly file: FileHandle,
    private readonly record: FileHandle,
    /** What the record on disk says (or a record write under way will say). */
    private readonly recorded: Bitfield,
    private readonly options: DiskContentOptions,
  ) {
    this.written = new Bitfield(layout.pieceCount, recorded.toBytes());
  }

  /**
   * Opens a content for `layout`: its record if one is valid for that layout and the file has
   * the content's size; otherwise the content starts empty (a new file, or the old one resized
   * and unclaimed).
   */
  static async create(directory: string, storageId: string, layout: PieceLayout, options: DiskContentOptions): Promise<DiskContent> {
    return storageOp(`opening ${storageId}`, async () => {
      const recordPath = join(directory, recordNameOf(storageId));
      const found = await loadRecord(recordPath, layout);
      const file = await openOrCreate(join(directory, contentNameOf(storageId)));
      try {
        let bits = found?.bits;
        if (!bits || (await file.stat()).size !== layout.fileSize) {
          bits = new Uint8Array(emptyRecord(layout).byteLength - RECORD_HEADER_BYTES);
          await unlinkIfThere(recordPath);
          await file.truncate(layout.fileSize);
          await writeAside(join(directory, recordTempNameOf(storageId)), recordPath, emptyRecord(layout));
        }
        const record = await open(recordPath, 'r+');
        return new DiskContent(storageId, layout, file, record, new Bitfield(layout.pieceCount, bits), options);
      } catch (e) {
        await file.close().catch(() => undefined);
        throw e;
      }
    });
  }

  /** Opens a content as its record describes it; undefined (and nothing changed on disk) if it has no valid record or file. */
  static async existing(directory: string, storageId: string, options: DiskContentOptions): Promise<DiskContent | undefined> {
    return storageOp(`opening ${storageId}`, async () => {
      const recordPath = join(directory, recordNameOf(storageId));
      const found = await loadRecord(recordPath);
      if (!found) return undefined;
      const file = await open(join(directory, contentNameOf(storageId)), 'r+').catch(ifMissing(undefined));
      if (!file) return undefined;
      try {
        if ((await file.stat()).size !== found.layout.fileSize) {
          await file.close();
          return undefined;
        }
        const record = await open(recordPath, 'r+');
        return new DiskContent(storageId, found.layout, file, record, new Bitfield(found.layout.pieceCount, found.bits), options);
      } catch (e) {
        await file.close().catch(() => undefined);
        throw e;
      }
    });
  }

  isPiece(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.layout.pieceCount;
  }

  pieceLength(index: number): number {
    return Math.min(this.layout.pieceSize, this.layout.fileSize - index * this.layout.pieceSize);
  }

  /** Whether piece `index` is stored (its bytes written; recorded now or with the next commit). */
  has(index: number): boolean {
    return this.isPiece(index) && this.written.has(index);
  }

  list(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.layout.pieceCount; i++) if (this.written.has(i)) out.push(i);
    return out;
  }

  /**
   * The bytes of piece `index` as the file has them now (undefined if it is not stored). Shorter than the piece only if the file was cut short behind the store's back.
   */
  read(index: number): Promise<Uint8Array | undefined> {
    return this.op(`reading piece ${index}`, async () => {
      if (!this.has(index)) return undefined;
      const out = new Uint8Array(this.pieceLength(index));
      const got = await this.options.limiter.run(() => readFully(this.file, out, index * this.layout.pieceSize));
      return got === out.byteLength ? out : out.subarray(0, got);
    });
  }

  /** Writes piece `index` (exactly its length; bytes the caller verified); the next group commit records it. */
  write(index: number, data: Uint8Array): Promise<void> {
    return this.op(`writing piece ${index}`, async () => {
      if (!this.isPiece(index)) throw new TabswarmError('storage-error', `there is no piece ${index}`);
      if (data.byteLength !== this.pieceLength(index)) throw new TabswarmError('storage-error', `piece ${index} is ${data.byteLength} bytes, not ${this.pieceLength(index)}`);
      if (this.written.has(index) || this.recorded.has(index)) await this.unrecord(index);
      await this.options.limiter.run(() => writeFully(this.file, data, index * this.layout.pieceSize));
      this.written.set(index);
      this.pending.add(index);
      this.scheduleCommit();
    });
  }

  /** Forgets piece `index`: clears its bit (its bytes stay in the file, unclaimed). */
  forget(index: number): Promise<void> {
    return this.op(`forgetting piece ${index}`, async () => {
      if (this.isPiece(index)) await this.unrecord(index);
    });
  }

  /** Waits for the operations under way and a last commit, then closes both handles; nothing is done after it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.ops.size > 0) await Promise.allSettled([...this.ops]);
      this.scheduleCommit();
      await this.recordTail;
      await Promise.allSettled([this.file.close(), this.record.close()]);
    })();
    return this.closing;
  }

  private op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new TabswarmError('storage-error', `${what} of ${this.storageId}: the content is closed`));
    const p = storageOp(`${what} of ${this.storageId}`, fn);
    this.ops.add(p);
    const done = () => void this.ops.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Queues a group commit unless one is queued: it takes the pieces pending when it starts,
   * flushes the file and records them. A commit that fails leaves them pending for the next.
   */
  private scheduleCommit(): void {
    if (this.commitQueued || this.pending.size === 0) return;
    this.commitQueued = true;
    void this.recordWrite(async () => {
      this.commitQueued = false;
      const batch = [...this.pending].filter((i) => this.written.has(i));
      this.pending.clear();
      if (batch.length === 0) return;
      const added: number[] = [];
      try {
        if (this.options.durable) await this.file.datasync();
        for (const i of batch) if (this.recorded.set(i)) added.push(i);
        await this.writeBits(added);
      } catch (e) {
        for (const i of added) this.recorded.unset(i);
        for (const i of batch) this.pending.add(i);
        this.commitError = e;
      }
    });
  }

  /** Clears piece `index`'s bit, written and recorded (then its bytes may change). */
  private unrecord(index: number): Promise<void> {
    this.written.unset(index);
    this.pending.delete(index);
    return this.recordWrite(async () => {
      if (this.recorded.unset(index)) await this.writeBits([index]);
    });
  }

  /** Writes the record's bitfield bytes that hold `indexes` (one span) from `recorded`. */
  private async writeBits(indexes: number[]): Promise<void> {
    if (indexes.length === 0) return;
    const first = Math.min(...indexes) >> 3;
    const last = Math.max(...indexes) >> 3;
    const span = new Uint8Array(last - first + 1);
    for (let k = first; k <= last; k++) span[k - first] = this.recorded.byteAt(k);
    await writeFully(this.record, span, RECORD_HEADER_BYTES + first);
  }

  private recordWrite(fn: () => Promise<void>): Promise<void> {
    const p = this.recordTail.then(fn);
    this.recordTail = p.catch(() => undefined);
    return p;
  }
}

/** Runs `fn`, turning any failure that is not already a TabswarmError into one of kind 'storage-error'. */
export async function storageOp<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TabswarmError) throw e;
    throw new TabswarmError('storage-error', `disk store: ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** A rejection handler that turns "no such file" into `value` and rethrows anything else. */
export function ifMissing<T>(value: T): (e: unknown) => T {
  return (e) => {
    if ((e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return value;
    throw e;
  };
}

export async function unlinkIfThere(path: string): Promise<void> {
  await unlink(path).catch(ifMissing(undefined));
}

/** A record at `path`, if it is a valid one (of `expected`, when given). Reads no more than a record's length. */
async function loadRecord(path: string, expected?: PieceLayout): Promise<ReturnType<typeof decodeRecord>> {
  const handle = await open(path, 'r').catch(ifMissing(undefined));
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    const header = new Uint8Array(RECORD_HEADER_BYTES);
    if (size < RECORD_HEADER_BYTES || (await readFully(handle, header, 0)) < RECORD_HEADER_BYTES) return undefined;
    if (recordLength(header) !== size) return undefined;
    const bytes = new Uint8Array(size);
    if ((await readFully(handle, bytes, 0)) !== size) return undefined;
    return decodeRecord(bytes, expected);
  } finally {
    await handle.close();
  }
}

async function openOrCreate(path: string): Promise<FileHandle> {
  return (await open(path, 'r+').catch(ifMissing(undefined))) ?? open(path, 'w+');
}

/** Writes `bytes` to `temp`, flushes it and renames it to `path`. */
async function writeAside(temp: string, path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(temp, 'w');
  try {
    await writeFully(handle, bytes, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.byteLength; ) {
    const { bytesWritten } = await handle.write(data, done, data.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/** Reads into `out` from `position` until it is full or the file ends; returns the bytes read. */
async function readFully(handle: FileHandle, out: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < out.byteLength) {
    const { bytesRead } = await handle.read(out, done, out.byteLength - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
