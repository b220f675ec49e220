/**
 * Metadata hashed and parsed off the event loop: a 4 MiB metadata file takes ~130 ms to parse
 * (JSON and the schema), which on the main thread would stall every request and socket of the
 * server that long per share (issue 12 measured 1.5-2 s per 67 MiB share).
 *
 * One worker thread, started on first use; jobs queue in order, at most `MAX_QUEUED` waiting
 * (past it `check` rejects with `MetadataCheckerBusyError`, and the share gets 503). A job that
 * takes over `JOB_TIMEOUT_MS`, or a worker that dies (its heap is capped), fails that job and
 * the worker is started again for the next. The worker runs what the server runs: the
 * compiled metadata-worker.js of an installed package, or, in a clone, the TypeScript source
 * through tsx.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Compiled (dist/server) or run from source by tsx: the worker's file is of the same kind. */
const COMPILED = import.meta.url.endsWith('.js');

/**
 * How a worker thread starts: the compiled file as it is; the TypeScript source after tsx's
 * ESM API (its `register()` works in any thread; `--import tsx` registers on the main thread
 * only: a worker does not inherit it). tsx is found only then: an installed package has none.
 */
function workerEntry(): { script: string | URL; eval: boolean } {
  if (COMPILED) return { script: new URL('./metadata-worker.js', import.meta.url), eval: false };
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const source = new URL('./metadata-worker.ts', import.meta.url).href;
  return { script: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`, eval: true };
}

export interface CheckRequest {
  id: number;
  bytes: ArrayBuffer;
}

export type CheckResult =
  | { ok: true; contentId: string; name: string; mimeType: string; fileSize: number; pieceSize: number }
  | { ok: false; contentId: string; reason: string };

export type CheckReply = CheckResult & { id: number };

/** Jobs waiting at once; the bytes of each are held until it runs. */
export const MAX_QUEUED = 16;
export const JOB_TIMEOUT_MS = 10_000;
/** The worker's heap cap: a hostile document fails its job, never the server. */
const WORKER_HEAP_MB = 256;

export class MetadataCheckerBusyError extends Error {
  override name = 'MetadataCheckerBusyError';
  readonly kind = 'busy';
}

interface Job {
  id: number;
  bytes: Uint8Array;
  resolve(r: CheckResult): void;
  reject(e: Error): void;
}

export interface MetadataChecker {
  /** The content ID (SHA-256 of `bytes`) and, if they parse, the catalog fields. */
  check(bytes: Uint8Array): Promise<CheckResult>;
  close(): Promise<void>;
}

export function createMetadataChecker(): MetadataChecker {
  let worker: Worker | undefined;
  let running: (Job & { timer: ReturnType<typeof setTimeout> }) | undefined;
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Worker {
    const entry = workerEntry();
    const w = new Worker(entry.script, { eval: entry.eval, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    w.unref();
    w.on('message', (reply: CheckReply) => {
      if (running === undefined || reply.id !== running.id) return;
      const job = running;
      clearTimeout(job.timer);
      running = undefined;
      const { id: _id, ...result } = reply;
      job.resolve(result as CheckResult);
      pump();
    });
    const fail = (why: string) => {
      if (worker === w) worker = undefined;
      const job = running;
      running = undefined;
      if (job) {
        clearTimeout(job.timer);
        job.reject(new Error(`metadata check failed: ${why}`));
      }
      pump();
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`the worker exited (${code})`));
    return w;
  }

  function pump(): void {
    if (closed || running !== undefined) return;
    const job = queue.shift();
    if (job === undefined) return;
    worker ??= spawn();
    const w = worker;
    const timer = setTimeout(() => {
      // Too slow: this document is not worth more; a fresh worker takes the next job.
      void w.terminate();
    }, JOB_TIMEOUT_MS);
    running = { ...job, timer };
    const copy = job.bytes.slice().buffer;
    w.postMessage({ id: job.id, bytes: copy } satisfies CheckRequest, [copy]);
  }

  return {
    check(bytes) {
      if (closed) return Promise.reject(new Error('the metadata checker is closed'));
      if (queue.length >= MAX_QUEUED) return Promise.reject(new MetadataCheckerBusyError('too many metadata files being checked; try again shortly'));
      return new Promise<CheckResult>((resolve, reject) => {
        queue.push({ id: nextId++, bytes, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('the metadata checker is closed'));
      if (running) {
        clearTimeout(running.timer);
        running.reject(new Error('the metadata checker is closed'));
        running = undefined;
      }
      await worker?.terminate();
      worker = undefined;
    },
  };
}
