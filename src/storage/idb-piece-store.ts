/**
 * The PieceStore port in the browser: verified pieces in IndexedDB, through idb-keyval.
 *
 * The layout (one object store, keys `[contentId, index]`, Blob values) is piece-layout.ts's.
 * Values are Blobs: the browser keeps
 * large ones on disk, and `assemble` composes those disk-backed Blobs into the file without
 * ever holding it in memory. Every IndexedDB failure (quota, private mode, a database in the
 * wrong shape) surfaces as TabswarmError('storage-error').
 */
import { promisifyRequest } from 'idb-keyval';
import { TabswarmError } from '../core/errors.js';
import type { PieceStore } from '../core/ports.js';
import { openPieces, pieceKey, pieceRange } from './piece-layout.js';
import { createPieceWriter } from './piece-writer.js';
import { asStorageError } from './storage-error.js';
import { writeWithRetry } from './write-with-retry.js';

export function createIdbPieceStore(dbName = 'tabswarm'): PieceStore & {
  /** The whole file as one Blob of pieces 0..pieceCount-1; rejects if one is missing. */
  assemble(contentId: string, pieceCount: number, mimeType: string): Promise<Blob>;
  /** Deletes every stored piece of `contentId`. */
  clear(contentId: string): Promise<void>;
  /** Ends the writer worker. */
  close(): void;
  /** Deletes one stored piece (one that failed its check when read back: core/verify-stored.ts). */
  remove(contentId: string, index: number): Promise<void>;
  /** The storage IDs that have pieces stored, in key order; walks keys only, one step per content. */
  storageIds(): Promise<string[]>;
} {
  const store = openPieces(dbName);
  // Writes go through a recycled worker (storage/piece-writer.ts says why); reads stay here.
  const writer = createPieceWriter(dbName);
  const range = pieceRange;

  const op = <T>(what: string, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => T | PromiseLike<T>): Promise<T> =>
    asStorageError(dbName, what, () => store(mode, fn));

  return {
    async list(contentId) {
      const keys = await op(`listing pieces of ${contentId}`, 'readonly', (s) => promisifyRequest(s.getAllKeys(range(contentId))));
      return keys.map((key) => (key as [string, number])[1]);
    },

    async get(contentId, index) {
      const what = `reading piece ${index} of ${contentId}`;
      const blob = await op(what, 'readonly', (s) => promisifyRequest(s.get(pieceKey(contentId, index)) as IDBRequest<unknown>));
      if (blob === undefined) return undefined;
      if (!(blob instanceof Blob)) throw new TabswarmError('storage-error', `IndexedDB "${dbName}": ${what}: not a Blob`);
      return asStorageError(dbName, what, async () => new Uint8Array(await blob.arrayBuffer()));
    },

    async put(contentId, index, data) {
      const write = (bytes: Uint8Array) => writer.put(contentId, index, bytes);
      return writeWithRetry(write, data, `IndexedDB "${dbName}": storing piece ${index} of ${contentId}`);
    },

    async assemble(contentId, pieceCount, mimeType) {
      if (pieceCount === 0) return new Blob([], { type: mimeType });
      const r = range(contentId, 0, pieceCount - 1);
      // Keys and values read in one transaction, so they describe the same pieces.
      const [keys, blobs] = await op(`assembling ${contentId}`, 'readonly', (s) =>
        Promise.all([promisifyRequest(s.getAllKeys(r)), promisifyRequest(s.getAll(r) as IDBRequest<Blob[]>)]),
      );
      for (let i = 0; i < pieceCount; i++) {
        const key = keys[i] as [string, number] | undefined;
        if (key?.[1] !== i) throw new TabswarmError('storage-error', `IndexedDB "${dbName}": piece ${i} of ${contentId} is missing`);
      }
      return new Blob(blobs, { type: mimeType });
    },

    close() {
      writer.close();
    },

    async remove(contentId, index) {
      await op(`deleting piece ${index} of ${contentId}`, 'readwrite', (s) => {
        s.delete(pieceKey(contentId, index));
        return promisifyRequest(s.transaction);
      });
    },

    async storageIds() {
      return op('listing stored contents', 'readonly', (s) => {
        const ids: string[] = [];
        return new Promise<string[]>((resolve, reject) => {
          const request = s.openKeyCursor();
          request.onerror = () => reject(request.error);
          request.onsuccess = () => {
            const cursor = request.result;
            if (!cursor) return resolve(ids);
            const id = (cursor.key as [string, number])[0];
            ids.push(id);
            // An array sorts after every number, so [id, []] is just past the last piece of id.
            cursor.continue([id, []]);
          };
        });
      });
    },

    async clear(contentId) {
      await op(`clearing ${contentId}`, 'readwrite', (s) => {
        s.delete(range(contentId));
        return promisifyRequest(s.transaction);
      });
    },
  };
}
