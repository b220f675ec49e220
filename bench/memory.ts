/**
 * Memory: the downloading tab's peak memory for a large file against a small one. The client
 * keeps verified pieces in IndexedDB, so its memory must not grow with the file.
 *
 * Each run launches its own Chromium (the runner's flags) on a fresh on-disk profile in
 * os.tmpdir() (removed after): `browser.newContext()` contexts are incognito, whose IndexedDB
 * and blobs live in memory; there a 1 GiB download does not even finish (reading its pieces
 * back fails with NotReadableError). One tab downloads from the CDN alone (`?httpDelayMs=0`)
 * until 'complete' (whole-file check included), sampled every 250 ms:
 *   - RSS (VmRSS in /proc/<pid>/status) of the tab's renderer process, where its hashing
 *     workers also run. The Chromium processes are found in /proc (descendants of the browser
 *     process started with this run's --user-data-dir; renderers by --type=renderer); of the
 *     renderers, the one whose CPU time grows most once the download runs is the tab's.
 *   - the page's JS heap: CDP Performance.getMetrics JSHeapUsedSize (main thread only; the
 *     workers' heaps are in the renderer's RSS, not here);
 *   - for context, the browser process's RSS and the sum of every Chromium process's RSS.
 *
 *   memory_peak_rss_1g_mib, memory_peak_rss_128m_mib, memory_1g_vs_128m (ratio of peak RSS),
 *   heap_peak_mib (the large run's peak JS heap). Tiny runs use 64 and 16 MiB under the same keys.
 */
import { chromium } from '@playwright/test';
import { byUserDataDir, chromiumTree as treeOf, rssOf, type Proc } from './proc.js';
import type { BenchContext, BenchModule } from './types.js';
import { MiB, installProbe, launchOptions, mbps, round, startContentServer, tempDir, type Probe } from './util.js';

/** The browser process started with `userDataDir`, and all its descendants. */
const chromiumTree = (userDataDir: string) => treeOf(byUserDataDir(userDataDir), `with --user-data-dir=${userDataDir}`);

interface MemoryRun {
  peakRss: number;
  /** Peak RSS while pieces were still arriving (before the whole-file check began). */
  peakRssDownloading: number;
  peakHeap: number;
  peakBrowserRss: number;
  peakTotalRss: number;
  samples: number;
  seconds: number;
}

/**
 * Diagnostic, not part of the figures: BENCH_MEMORY_TRACE=1 logs the renderer's RSS every
 * 2 s, to tell growth with the file from a transient peak. BENCH_MEMORY_FORCE_GC=1 collects the page's garbage
 * (CDP HeapProfiler.collectGarbage, main thread only) before each sample, to tell memory held
 * from memory not yet collected.
 */
const forceGc = process.env.BENCH_MEMORY_FORCE_GC === '1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function memoryRun(ctx: BenchContext, size: number, seed: number): Promise<MemoryRun> {
  const content = await startContentServer(size, seed);
  const profile = await tempDir('tabswarm-bench-profile-');
  const userDataDir = profile.path;
  const context = await chromium.launchPersistentContext(userDataDir, launchOptions());
  try {
    await installProbe(context);
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => ctx.log(`[memory page error] ${e.message}`));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const t0 = Date.now();
    await page.goto(content.link({ httpDelayMs: 0 }));

    // The tab's renderer: of the renderers, the one whose CPU time grows most once the download runs.
    await page.waitForFunction(() => (window.__benchProbe?.cdnPieces ?? 0) > 0, undefined, { timeout: 60_000, polling: 20 });
    const before = new Map((await chromiumTree(userDataDir)).all.map((p) => [p.pid, p.cpu]));
    await sleep(500);
    const tree = await chromiumTree(userDataDir);
    const renderers = tree.all.filter((p) => p.args.includes('--type=renderer'));
    if (renderers.length === 0) throw new Error('no renderer process under the browser in /proc');
    const grew = (p: Proc) => p.cpu - (before.get(p.pid) ?? 0);
    const renderer = renderers.reduce((a, b) => (grew(b) > grew(a) ? b : a));

    const run: MemoryRun = { peakRss: 0, peakRssDownloading: 0, peakHeap: 0, peakBrowserRss: 0, peakTotalRss: 0, samples: 0, seconds: 0 };
    let probe: Probe;
    for (;;) {
      const tick = Date.now();
      const [metrics, p, { all }] = await Promise.all([
        cdp.send('Performance.getMetrics'),
        page.evaluate(() => window.__benchProbe!),
        chromiumTree(userDataDir),
      ]);
      probe = p;
      if (forceGc) await cdp.send('HeapProfiler.collectGarbage');
      const rss = new Map(await Promise.all(all.map(async (pr) => [pr.pid, await rssOf(pr.pid)] as const)));
      run.peakHeap = Math.max(run.peakHeap, metrics.metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0);
      run.peakRss = Math.max(run.peakRss, rss.get(renderer.pid) ?? 0);
      if (!probe.verifyingAt) run.peakRssDownloading = Math.max(run.peakRssDownloading, rss.get(renderer.pid) ?? 0);
      run.peakBrowserRss = Math.max(run.peakBrowserRss, rss.get(tree.browser.pid) ?? 0);
      run.peakTotalRss = Math.max(run.peakTotalRss, [...rss.values()].reduce((a, b) => a + b, 0));
      run.samples++;
      if (process.env.BENCH_MEMORY_TRACE === '1' && run.samples % 8 === 0) {
        ctx.log(`memory trace ${size / MiB} MiB: t ${((Date.now() - t0) / 1000).toFixed(1)} s renderer ${((rss.get(renderer.pid) ?? 0) / MiB).toFixed(0)} MiB`);
      }
      if (probe.failedAt) throw new Error(`download of ${size / MiB} MiB failed: ${probe.error}`);
      if (probe.completeAt) break;
      if (Date.now() - t0 > 600_000) throw new Error(`download of ${size / MiB} MiB not complete after 600 s`);
      await sleep(Math.max(0, 250 - (Date.now() - tick)));
    }
    run.seconds = (probe.completeAt - t0) / 1000;
    ctx.log(
      `memory: ${size / MiB} MiB from the CDN in ${run.seconds.toFixed(1)} s (${mbps(size, run.seconds).toFixed(0)} MB/s); ` +
        `tab renderer (pid ${renderer.pid}) peak RSS ${(run.peakRss / MiB).toFixed(0)} MiB (${(run.peakRssDownloading / MiB).toFixed(0)} MiB before the whole-file check), `+
        `peak JS heap ${(run.peakHeap / MiB).toFixed(1)} MiB; ` +
        `browser process ${(run.peakBrowserRss / MiB).toFixed(0)} MiB; all Chromium processes ${(run.peakTotalRss / MiB).toFixed(0)} MiB; ${run.samples} samples`,
    );
    return run;
  } finally {
    await context.close();
    await profile.remove();
    await content.close();
  }
}

export const memoryBench: BenchModule = async (ctx) => {
  const [smallMiB, largeMiB] = ctx.tiny ? [16, 64] : [128, 1024];
  const small = await memoryRun(ctx, smallMiB * MiB, 128);
  const large = await memoryRun(ctx, largeMiB * MiB, 1024);
  return {
    memory_large_mib: largeMiB,
    memory_small_mib: smallMiB,
    memory_peak_rss_1g_mib: round(large.peakRss / MiB, 1),
    memory_peak_rss_128m_mib: round(small.peakRss / MiB, 1),
    memory_peak_rss_1g_downloading_mib: round(large.peakRssDownloading / MiB, 1),
    memory_peak_rss_128m_downloading_mib: round(small.peakRssDownloading / MiB, 1),
    memory_1g_vs_128m: round(large.peakRss / small.peakRss),
    heap_peak_mib: round(large.peakHeap / MiB, 2),
    heap_peak_128m_mib: round(small.peakHeap / MiB, 2),
    memory_browser_peak_rss_1g_mib: round(large.peakBrowserRss / MiB, 1),
    memory_browser_peak_rss_128m_mib: round(small.peakBrowserRss / MiB, 1),
    memory_all_peak_rss_1g_mib: round(large.peakTotalRss / MiB, 1),
    memory_all_peak_rss_128m_mib: round(small.peakTotalRss / MiB, 1),
    memory_cdn_1g_mbps: round(mbps(largeMiB * MiB, large.seconds), 1),
  };
};
