/**
 * A download's PieceFile (the piece pass, core/ports.ts): the store's own where it has one
 * (OPFS: one worker hashes, writes and feeds the whole-file hash), and otherwise this pass,
 * composed from the Hasher and the store's `get`/`put` (IndexedDB, and the memory store of the
 * Node tests): the piece is hashed in a hash worker, stored, and handed to the whole-file hash
 * (core/whole-file.ts), which reads back what it could not take in hand.
 */
import { TabswarmError } from './errors.js';
import type { Hasher, PieceFile, PieceLayout, PieceStore, StoredPiece } from './ports.js';
import { WholeFileHash } from './whole-file.js';
import { toHex } from '../protocol/hex.js';

export function openPieceFile(store: PieceStore, hasher: Hasher, storageId: string, layout: PieceLayout, kind = 'indexeddb'): Promise<PieceFile> {
  return store.open ? store.open(storageId, layout) : composedPieceFile(store, hasher, storageId, layout, kind);
}

/**
 * A stored piece read back for serving, checked against `expectedSha256` when given: its bytes,
 * or `corrupt` when they no longer match. The hasher may transfer `stored`'s buffer: only what
 * this returns may be used afterwards. Shared by every PieceFile that hashes on read.
 */
export async function checkedStoredPiece(hasher: Hasher, index: number, stored: Uint8Array, expectedSha256: string | undefined): Promise<StoredPiece> {
  if (expectedSha256 === undefined) return { bytes: stored };
  const result = await hasher.digest(stored);
  const actual = toHex(result.digest);
  if (actual !== expectedSha256) {
    return { corrupt: `stored piece ${index} no longer matches its SHA-256 (${actual.slice(0, 12)}…, expected ${expectedSha256.slice(0, 12)}…)` };
  }
  return { bytes: result.data };
}

async function composedPieceFile(store: PieceStore, hasher: Hasher, storageId: string, layout: PieceLayout, kind: string): Promise<PieceFile> {
  const held = new Set((await store.list(storageId)).filter((i) => Number.isInteger(i) && i >= 0 && i < layout.pieceCount));
  const get = (index: number) => store.get(storageId, index);
  const whole = new WholeFileHash(hasher, layout.pieceCount, get, (i) => held.has(i));
  let closed = false;
  return {
    kind,
    get readBacks() {
      return whole.readBacks;
    },
    list: async () => [...held],

    async admit(index, data, expectedSha256) {
      let bytes = data;
      if (expectedSha256 !== undefined) {
        const result = await hasher.digest(data);
        bytes = result.data;
        const actual = toHex(result.digest);
        if (actual !== expectedSha256) return { stored: false, reason: `piece ${index} failed SHA-256 verification` };
      }
      if (closed) throw new TabswarmError('aborted', 'the piece file is closed');
      await store.put(storageId, index, bytes);
      if (held.has(index)) return { stored: true };
      held.add(index);
      whole.stored(index, bytes); // gives `bytes` away
      return { stored: true };
    },

    async read(index, expectedSha256) {
      const stored = await get(index);
      if (stored === undefined) return { missing: true };
      return checkedStoredPiece(hasher, index, stored, expectedSha256);
    },

    async remove(index) {
      held.delete(index);
      await store.remove?.(storageId, index);
    },

    fileSha256: () => whole.finish(),

    close() {
      closed = true;
      whole.close();
    },
  };
}
