/**
 * The piece pass over one content's file (the OPFS store's worker runs it; DOM-free, so a Node
 * test drives it over an in-memory file). A piece arrives once, its buffer transferred; here it
 * is hashed against the metadata, written at its offset, and fed to the whole-file SHA-256;
 * the caller gets the verdict and nothing else. Serving reads and hashes again here too.
 *
 * The whole-file hash runs as the file fills: `next` is the first piece not yet fed. A piece
 * that arrives as `next` is fed from the bytes in hand. One that arrives a little ahead (the
 * CDN's few requests in flight finish out of order) is copied into a small reorder window of
 * `reorderPieces` buffers and fed once the gap before it fills: no read-back, so the hash keeps
 * pace with the download and nothing is allocated per piece. One further ahead (a peer's
 * rarest-first piece, a resumed file) waits on disk and is read back, into one scratch buffer,
 * once the gap fills. So the hash is done a moment after the last piece lands, and memory is a
 * few pieces whatever the file size.
 *
 * Which pieces are held is recorded through a HeldLog right after each piece's write (OPFS: a
 * byte of the `.held` file beside it, written synchronously; IndexedDB: the piece's key is its
 * own record): a piece recorded as held was written first, and a tab closed at any moment
 * loses no piece it stored. A write that fails leaves the piece unrecorded (it is fetched
 * again; nothing unverified is ever served).
 */
import { Bitfield } from '../core/bitfield.js';
import { TabswarmError } from '../core/errors.js';
import type { Admitted, PieceLayout, StoredPiece } from '../core/ports.js';
import { toHex } from '../protocol/hex.js';

/**
 * Where the pass keeps bytes: a FileSystemSyncAccessHandle's shape (reads and writes at an
 * offset). OPFS gives exactly this, synchronously; the IndexedDB backend (idb-piece-io.ts)
 * answers the same calls asynchronously, a piece per key.
 */
export interface SyncFile {
  read(buffer: Uint8Array, options: { at: number }): number | Promise<number>;
  write(buffer: Uint8Array, options: { at: number }): number | Promise<number>;
  flush(): void;
  getSize(): number;
  truncate(size: number): void;
  close(): void;
  /** Drops the bytes at [at, at + length) where the backend can (IndexedDB deletes the piece's key). */
  forget?(at: number, length: number): Promise<void>;
}

/** SHA-256 as the worker has it: one-shot (WebCrypto where there is one) and incremental (WebAssembly). */
export interface PassHashing {
  digest(bytes: Uint8Array): Promise<Uint8Array>;
  createStream(): Promise<{ update(bytes: Uint8Array): void; digest(): Uint8Array }>;
}

/** Where the pass records which pieces are on disk. */
export interface HeldLog {
  /** Piece `index` was written (or forgotten); `held` is the whole set after the change. */
  mark(index: number, held: Bitfield): void | Promise<void>;
  /** Makes the record durable (with the file's own flush). */
  flush?(): void;
  close?(): void;
}

export interface PiecePassOptions {
  file: SyncFile;
  layout: PieceLayout;
  hashing: PassHashing;
  /** What the log recorded as held (a bitfield's bytes), if anything. */
  held?: Uint8Array;
  log: HeldLog;
  /** Whether `bytes` more would go over the origin's quota (asked when a write comes up short). */
  quotaExhausted?: (bytes: number) => Promise<boolean>;
  /** Yields to the worker's message loop between read-backs (the catch-up of a resumed file is long). */
  yieldNow?: () => Promise<void>;
  /** Pieces that came ahead of the whole-file hash kept in memory rather than read back. Default 8. */
  reorderPieces?: number;
}

/** What Chromium's sync access handle returns from a write it refused for room (base::File::FILE_ERROR_NO_SPACE). */
const FILE_ERROR_NO_SPACE = -8;

export class PiecePass {
  readonly held: Bitfield;
  private readonly file: SyncFile;
  private readonly layout: PieceLayout;
  private readonly hashing: PassHashing;
  private stream: { update(bytes: Uint8Array): void; digest(): Uint8Array } | undefined;
  /** The first piece not yet fed to the whole-file hash. */
  private next = 0;
  /** The catch-up under way; it never rejects: a failed read-back is kept in `catchUpFailure`. */
  private catchingUp: Promise<void> | undefined;
  /** Why the last catch-up stopped short, for `fileSha256` (a later admit tries again). */
  private catchUpFailure: unknown;
  private scratch: Uint8Array | undefined;
  /** Early pieces' bytes by index (the reorder window), and the window's spare buffers. */
  private readonly early = new Map<number, Uint8Array>();
  private readonly spare: Uint8Array[] = [];
  private readonly reorderPieces: number;
  private closed = false;
  /** Pieces read back from the file for the whole-file hash (not fed from the bytes in hand). */
  readBacks = 0;

  /** Pieces fed to the whole-file hash so far (all of them from the first on). */
  get hashed(): number {
    return this.next;
  }

  constructor(private readonly options: PiecePassOptions) {
    this.file = options.file;
    this.layout = options.layout;
    this.hashing = options.hashing;
    this.held = new Bitfield(options.layout.pieceCount, options.held);
    this.reorderPieces = options.reorderPieces ?? 8;
  }

  /**
   * Cuts a file longer than the content (left by another layout) to its size, and starts the
   * whole-file hash over what is already held. (Browsers count the bytes written against the
   * quota, not a file's length: room is checked before, core/storage-room.ts.)
   */
  async open(): Promise<void> {
    if (this.file.getSize() > this.layout.fileSize) {
      try {
        this.file.truncate(this.layout.fileSize);
      } catch (e) {
        throw storageError(e, `cutting the file to ${this.layout.fileSize} bytes`);
      }
    }
    this.stream = await this.hashing.createStream();
    this.catchUp();
  }

  list(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.layout.pieceCount; i++) if (this.held.has(i)) out.push(i);
    return out;
  }

  async admit(index: number, bytes: Uint8Array, expectedSha256: string | undefined): Promise<Admitted> {
    this.check(index);
    if (bytes.byteLength !== this.length(index)) return { stored: false, reason: `piece ${index} has ${bytes.byteLength} bytes` };
    if (expectedSha256 !== undefined) {
      const actual = toHex(await this.hashing.digest(bytes));
      if (actual !== expectedSha256) return { stored: false, reason: `piece ${index} failed SHA-256 verification` };
    }
    if (this.closed) throw new TabswarmError('aborted', 'the piece file is closed');
    if (this.held.has(index)) return { stored: true };
    // Fed before the write, in the order of verification: a slow write (IndexedDB's) does not
    // push the pieces after it out of the window. A write that then fails fails the download,
    // and a pass opened again starts its hash over.
    this.feed(index, bytes);
    await this.writeAt(index, bytes);
    if (this.closed) throw new TabswarmError('aborted', 'the piece file is closed');
    if (!this.held.set(index)) return { stored: true };
    await this.options.log.mark(index, this.held);
    this.catchUp();
    // A piece far ahead of the hash waits while the catch-up reads back what lies before it:
    // the hash keeps pace with the download (the scheduler asks for nothing more while pieces
    // wait here), instead of being left with a backlog to read when the last piece lands. The
    // catch-up stops at the first piece not held, so this never waits on a piece to come.
    while (this.catchingUp && !this.closed && index - this.next > 4 * this.reorderPieces) await this.catchingUp;
    return { stored: true };
  }

  async read(index: number, expectedSha256?: string): Promise<StoredPiece> {
    this.check(index);
    if (!this.held.has(index)) return { missing: true };
    const bytes = new Uint8Array(this.length(index));
    await this.readAt(index, bytes);
    if (expectedSha256 !== undefined) {
      const actual = toHex(await this.hashing.digest(bytes));
      if (actual !== expectedSha256) {
        return { corrupt: `stored piece ${index} no longer matches its SHA-256 (${actual.slice(0, 12)}…, expected ${expectedSha256.slice(0, 12)}…)` };
      }
    }
    return { bytes };
  }

  async remove(index: number): Promise<void> {
    if (!this.held.unset(index)) return;
    this.release(index);
    await this.options.log.mark(index, this.held);
    await this.file.forget?.(index * this.layout.pieceSize, this.length(index));
  }

  /** The file's SHA-256 once every piece is held: the feed is done by then, or nearly. */
  async fileSha256(): Promise<string> {
    if (!this.held.complete) throw new TabswarmError('storage-error', `piece ${this.firstMissing()} is not stored`);
    this.catchUp();
    while (this.catchingUp) await this.catchingUp;
    if (this.next < this.layout.pieceCount) {
      throw this.catchUpFailure ?? new TabswarmError('storage-error', `piece ${this.next} vanished from storage`);
    }
    // No flush here: the bytes are the OS's once written (a closed or crashed tab loses none);
    // syncing gigabytes to the disk would only delay 'complete'. close() flushes.
    return toHex(this.stream!.digest());
  }

  /** Flushes the file and the record, and closes both. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
    } finally {
      this.file.close();
      this.options.log.close?.();
    }
  }

  /** Makes what was written durable: the bytes first, then the record of them. */
  flush(): void {
    this.file.flush();
    this.options.log.flush?.();
  }

  /**
   * A verified piece's bytes for the whole-file hash: fed now if it is the next one (then the
   * window's pieces that follow it), kept in the window if a little ahead and there is room,
   * else left to be read back once the gap before it fills. Feeds each piece at most once: a
   * second copy is behind `next` or already in the window.
   */
  private feed(index: number, bytes: Uint8Array): void {
    if (!this.stream) return;
    if (index === this.next) {
      this.stream.update(bytes);
      this.release(index);
      this.next++;
      this.feedEarly();
    } else if (index > this.next && index < this.next + 4 * this.reorderPieces && this.early.size < this.reorderPieces && !this.early.has(index)) {
      this.keepEarly(index, bytes);
    }
  }

  /** Copies an early piece into the reorder window (its buffer goes back to the page). */
  private keepEarly(index: number, bytes: Uint8Array): void {
    const buffer = this.spare.pop() ?? new Uint8Array(this.layout.pieceSize);
    const copy = buffer.subarray(0, bytes.byteLength);
    copy.set(bytes);
    this.early.set(index, copy);
  }

  /** Feeds the pieces of the window that are next, in order. */
  private feedEarly(): void {
    for (let bytes = this.early.get(this.next); bytes; bytes = this.early.get(this.next)) {
      this.stream!.update(bytes);
      this.release(this.next);
      this.next++;
    }
  }

  private release(index: number): void {
    const bytes = this.early.get(index);
    if (!bytes) return;
    this.early.delete(index);
    this.spare.push(new Uint8Array(bytes.buffer));
  }

  /**
   * Feeds the whole-file hash every held piece from `next` on: from the reorder window where it
   * is there, else read back from the file, yielding between read-backs.
   */
  private catchUp(): void {
    if (this.catchingUp || this.closed || !this.stream || !this.held.has(this.next)) return;
    this.catchUpFailure = undefined;
    this.catchingUp = (async () => {
      for (;;) {
        this.feedEarly();
        if (this.closed || this.next >= this.layout.pieceCount || !this.held.has(this.next)) break;
        const length = this.length(this.next);
        this.scratch ??= new Uint8Array(this.layout.pieceSize);
        const view = this.scratch.subarray(0, length);
        await this.readAt(this.next, view);
        this.readBacks++;
        this.stream!.update(view);
        this.next++;
        await (this.options.yieldNow?.() ?? Promise.resolve());
      }
    })()
      .catch((e: unknown) => {
        // Nobody may be waiting (admit waits only when far ahead): kept, not left unhandled.
        this.catchUpFailure = e;
      })
      .finally(() => {
        this.catchingUp = undefined;
      });
  }

  private async writeAt(index: number, bytes: Uint8Array): Promise<void> {
    let written: number;
    try {
      written = await this.file.write(bytes, { at: index * this.layout.pieceSize });
    } catch (e) {
      throw storageError(e, `writing piece ${index}`);
    }
    if (written !== bytes.byteLength) {
      // Chromium's sync handle (156) reports a write it refused for room as a count of -8,
      // base::File's FILE_ERROR_NO_SPACE, instead of throwing QuotaExceededError; a short count
      // with the estimate over the quota is the same thing.
      if ((written | 0) === FILE_ERROR_NO_SPACE || (await this.options.quotaExhausted?.(bytes.byteLength))) {
        throw new TabswarmError('storage-full', `writing piece ${index} failed: the browser's storage quota is exhausted`);
      }
      throw new TabswarmError('storage-error', `writing piece ${index}: ${written >>> 0} of ${bytes.byteLength} bytes written`);
    }
  }

  private async readAt(index: number, into: Uint8Array): Promise<void> {
    const got = await this.file.read(into, { at: index * this.layout.pieceSize });
    if (got !== into.byteLength) throw new TabswarmError('storage-error', `reading piece ${index}: ${got} of ${into.byteLength} bytes`);
  }

  private length(index: number): number {
    return Math.min(this.layout.pieceSize, this.layout.fileSize - index * this.layout.pieceSize);
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.pieceCount) throw new TabswarmError('storage-error', `no piece ${index} in a file of ${this.layout.pieceCount}`);
  }

  private firstMissing(): number {
    let i = 0;
    while (i < this.layout.pieceCount && this.held.has(i)) i++;
    return i;
  }
}

function storageError(e: unknown, what: string): TabswarmError {
  if (e instanceof TabswarmError) return e;
  const name = e instanceof Error ? e.name : '';
  if (name === 'QuotaExceededError') return new TabswarmError('storage-full', `${what} failed: the browser's storage quota is exhausted (QuotaExceededError)`, { cause: e });
  return new TabswarmError('storage-error', `${what} failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
}
