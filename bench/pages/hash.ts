/**
 * The client's SHA-256 worker pool, timed on 1 MiB buffers: `inFlight` buffers circulate
 * (each is transferred to a worker and handed back with its digest, as the client does with
 * pieces) until `totalMiB` MiB have been hashed. Driven by bench/hash.ts.
 */
import { createHasherPool } from '../../src/workers/hasher-pool.js';
import { fillBuffer, hex } from './fill.js';

const MiB = 1024 * 1024;

export interface HashRun {
  seconds: number;
  bytes: number;
  poolSize: number;
  /** Digest of each distinct buffer (index k), to check against Node's. */
  digests: string[];
}

async function hashBench(totalMiB: number, inFlight: number, poolSize?: number): Promise<HashRun> {
  const pool = createHasherPool(poolSize === undefined ? {} : { size: poolSize });
  const size = poolSize ?? Math.min(4, Math.max(1, navigator.hardwareConcurrency ?? 2));
  try {
    const buffers: Uint8Array[] = [];
    for (let k = 0; k < inFlight; k++) {
      const b = new Uint8Array(MiB);
      fillBuffer(b, k);
      buffers.push(b);
    }
    const digests: string[] = new Array(inFlight).fill('');
    // Warm-up: start the workers and let the engine compile, then time the real run.
    await Promise.all(buffers.map(async (b, k) => (buffers[k] = (await pool.digest(b)).data)));

    let issued = 0;
    const start = performance.now();
    await Promise.all(
      buffers.map(async (first, k) => {
        let buf = first;
        while (issued < totalMiB) {
          issued++;
          const r = await pool.digest(buf);
          buf = r.data;
          digests[k] = hex(r.digest);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    return { seconds, bytes: issued * MiB, poolSize: size, digests };
  } finally {
    pool.close();
  }
}

declare global {
  interface Window {
    hashBench: typeof hashBench;
  }
}
window.hashBench = hashBench;
document.title += ' (ready)';
