/**
 * The one place that knows how pieces are laid out in IndexedDB: database `dbName` holds one
 * object store, `pieces` (and nothing else: idb-keyval creates only this store when it creates
 * the database); a piece's key is `[storageId, index]`, so a key range selects one content's
 * pieces in index order; its value is a Blob of its bytes. The store (idb-piece-store.ts) and
 * the writer worker (piece-writer.worker.ts) both open it through here.
 */
import { createStore, type UseStore } from 'idb-keyval';

const PIECES = 'pieces';

/** The pieces object store of database `dbName`. */
export function openPieces(dbName: string): UseStore {
  return createStore(dbName, PIECES);
}

/** The key of piece `index` of `storageId`. */
export function pieceKey(storageId: string, index: number): [string, number] {
  return [storageId, index];
}

/** The keys of `storageId`'s pieces `first`..`last`, in index order. */
export function pieceRange(storageId: string, first = 0, last = Infinity): IDBKeyRange {
  return IDBKeyRange.bound(pieceKey(storageId, first), pieceKey(storageId, last));
}
