/**
 * The OPFS store's worker: one per open content. It holds the content's file through a
 * FileSystemSyncAccessHandle and runs the piece pass (piece-pass.ts) on it: a piece arrives
 * transferred, is hashed (WebCrypto where the page has it, WebAssembly where it does not),
 * written at its offset and fed to the whole-file hash; only the verdict goes back. Driven
 * through comlink by opfs-piece-store.ts.
 */
import { expose, transfer } from 'comlink';
import { createSHA256 } from 'hash-wasm';
import { get, set } from 'idb-keyval';
import type { PieceLayout } from '../core/ports.js';
import { contentDirectory, fileNameOf, heldStore, isHeldRecord, type HeldRecord } from './opfs-layout.js';
import { PiecePass, type PassHashing, type SyncFile } from './piece-pass.js';

const subtle: SubtleCrypto | undefined = typeof crypto !== 'undefined' && typeof crypto.subtle?.digest === 'function' ? crypto.subtle : undefined;

const hashing: PassHashing = {
  async digest(bytes) {
    if (subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    const h = await createSHA256();
    return h.init().update(bytes).digest('binary').slice();
  },
  async createStream() {
    const h = (await createSHA256()).init();
    return {
      update: (bytes: Uint8Array) => void h.update(bytes),
      digest: () => h.digest('binary').slice(),
    };
  },
};

/** A sync handle that other tabs of the origin may open too (Chromium's 'readwrite-unsafe'), else the default exclusive one. */
async function openSync(handle: FileSystemFileHandle): Promise<SyncFile> {
  const open = handle.createSyncAccessHandle.bind(handle) as (options?: { mode?: string }) => Promise<SyncFile>;
  try {
    return await open({ mode: 'readwrite-unsafe' });
  } catch (e) {
    if (e instanceof TypeError) return open();
    throw e;
  }
}

let pass: PiecePass | undefined;
const records = heldStore();

function opened(): PiecePass {
  if (!pass) throw new Error('no content is open in this worker');
  return pass;
}

const api = {
  /** Whether this browser gives workers synchronous OPFS files (the store's capability probe). */
  async probe(): Promise<boolean> {
    try {
      if (typeof navigator.storage?.getDirectory !== 'function') return false;
      if (typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) return false;
      await contentDirectory();
      return true;
    } catch {
      return false;
    }
  },

  /** Opens (creating) the content's file and returns the pieces held. Rejects with a plain Error whose name says why (QuotaExceededError…). */
  async open(storageId: string, layout: PieceLayout): Promise<number[]> {
    const dir = await contentDirectory();
    const handle = await dir.getFileHandle(fileNameOf(storageId), { create: true });
    const file = await openSync(handle);
    const old = await get<unknown>(storageId, records);
    // A record of another layout describes another file: start over.
    const same = isHeldRecord(old) && old.pieceCount === layout.pieceCount && old.pieceSize === layout.pieceSize && old.fileSize === layout.fileSize;
    pass = new PiecePass({
      file,
      layout,
      hashing,
      ...(same ? { held: old.bits } : {}),
      saveHeld: (bits) => set(storageId, { ...layout, bits } satisfies HeldRecord, records),
      yieldNow: () => new Promise((resolve) => setTimeout(resolve, 0)),
    });
    try {
      await pass.open();
    } catch (e) {
      file.close();
      pass = undefined;
      throw plain(e);
    }
    return pass.list();
  },

  async admit(index: number, buffer: ArrayBuffer, expectedSha256: string | undefined) {
    try {
      return await opened().admit(index, new Uint8Array(buffer), expectedSha256);
    } catch (e) {
      throw plain(e);
    }
  },

  async read(index: number, expectedSha256: string | undefined) {
    const read = await opened().read(index, expectedSha256);
    return 'bytes' in read ? transfer(read, [read.bytes.buffer]) : read;
  },

  remove(index: number): void {
    opened().remove(index);
  },

  async fileSha256(): Promise<string> {
    try {
      return await opened().fileSha256();
    } catch (e) {
      throw plain(e);
    }
  },

  readBacks: (): number => pass?.readBacks ?? 0,

  async close(): Promise<void> {
    await pass?.close();
    pass = undefined;
  },
};

/** Errors cross comlink as name and message (a DOMException's or TabswarmError's extra fields do not). */
function plain(e: unknown): Error {
  const out = new Error(e instanceof Error ? e.message : String(e));
  out.name = e instanceof Error ? e.name : 'Error';
  return out;
}

export type OpfsPieceWorkerApi = typeof api;

expose(api);
