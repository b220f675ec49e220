/**
 * A PieceFile whose pass runs in its own worker (piece-pass.worker.ts), for the OPFS store and
 * the IndexedDB store alike: the piece's buffer is transferred in and only the verdict comes
 * back, one crossing per received piece. Every failure surfaces as a TabswarmError
 * ('storage-error'; 'aborted' once closed).
 */
import { transfer, wrap, type Remote } from 'comlink';
import type { BufferPool } from '../core/buffer-pool.js';
import { TabswarmError, type ErrorKind } from '../core/errors.js';
import type { Admitted, PieceFile, StoredPiece } from '../core/ports.js';
import { ownBuffer } from '../protocol/own-buffer.js';
import type { PiecePassWorkerApi } from './piece-pass.worker.js';

export interface PassWorker {
  worker: Worker;
  api: Remote<PiecePassWorkerApi>;
  /** Rejects when the worker fails or is ended (`end`); every call races against it. */
  dead: Promise<never>;
  /** Ends the worker now: calls still waiting on it reject with `reason`. */
  end(reason: Error): void;
}

export function spawnPassWorker(): PassWorker {
  const worker = new Worker(new URL('./piece-pass.worker.ts', import.meta.url), { type: 'module' });
  let kill!: (e: Error) => void;
  const dead = new Promise<never>((_, reject) => (kill = reject));
  dead.catch(() => undefined);
  worker.addEventListener('error', (e) => kill(new TabswarmError('storage-error', `the piece pass worker failed${e.message ? `: ${e.message}` : ''}`)));
  const end = (reason: Error) => {
    // A terminated worker answers nothing: what waits on it must not wait forever.
    kill(reason);
    worker.terminate();
  };
  return { worker, api: wrap<PiecePassWorkerApi>(worker), dead, end };
}

/**
 * A started worker kept for the next content to open (the store's probe's, which would
 * otherwise be ended): its start-up (a thread, the module, hash-wasm) is off the path of the
 * page's first download, where a player waits for its first piece.
 */
let spare: PassWorker | undefined;

/** Keeps `w` for the next `openPassFile` (ending the one kept before, if any). */
export function keepSpareWorker(w: PassWorker): void {
  spare?.end(new TabswarmError('aborted', 'replaced by another spare'));
  spare = w;
  w.dead.catch(() => {
    if (spare === w) spare = undefined;
  });
}

/**
 * A storage failure as a TabswarmError: one the worker threw keeps its kind (sent as the name
 * `tabswarm:<kind>`, piece-pass.worker.ts), a browser's QuotaExceededError is 'storage-full',
 * anything else 'storage-error'.
 */
export function storageError(what: string, e: unknown): TabswarmError {
  if (e instanceof TabswarmError) return e;
  const name = e instanceof Error ? e.name : '';
  const message = e instanceof Error ? e.message : String(e);
  if (name.startsWith('tabswarm:')) return new TabswarmError(name.slice('tabswarm:'.length) as ErrorKind, `${what}: ${message}`, { cause: e });
  if (name === 'QuotaExceededError') return new TabswarmError('storage-full', `${what}: the browser's storage quota is exhausted (${message})`, { cause: e });
  return new TabswarmError('storage-error', `${what}: ${name && name !== 'Error' ? `${name}: ` : ''}${message}`, { cause: e });
}

/**
 * Spawns a pass worker, opens the content in it with `open` (which resolves with the pieces
 * held), and returns the PieceFile over it. The buffer of each admitted piece comes back with
 * its verdict and goes to `buffers` for the next piece (nothing refers to it any more: the view
 * the caller passed was detached by the transfer).
 */
export async function openPassFile(kind: string, storageId: string, open: (api: Remote<PiecePassWorkerApi>) => Promise<number[]>, buffers?: BufferPool): Promise<PieceFile> {
  const { worker, api, dead, end } = spare ?? spawnPassWorker();
  spare = undefined;
  let closed = false;
  /** Runs `send` (a call to the worker) unless the file is closed, racing the worker's end. */
  const call = async <T>(what: string, send: () => Promise<T>): Promise<T> => {
    if (closed) throw new TabswarmError('aborted', 'the piece file is closed');
    try {
      return await Promise.race([send(), dead]);
    } catch (e) {
      throw storageError(`${kind}: ${what}`, e);
    }
  };
  let held: number[];
  try {
    held = await call(`opening ${storageId}`, () => open(api));
  } catch (e) {
    worker.terminate();
    throw e;
  }
  let readBacks = 0;
  return {
    kind,
    get readBacks() {
      return readBacks;
    },
    list: async () => [...held],
    admit(index, data, expectedSha256) {
      return call(`storing piece ${index} of ${storageId}`, () => {
        const buffer = ownBuffer(data);
        return api.admit(index, transfer(buffer, [buffer]), expectedSha256);
      }).then((r): Admitted => {
        buffers?.give(r.buffer);
        return r.admitted;
      });
    },
    read: (index, expectedSha256) => call<StoredPiece>(`reading piece ${index} of ${storageId}`, () => api.read(index, expectedSha256)),
    remove: (index) => call(`forgetting piece ${index} of ${storageId}`, () => api.remove(index)),
    async fileSha256() {
      const sha = await call(`hashing ${storageId}`, () => api.fileSha256());
      readBacks = await call('counting read-backs', () => api.readBacks()).catch(() => readBacks);
      return sha;
    },
    close() {
      if (closed) return;
      closed = true;
      held = [];
      // The worker flushes and records what is held before it ends; then whatever still waits
      // on it (a read for a peer) is told the file is closed.
      void Promise.race([api.close(), dead, new Promise((resolve) => setTimeout(resolve, 10_000))])
        .catch(() => undefined)
        .finally(() => end(new TabswarmError('aborted', 'the piece file is closed')));
    },
  };
}
