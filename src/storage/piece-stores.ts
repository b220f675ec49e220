/**
 * The tab's piece store: OPFS where the browser gives workers synchronous files, IndexedDB
 * where it does not (or where `?store=idb` asks for it). The choice is made once, by a probe in
 * a worker, and shown in the status (`kind`).
 *
 * A content that already has pieces in IndexedDB (stored before OPFS was chosen, or by an
 * older version) stays there: it resumes, seeds and saves from IndexedDB, and nothing is lost.
 * Every other content goes to the chosen store.
 */
import type { BufferPool } from '../core/buffer-pool.js';
import { TabswarmError } from '../core/errors.js';
import type { PieceStore } from '../core/ports.js';
import { createIdbPieceStore } from './idb-piece-store.js';
import { createOpfsPieceStore, opfsAvailable } from './opfs-piece-store.js';

export type StoreKind = 'opfs' | 'indexeddb';

export interface PieceStores extends PieceStore {
  /** The store new contents go to, once the probe has answered. */
  kind(): Promise<StoreKind>;
  /** The whole file as one Blob (disk-backed in both stores); rejects if a piece is missing. */
  assemble(storageId: string, pieceCount: number, mimeType: string): Promise<Blob>;
  clear(storageId: string): Promise<void>;
  storageIds(): Promise<string[]>;
}

export interface PieceStoresOptions {
  prefer?: 'auto' | 'idb';
  /** Where the buffers of admitted pieces go back to, once the pass worker returns them. */
  buffers?: BufferPool;
}

export function createPieceStores(options: PieceStoresOptions = {}): PieceStores {
  const idb = createIdbPieceStore('tabswarm', options.buffers);
  const opfs = createOpfsPieceStore(options.buffers);
  const chosen: Promise<StoreKind> = options.prefer === 'idb' ? Promise.resolve('indexeddb') : opfsAvailable().then((ok) => (ok ? 'opfs' : 'indexeddb'));

  /** Where `storageId`'s pieces are (or go): IndexedDB if they are there already, else the chosen store. */
  async function where(storageId: string): Promise<StoreKind> {
    if ((await chosen) === 'indexeddb') return 'indexeddb';
    if (await opfs.holds(storageId)) return 'opfs';
    return (await idb.list(storageId)).length > 0 ? 'indexeddb' : 'opfs';
  }

  return {
    kind: () => chosen,
    list: async (id) => ((await where(id)) === 'opfs' ? opfs.list(id) : idb.list(id)),
    get: async (id, index) => ((await where(id)) === 'opfs' ? opfs.get(id, index) : idb.get(id, index)),
    async put(id, index, data) {
      // Downloads and shares write through `open`; a direct write must not split a content
      // across the two stores.
      if ((await where(id)) === 'opfs') throw new TabswarmError('storage-error', `OPFS: piece ${index} of ${id}: pieces are written through open()`);
      return idb.put(id, index, data);
    },
    remove: async (id, index) => ((await where(id)) === 'opfs' ? opfs.remove(id, index) : idb.remove(id, index)),
    open: async (id, layout) => ((await where(id)) === 'opfs' ? opfs.open(id, layout) : idb.open(id, layout)),
    assemble: async (id, pieceCount, mimeType) => ((await where(id)) === 'opfs' ? opfs.file(id, mimeType) : idb.assemble(id, pieceCount, mimeType)),
    async clear(id) {
      await idb.clear(id);
      if ((await chosen) === 'opfs') await opfs.clear(id);
    },
    async storageIds() {
      const ids = new Set(await idb.storageIds());
      if ((await chosen) === 'opfs') for (const id of await opfs.storageIds()) ids.add(id);
      return [...ids].sort();
    },
  };
}
