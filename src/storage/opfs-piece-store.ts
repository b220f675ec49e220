/**
 * Pieces in the Origin Private File System: one file per content, written at each piece's
 * offset by a worker that also hashes the piece and feeds the whole-file hash (the piece pass,
 * piece-pass.ts, in piece-pass.worker.ts). Nothing of a piece is kept after its write: no Blob,
 * no copy. The file handed to the user is that file (`getFile()`: disk-backed, nothing to
 * assemble). Which pieces are held is the `.held` file beside it (opfs-layout.ts).
 *
 * Every failure surfaces as TabswarmError('storage-error').
 */
import { Bitfield } from '../core/bitfield.js';
import { TabswarmError } from '../core/errors.js';
import type { PieceFile, PieceLayout } from '../core/ports.js';
import { HELD_HEADER_BYTES, contentDirectory, decodeHeld, fileNameOf, heldNameOf, storageIdOfHeld } from './opfs-layout.js';
import type { BufferPool } from '../core/buffer-pool.js';
import { keepSpareWorker, openPassFile, spawnPassWorker, storageError } from './piece-pass-client.js';

/** Whether this browser's workers get synchronous OPFS files; asked of a worker once. */
export async function opfsAvailable(): Promise<boolean> {
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function' || typeof Worker === 'undefined') return false;
  const probe = spawnPassWorker();
  let ok = false;
  try {
    ok = await Promise.race([probe.api.probe(), probe.dead, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
    return ok;
  } catch {
    return false;
  } finally {
    // A worker that answered is kept warm for the first content; one that did not is ended.
    if (ok) keepSpareWorker(probe);
    else probe.worker.terminate();
  }
}

export interface OpfsPieceStore {
  list(storageId: string): Promise<number[]>;
  get(storageId: string, index: number): Promise<Uint8Array | undefined>;
  remove(storageId: string, index: number): Promise<void>;
  open(storageId: string, layout: PieceLayout): Promise<PieceFile>;
  /** Whether a content has a file here (a held record). */
  holds(storageId: string): Promise<boolean>;
  /** The content's file as a disk-backed Blob of type `mimeType`; rejects unless every piece is held. */
  file(storageId: string, mimeType: string): Promise<Blob>;
  clear(storageId: string): Promise<void>;
  storageIds(): Promise<string[]>;
}

export function createOpfsPieceStore(buffers?: BufferPool): OpfsPieceStore {
  /** The content's `.held` record, if it has a valid one. */
  const record = async (storageId: string): Promise<(PieceLayout & { bits: Uint8Array }) | undefined> => {
    let bytes: Uint8Array;
    try {
      const handle = await (await contentDirectory()).getFileHandle(heldNameOf(storageId));
      bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
    } catch (e) {
      if (e instanceof DOMException && e.name === 'NotFoundError') return undefined;
      throw e;
    }
    const held = decodeHeld(bytes);
    return held ? { ...held.layout, bits: held.bits } : undefined;
  };
  const fileOf = async (storageId: string) => (await contentDirectory()).getFileHandle(fileNameOf(storageId)).then((h) => h.getFile());
  const op = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw storageError(`OPFS: ${what}`, e);
    }
  };

  return {
    list: (storageId) =>
      op(`listing pieces of ${storageId}`, async () => {
        const r = await record(storageId);
        if (!r) return [];
        const bits = new Bitfield(r.pieceCount, r.bits);
        const out: number[] = [];
        for (let i = 0; i < r.pieceCount; i++) if (bits.has(i)) out.push(i);
        return out;
      }),

    get: (storageId, index) =>
      op(`reading piece ${index} of ${storageId}`, async () => {
        const r = await record(storageId);
        if (!r || !new Bitfield(r.pieceCount, r.bits).has(index)) return undefined;
        const start = index * r.pieceSize;
        const file = await fileOf(storageId);
        return new Uint8Array(await file.slice(start, Math.min(r.fileSize, start + r.pieceSize)).arrayBuffer());
      }),

    remove: (storageId, index) =>
      op(`forgetting piece ${index} of ${storageId}`, async () => {
        const r = await record(storageId);
        if (!r) return;
        const bits = new Bitfield(r.pieceCount, r.bits);
        if (!bits.unset(index)) return;
        // (Not while a download has the content open: its worker's pass forgets pieces itself.)
        const handle = await (await contentDirectory()).getFileHandle(heldNameOf(storageId));
        const writable = await handle.createWritable({ keepExistingData: true });
        await writable.write({ type: 'write', position: HELD_HEADER_BYTES + (index >> 3), data: new Uint8Array([bits.byteAt(index >> 3)]) });
        await writable.close();
      }),

    holds: async (storageId) => (await record(storageId)) !== undefined,

    open: (storageId, layout) => openPassFile('opfs', storageId, (api) => api.open(storageId, layout), buffers),

    file: (storageId, mimeType) =>
      op(`opening the file of ${storageId}`, async () => {
        const r = await record(storageId);
        if (!r || new Bitfield(r.pieceCount, r.bits).cardinality !== r.pieceCount) throw new TabswarmError('storage-error', `OPFS: ${storageId} is not complete`);
        const file = await fileOf(storageId);
        // A Blob over the file: disk-backed, of the content's type; nothing is copied.
        return new Blob([file.slice(0, r.fileSize)], { type: mimeType });
      }),

    clear: (storageId) =>
      op(`clearing ${storageId}`, async () => {
        const dir = await contentDirectory();
        // The record first: bytes without a record are never read; a record without bytes would be.
        for (const name of [heldNameOf(storageId), fileNameOf(storageId)]) {
          await dir.removeEntry(name).catch((e: unknown) => {
            if (!(e instanceof DOMException && e.name === 'NotFoundError')) throw e;
          });
        }
      }),

    storageIds: () =>
      op('listing stored contents', async () => {
        const ids: string[] = [];
        for await (const name of (await contentDirectory()).keys()) {
          const id = storageIdOfHeld(name);
          if (id !== undefined) ids.push(id);
        }
        return ids.sort();
      }),
  };
}
