/**
 * Writes a completed download into a file the user picked (the File System Access API's
 * `FileSystemWritableFileStream`, from `showSaveFilePicker`), one part at a time, so the page
 * holds at most one part whatever the file's size.
 *
 * The parts come from the store (client-download.ts): on OPFS, slices of the disk-backed file,
 * which the browser copies file to file without a byte entering the page; on IndexedDB, one
 * piece at a time. A write that fails, a short source, or an abort discards the target
 * (`abort()`: Chromium drops its swap file and leaves the picked file as it was) and rejects
 * with kind 'save-failed', so a half-written file is never left looking saved.
 */
import { TabswarmError } from '../core/errors.js';

/** What `saveTo` writes into: the part of `FileSystemWritableFileStream` it uses. */
export interface SaveTarget {
  write(data: Blob | Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/** Bytes written so far, of the file's size. */
export type SaveProgress = (written: number, fileSize: number) => void;

/** Slices of a disk-backed file handed to the target per write: progress steps, not memory. */
export const SAVE_SLICE_BYTES = 64 * 1024 * 1024;

/** The parts of a Blob (an OPFS File) as slices of `sliceBytes`. */
export function* blobSlices(blob: Blob, sliceBytes = SAVE_SLICE_BYTES): Generator<Blob> {
  for (let at = 0; at < blob.size; at += sliceBytes) yield blob.slice(at, Math.min(blob.size, at + sliceBytes));
}

export async function saveTo(
  target: SaveTarget,
  parts: AsyncIterable<Blob | Uint8Array> | Iterable<Blob | Uint8Array>,
  fileSize: number,
  options: { onProgress?: SaveProgress; signal?: AbortSignal } = {},
): Promise<void> {
  let written = 0;
  try {
    for await (const part of parts) {
      if (options.signal?.aborted) throw new TabswarmError('aborted', 'the save was cancelled');
      await target.write(part);
      written += part instanceof Blob ? part.size : part.byteLength;
      options.onProgress?.(written, fileSize);
    }
    if (written !== fileSize) throw new TabswarmError('storage-error', `the stored file has ${written} bytes, expected ${fileSize}`);
    await target.close();
  } catch (e) {
    await target.abort(e).catch(() => undefined);
    const why = e instanceof Error ? e.message : String(e);
    throw new TabswarmError('save-failed', `Saving stopped after ${written} of ${fileSize} bytes, and the picked file was left as it was: ${why}`, { cause: e });
  }
}
