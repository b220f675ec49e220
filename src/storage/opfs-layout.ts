/**
 * Where the OPFS store keeps things, in one place: each content's bytes in one file,
 * `tabswarm/<encoded storage ID>` in the origin private file system, laid out as the content
 * itself (piece `i` at `i * pieceSize`); which pieces of it are held, in IndexedDB database
 * `tabswarm-opfs`, store `held`, keyed by storage ID. The main thread (opfs-piece-store.ts) and
 * the worker (piece-pass.worker.ts) both open them through here.
 */
import { createStore, type UseStore } from 'idb-keyval';
import type { PieceLayout } from '../core/ports.js';

/** The held record of one content: its layout and a bitfield of the pieces on disk. */
export interface HeldRecord extends PieceLayout {
  bits: Uint8Array;
}

const DIRECTORY = 'tabswarm';

export function heldStore(): UseStore {
  return createStore('tabswarm-opfs', 'held');
}

export function isHeldRecord(v: unknown): v is HeldRecord {
  const r = v as Partial<HeldRecord> | undefined;
  return typeof r === 'object' && r !== null && r.bits instanceof Uint8Array && Number.isSafeInteger(r.pieceCount) && Number.isSafeInteger(r.pieceSize) && Number.isSafeInteger(r.fileSize);
}

/** The file name of a storage ID (`simple:<id>` has a colon; names are kept to URL-safe characters). */
export function fileNameOf(storageId: string): string {
  return encodeURIComponent(storageId);
}

export async function contentDirectory(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIRECTORY, { create: true });
}
