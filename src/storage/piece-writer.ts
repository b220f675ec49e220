/**
 * Piece writes to IndexedDB, done in a worker that is replaced every `recycleAfter` writes.
 *
 * Why: each write makes a Blob, and Chromium keeps a Blob's bytes (in the tab and in the
 * browser process) until V8 collects its wrapper, a few bytes of JS heap that a page busy with
 * ArrayBuffers rarely collects. Over a 1 GiB download at 50 MB/s those uncollected wrappers held
 * hundreds of MiB and then made Chromium fail writes ("DataError: Failed to write blobs
 * (InvalidBlob)") at about 512 MiB, every time; forcing collections made both go away. Ending
 * a worker frees everything its heap held at once, whatever the collector would have done, so
 * the memory these Blobs hold stays bounded by `recycleAfter` pieces.
 */
import { transfer, wrap, type Remote } from 'comlink';
import { ownBuffer } from '../protocol/own-buffer.js';
import type { PieceWriterApi } from './piece-writer.worker.js';
import type { WriteOutcome } from './write-with-retry.js';

interface Writer {
  worker: Worker;
  api: Remote<PieceWriterApi>;
  writes: number;
  outstanding: number;
  /** Rejects when the worker fails; every write races against it. */
  dead: Promise<never>;
  retired: boolean;
}

export interface PieceWriter {
  /**
   * Stores `data` as piece `index`. `data` is unusable afterwards (its buffer is transferred);
   * the outcome holds the same bytes. Rejects only if the worker itself fails.
   */
  put(contentId: string, index: number, data: Uint8Array): Promise<WriteOutcome>;
  close(): void;
}

export function createPieceWriter(dbName: string, options: { recycleAfter?: number } = {}): PieceWriter {
  const recycleAfter = Math.max(1, options.recycleAfter ?? 16);
  let current: Writer | undefined;
  let closed = false;

  function spawn(): Writer {
    const worker = new Worker(new URL('./piece-writer.worker.ts', import.meta.url), { type: 'module' });
    let kill!: (reason: Error) => void;
    const dead = new Promise<never>((_, reject) => (kill = reject));
    dead.catch(() => {});
    const writer: Writer = { worker, api: wrap<PieceWriterApi>(worker), writes: 0, outstanding: 0, dead, retired: false };
    worker.addEventListener('error', (e) => {
      kill(new Error(`piece writer worker failed${e.message ? `: ${e.message}` : ''}`));
      retire(writer);
    });
    return writer;
  }

  /** No new writes go to `writer`; it ends once its last write settles. */
  function retire(writer: Writer): void {
    writer.retired = true;
    if (current === writer) current = undefined;
    if (writer.outstanding === 0) writer.worker.terminate();
  }

  return {
    async put(contentId, index, data) {
      if (closed) throw new Error('the piece writer is closed');
      const writer = (current ??= spawn());
      // Counted before a retirement, which ends a worker with nothing outstanding.
      writer.outstanding++;
      if (++writer.writes >= recycleAfter) retire(writer);
      const buffer = ownBuffer(data);
      try {
        const result = await Promise.race([writer.api.put(dbName, contentId, index, transfer(buffer, [buffer])), writer.dead]);
        return { data: new Uint8Array(result.buffer), ...(result.error ? { error: result.error } : {}) };
      } finally {
        writer.outstanding--;
        if (writer.retired && writer.outstanding === 0) writer.worker.terminate();
      }
    },
    close() {
      closed = true;
      if (current) retire(current);
    },
  };
}
