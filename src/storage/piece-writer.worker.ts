/**
 * The piece writer: stores verified pieces in IndexedDB from a worker that is thrown away
 * every few dozen pieces (see piece-writer.ts for why). Driven through comlink.
 * Buffers arrive transferred and go back transferred once their Blob is made (the Blob
 * copies them), so a piece crosses threads twice without another copy.
 */
import { expose, transfer } from 'comlink';
import { promisifyRequest, type UseStore } from 'idb-keyval';
import { openPieces, pieceKey } from './piece-layout.js';

const stores = new Map<string, UseStore>();

function storeFor(dbName: string): UseStore {
  let store = stores.get(dbName);
  if (!store) stores.set(dbName, (store = openPieces(dbName)));
  return store;
}

/** What a write did: the buffer, handed back in every case, and the error's name and message if it failed. */
export interface WriteResult {
  buffer: ArrayBuffer;
  error?: { name: string; message: string };
}

const api = {
  /** Writes `buffer` as the Blob of piece `[contentId, index]`. Never rejects: the caller keeps its bytes to try again. */
  async put(dbName: string, contentId: string, index: number, buffer: ArrayBuffer): Promise<WriteResult> {
    let error: WriteResult['error'];
    try {
      const blob = new Blob([buffer]);
      await storeFor(dbName)('readwrite', (s) => {
        s.put(blob, pieceKey(contentId, index));
        return promisifyRequest(s.transaction);
      });
    } catch (e) {
      // A DOMException does not cross comlink with its name: send name and message.
      error = e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
    }
    return transfer({ buffer, error }, [buffer]);
  },
};

export type PieceWriterApi = typeof api;

expose(api);
