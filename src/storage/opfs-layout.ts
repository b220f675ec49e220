/**
 * Where the OPFS store keeps things, in one place. In directory `tabswarm` of the origin
 * private file system, each content has two files:
 *   - `<encoded storage ID>`: its bytes, laid out as the content (piece `i` at `i * pieceSize`);
 *   - `<encoded storage ID>.held`: which of its pieces are on disk. A 32-byte header (the magic
 *     `TSHELD01`, then pieceCount, pieceSize and fileSize as little-endian float64s) and a
 *     bitfield (MSB first). The pass worker writes a piece's byte of it right after the
 *     piece's bytes, through the same kind of synchronous handle, so a tab that is closed or
 *     reloaded at any moment leaves a record that names only pieces already written.
 * The main thread (opfs-piece-store.ts) and the worker (piece-pass.worker.ts) both use this.
 */
import type { PieceLayout } from '../core/ports.js';

const DIRECTORY = 'tabswarm';
const HELD_SUFFIX = '.held';
const MAGIC = 'TSHELD01';
export const HELD_HEADER_BYTES = 32;

/** The file name of a storage ID (`simple:<id>` has a colon; names are kept to URL-safe characters). */
export function fileNameOf(storageId: string): string {
  return encodeURIComponent(storageId);
}

export function heldNameOf(storageId: string): string {
  return fileNameOf(storageId) + HELD_SUFFIX;
}

/** The storage ID a `.held` file name belongs to, or undefined for any other name. */
export function storageIdOfHeld(name: string): string | undefined {
  if (!name.endsWith(HELD_SUFFIX)) return undefined;
  try {
    return decodeURIComponent(name.slice(0, -HELD_SUFFIX.length));
  } catch {
    return undefined;
  }
}

export async function contentDirectory(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIRECTORY, { create: true });
}

export function encodeHeldHeader(layout: PieceLayout): Uint8Array {
  const out = new Uint8Array(HELD_HEADER_BYTES);
  out.set(new TextEncoder().encode(MAGIC));
  const view = new DataView(out.buffer);
  view.setFloat64(8, layout.pieceCount, true);
  view.setFloat64(16, layout.pieceSize, true);
  view.setFloat64(24, layout.fileSize, true);
  return out;
}

/** A `.held` file's layout and bitfield; undefined if it is not one (wrong magic, sizes or length). */
export function decodeHeld(bytes: Uint8Array): { layout: PieceLayout; bits: Uint8Array } | undefined {
  if (bytes.byteLength < HELD_HEADER_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout = { pieceCount: view.getFloat64(8, true), pieceSize: view.getFloat64(16, true), fileSize: view.getFloat64(24, true) };
  if (![layout.pieceCount, layout.pieceSize, layout.fileSize].every((n) => Number.isSafeInteger(n) && n >= 0) || layout.pieceSize === 0) return undefined;
  if (bytes.byteLength < HELD_HEADER_BYTES + Math.ceil(layout.pieceCount / 8)) return undefined;
  return { layout, bits: bytes.slice(HELD_HEADER_BYTES, HELD_HEADER_BYTES + Math.ceil(layout.pieceCount / 8)) };
}
