/**
 * Hashing: the client's SHA-256 worker pool (src/workers/hasher-pool.ts, as the app creates
 * it: one worker per core up to 4) on 1 MiB buffers in a page, against Node's
 * `crypto.createHash('sha256')` on one thread of the runner process, on the same buffers.
 *
 *   hash_pool_mbps    pool throughput in the page (8 buffers in flight, transferred both ways)
 *   hash_native_mbps  Node crypto, single-threaded
 *   hash_vs_native    pool / native
 */
import { createHash } from 'node:crypto';
import type { BenchModule } from './types.js';
import type { HashRun } from './pages/hash.js';
import { fillBuffer } from './pages/fill.js';
import { MiB, mbps, round, startBenchPages } from './util.js';

const IN_FLIGHT = 8;

function nativeRun(totalMiB: number): { seconds: number; digests: string[] } {
  const buffers: Uint8Array[] = [];
  for (let k = 0; k < IN_FLIGHT; k++) {
    const b = new Uint8Array(MiB);
    fillBuffer(b, k);
    buffers.push(b);
  }
  const digests = buffers.map((b) => createHash('sha256').update(b).digest('hex'));
  const start = performance.now();
  for (let i = 0; i < totalMiB; i++) createHash('sha256').update(buffers[i % IN_FLIGHT]!).digest();
  return { seconds: (performance.now() - start) / 1000, digests };
}

export const hashBench: BenchModule = async (ctx) => {
  const totalMiB = ctx.tiny ? 32 : 1024;
  const pages = await startBenchPages();
  const context = await ctx.browser.newContext();
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => ctx.log(`[hash page error] ${e.message}`));
    await page.goto(`${pages.url}/hash.html`);
    await page.waitForFunction(() => typeof window.hashBench === 'function');
    // Best of two for both sides: the first pool run also pays for worker start-up.
    const poolRuns: HashRun[] = [];
    const nativeRuns: Array<{ seconds: number; digests: string[] }> = [];
    for (let r = 0; r < 2; r++) {
      poolRuns.push(await page.evaluate(([n, f]) => window.hashBench(n, f), [totalMiB, IN_FLIGHT] as const));
      nativeRuns.push(nativeRun(totalMiB));
    }
    const pool = poolRuns.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const native = nativeRuns.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    if (pool.digests.join() !== native.digests.join()) throw new Error('the worker pool and Node crypto disagree on a digest');
    const poolMbps = mbps(pool.bytes, pool.seconds);
    const nativeMbps = mbps(totalMiB * MiB, native.seconds);
    ctx.log(`hash: pool of ${pool.poolSize} workers ${poolMbps.toFixed(0)} MB/s, Node crypto ${nativeMbps.toFixed(0)} MB/s (${totalMiB} MiB each)`);
    return {
      hash_pool_mbps: round(poolMbps, 1),
      hash_native_mbps: round(nativeMbps, 1),
      hash_vs_native: round(poolMbps / nativeMbps),
      hash_pool_workers: pool.poolSize,
      hash_mib: totalMiB,
    };
  } finally {
    await context.close();
    await pages.close();
  }
};
