/**
 * The piece pass's file (piece-pass.ts's SyncFile) over IndexedDB, for browsers or pages
 * without OPFS: "the bytes at offset i * pieceSize" are the value of key `[storageId, i]` in
 * piece-layout.ts's object store. Runs in the pass worker. A piece's key exists only once its
 * write committed, so the keys are the record of what is held (nothing else to save).
 *
 * Values are written as ArrayBuffers, never as Blobs: a Blob made per piece keeps its bytes
 * until the collector frees its wrapper, which a busy worker rarely does (it once held hundreds
 * of MiB and then failed writes); an ArrayBuffer is copied into the request and nothing of it
 * stays. Values written as Blobs by earlier versions are still read.
 */
import { promisifyRequest, type UseStore } from 'idb-keyval';
import type { PieceLayout } from '../core/ports.js';
import { ownBuffer } from '../protocol/own-buffer.js';
import type { SyncFile } from './piece-pass.js';
import { openPieces, pieceKey, pieceRange } from './piece-layout.js';
import { writeWithRetry } from './write-with-retry.js';

export class IdbPieceIo implements SyncFile {
  private readonly store: UseStore;

  constructor(
    dbName: string,
    private readonly storageId: string,
    private readonly layout: PieceLayout,
  ) {
    this.store = openPieces(dbName);
  }

  /** The indexes stored (keys only). */
  async held(): Promise<number[]> {
    const keys = await this.store('readonly', (s) => promisifyRequest(s.getAllKeys(pieceRange(this.storageId))));
    return keys.map((key) => (key as [string, number])[1]).filter((i) => Number.isInteger(i) && i >= 0 && i < this.layout.pieceCount);
  }

  async read(buffer: Uint8Array, { at }: { at: number }): Promise<number> {
    const value = await this.store('readonly', (s) => promisifyRequest(s.get(pieceKey(this.storageId, this.indexAt(at))) as IDBRequest<unknown>));
    const bytes = await bytesOf(value);
    if (!bytes) return 0;
    const n = Math.min(bytes.byteLength, buffer.byteLength);
    buffer.set(bytes.subarray(0, n));
    return n;
  }

  async write(buffer: Uint8Array, { at }: { at: number }): Promise<number> {
    const key = pieceKey(this.storageId, this.indexAt(at));
    // Exactly the piece's bytes (IndexedDB clones the whole buffer of a view).
    const value = ownBuffer(buffer);
    await writeWithRetry(
      async (data) => {
        try {
          await this.store('readwrite', (s) => {
            s.put(value, key);
            return promisifyRequest(s.transaction);
          });
          return { data };
        } catch (e) {
          return { data, error: e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) } };
        }
      },
      buffer,
      `IndexedDB: storing piece ${key[1]} of ${this.storageId}`,
    );
    return buffer.byteLength;
  }

  async forget(at: number): Promise<void> {
    await this.store('readwrite', (s) => {
      s.delete(pieceKey(this.storageId, this.indexAt(at)));
      return promisifyRequest(s.transaction);
    });
  }

  flush(): void {}

  getSize(): number {
    return this.layout.fileSize;
  }

  truncate(): void {}

  close(): void {}

  private indexAt(at: number): number {
    return Math.floor(at / this.layout.pieceSize);
  }
}

/** A stored value's bytes: an ArrayBuffer (this version), a Blob (earlier ones), or a view. */
export async function bytesOf(value: unknown): Promise<Uint8Array | undefined> {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  return undefined;
}
