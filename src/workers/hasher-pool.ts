/**
 * The Hasher port in the browser: a small pool of SHA-256 workers (sha256.worker.ts).
 *
 * Transfer rule: `data`'s buffer is transferred to a worker, so `data` (and every other view
 * on its buffer) is empty afterwards; callers use the returned `data` instead (see the Hasher
 * port). Only a view covering its whole ArrayBuffer is transferred as is; any other view
 * (byteOffset != 0, shorter than its buffer, or over a SharedArrayBuffer) is first copied into
 * a fresh buffer, so a transfer never detaches bytes the caller did not hand over.
 *
 * A worker that fails (script load error, crash) rejects its outstanding jobs instead of
 * leaving them pending forever, and is replaced on the next job.
 */
import { transfer, wrap, type Remote } from 'comlink';
import { ownBuffer } from '../protocol/own-buffer.js';
import { TabswarmError } from '../core/errors.js';
import type { Hasher, StreamingHash } from '../core/ports.js';
import type { Sha256WorkerApi } from './sha256.worker.js';

interface Slot {
  worker: Worker;
  api: Remote<Sha256WorkerApi>;
  /** Jobs sent and not yet settled: the load measure. */
  outstanding: number;
  /** Rejects when the worker fails or the pool closes; every call races against it. */
  dead: Promise<never>;
  kill(reason: Error): void;
}

export function createHasherPool(options: { size?: number } = {}): Hasher & { close(): void } {
  const size = Math.max(1, options.size ?? Math.min(4, Math.max(1, navigator.hardwareConcurrency ?? 2)));
  const slots: Slot[] = [];
  let closed = false;

  function spawn(): Slot {
    const worker = new Worker(new URL('./sha256.worker.ts', import.meta.url), { type: 'module' });
    let kill!: (reason: Error) => void;
    const dead = new Promise<never>((_, reject) => (kill = reject));
    dead.catch(() => {}); // only observed through the races below
    const slot: Slot = { worker, api: wrap<Sha256WorkerApi>(worker), outstanding: 0, dead, kill };
    const fail = (what: string) => (event: Event) => {
      const detail = event instanceof ErrorEvent && event.message ? `: ${event.message}` : '';
      retire(slot, new Error(`SHA-256 worker ${what}${detail}`));
    };
    worker.addEventListener('error', fail('failed'));
    worker.addEventListener('messageerror', fail('sent an unreadable message'));
    slots.push(slot);
    return slot;
  }

  function retire(slot: Slot, reason: Error): void {
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    slot.worker.terminate();
    slot.kill(reason);
  }

  /** The least loaded worker, spawning another while all are busy and the pool has room. */
  function pick(): Slot {
    if (closed) throw new TabswarmError('aborted', 'the hasher pool is closed');
    let best: Slot | undefined;
    for (const slot of slots) if (!best || slot.outstanding < best.outstanding) best = slot;
    if (!best || (best.outstanding > 0 && slots.length < size)) return spawn();
    return best;
  }

  async function run<T>(slot: Slot, job: (api: Remote<Sha256WorkerApi>) => Promise<T>): Promise<T> {
    slot.outstanding++;
    try {
      return await Promise.race([job(slot.api), slot.dead]);
    } finally {
      slot.outstanding--;
    }
  }

  return {
    async digest(data) {
      const slot = pick();
      const buffer = ownBuffer(data);
      const result = await run(slot, (api) => api.digest(transfer(buffer, [buffer])));
      return { digest: result.digest, data: new Uint8Array(result.buffer) };
    },

    createStream(): StreamingHash {
      // Pinned to one worker, where the hash state lives; opened on first use.
      let opened: Promise<{ slot: Slot; id: number }> | undefined;
      const open = () =>
        (opened ??= (async () => {
          const slot = pick();
          return { slot, id: await run(slot, (api) => api.streamCreate()) };
        })());
      return {
        async update(data) {
          const buffer = ownBuffer(data);
          const { slot, id } = await open();
          await run(slot, (api) => api.streamUpdate(id, transfer(buffer, [buffer])));
        },
        async digest() {
          const { slot, id } = await open();
          return run(slot, (api) => api.streamDigest(id));
        },
        close() {
          // Nothing to free if it never opened; a worker that died took the state with it.
          void opened?.then(({ slot, id }) => slot.api.streamClose(id)).catch(() => undefined);
        },
      };
    },

    close() {
      if (closed) return;
      closed = true;
      for (const slot of [...slots]) retire(slot, new TabswarmError('aborted', 'the hasher pool is closed'));
    },
  };
}
