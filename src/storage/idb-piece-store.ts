/**
 * Pieces in IndexedDB, through idb-keyval: the store where there is no OPFS (a plain-HTTP page
 * on a LAN address, where browsers give no origin private file system), or where `?store=idb`
 * asks for it, and for contents stored here by earlier versions.
 *
 * The layout (one object store, keys `[storageId, index]`) is piece-layout.ts's. A download
 * writes through `open`: the piece pass's worker hashes each piece, writes it as an ArrayBuffer
 * value (idb-piece-io.ts says why not a Blob) and feeds the whole-file hash. Every IndexedDB
 * failure (quota, private mode, a database in the wrong shape) surfaces as
 * TabswarmError('storage-error').
 */
import { promisifyRequest } from 'idb-keyval';
import { TabswarmError } from '../core/errors.js';
import type { PieceFile, PieceLayout, PieceStore } from '../core/ports.js';
import { ownBuffer } from '../protocol/own-buffer.js';
import { bytesOf } from './idb-piece-io.js';
import type { BufferPool } from '../core/buffer-pool.js';
import { openPassFile } from './piece-pass-client.js';
import { openPieces, pieceKey, pieceRange } from './piece-layout.js';
import { asStorageError } from './storage-error.js';

export interface IdbPieceStore extends PieceStore {
  open(storageId: string, layout: PieceLayout): Promise<PieceFile>;
  /**
   * The whole file as one Blob of pieces 0..pieceCount-1, built a batch of pieces at a time so
   * that the page never holds the file (each batch goes to the browser's blob storage, which
   * keeps large blobs on disk); rejects if a piece is missing.
   */
  assemble(contentId: string, pieceCount: number, mimeType: string): Promise<Blob>;
  /** Deletes every stored piece of `contentId`. */
  clear(contentId: string): Promise<void>;
  /** Deletes one stored piece (one that failed its check when read back). */
  remove(contentId: string, index: number): Promise<void>;
  /** The storage IDs that have pieces stored, in key order; walks keys only, one step per content. */
  storageIds(): Promise<string[]>;
}

/** Pieces read and made into one Blob at a time when the file is assembled (1 MiB each by default). */
const ASSEMBLE_BATCH = 16;

export function createIdbPieceStore(dbName = 'tabswarm', buffers?: BufferPool): IdbPieceStore {
  const store = openPieces(dbName);
  const range = pieceRange;

  const op = <T>(what: string, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => T | PromiseLike<T>): Promise<T> =>
    asStorageError(dbName, what, () => store(mode, fn));

  /** A stored value as it is: Blob values (earlier versions) stay Blobs, for `assemble`. */
  const value = (contentId: string, index: number) =>
    op(`reading piece ${index} of ${contentId}`, 'readonly', (s) => promisifyRequest(s.get(pieceKey(contentId, index)) as IDBRequest<unknown>));

  return {
    async list(contentId) {
      const keys = await op(`listing pieces of ${contentId}`, 'readonly', (s) => promisifyRequest(s.getAllKeys(range(contentId))));
      return keys.map((key) => (key as [string, number])[1]);
    },

    async get(contentId, index) {
      const v = await value(contentId, index);
      if (v === undefined) return undefined;
      const bytes = await asStorageError(dbName, `reading piece ${index} of ${contentId}`, () => bytesOf(v));
      if (!bytes) throw new TabswarmError('storage-error', `IndexedDB "${dbName}": piece ${index} of ${contentId} is not bytes`);
      return bytes;
    },

    async put(contentId, index, data) {
      await op(`storing piece ${index} of ${contentId}`, 'readwrite', (s) => {
        s.put(ownBuffer(data), pieceKey(contentId, index));
        return promisifyRequest(s.transaction);
      });
    },

    open: (storageId, layout) => openPassFile('indexeddb', storageId, (api) => api.openIdb(dbName, storageId, layout), buffers),

    async assemble(contentId, pieceCount, mimeType) {
      // The pieces streamed, a batch per pull, into a Blob the browser builds itself
      // (Response.blob() of a stream: Chromium writes a large one to disk as it comes), so the
      // page holds one batch at a time, never the file. (A Blob composed in the page from
      // batch Blobs kept their bytes in the renderer until the browser took them, and right
      // after a fast download the browser could refuse them: every read then failed.)
      let first = 0;
      const stream = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (first >= pieceCount) return controller.close();
            const last = Math.min(pieceCount, first + ASSEMBLE_BATCH) - 1;
            const r = range(contentId, first, last);
            const [keys, values] = await op(`assembling ${contentId}`, 'readonly', (s) =>
              Promise.all([promisifyRequest(s.getAllKeys(r)), promisifyRequest(s.getAll(r) as IDBRequest<unknown[]>)]),
            );
            for (let i = first; i <= last; i++) {
              const key = keys[i - first] as [string, number] | undefined;
              const bytes = key?.[1] === i ? await bytesOf(values[i - first]) : undefined;
              if (bytes === undefined) throw new TabswarmError('storage-error', `IndexedDB "${dbName}": piece ${i} of ${contentId} is missing`);
              controller.enqueue(bytes);
            }
            first = last + 1;
          },
        },
        { highWaterMark: 0 },
      );
      try {
        return await new Response(stream, { headers: { 'Content-Type': mimeType } }).blob();
      } catch (e) {
        throw e instanceof TabswarmError ? e : new TabswarmError('storage-error', `IndexedDB "${dbName}": assembling ${contentId}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
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

