/**
 * Memory, the verify tail and Save, for large files: one tab downloads a file from the CDN
 * alone (`?httpDelayMs=0`) until 'complete' (whole-file check included), sampled every 100 ms,
 * then saves it; the pieces go to OPFS (the default) or, with `?store=idb`, to IndexedDB.
 *
 * Each run launches its own Chromium (the runner's flags) on a fresh on-disk profile in
 * os.tmpdir() (removed after): `browser.newContext()` contexts are incognito, whose storage
 * lives in memory. Measured:
 *   - RSS (VmRSS in /proc/<pid>/status) of the tab's renderer process, where its workers also
 *     run. The Chromium processes are found in /proc (descendants of the browser process
 *     started with this run's --user-data-dir; renderers by --type=renderer); of the
 *     renderers, the one whose CPU time grows most once the download runs is the tab's.
 *   - the page's JS heap: CDP Performance.getMetrics JSHeapUsedSize (main thread only);
 *   - for context, the browser process's RSS and the sum of every Chromium process's RSS;
 *   - the verify tail: the last piece stored to 'complete' (the whole-file hash is fed as the
 *     file fills, so little should be left);
 *   - Save: the page's Save button clicked to the whole file in Chromium's download folder
 *     (CDP's Browser.downloadProgress says 'completed' once the browser has written it),
 *     against `cp` of the same bytes on the same disk, in the same run; the saved file's
 *     SHA-256 is checked.
 * Chromium is driven over raw CDP (raw-chromium.ts), not Playwright, whose DevTools Network
 * agent would keep up to 200 MB of response bodies in the renderer being measured.
 *
 *   memory_peak_rss_<size>_mib, memory_4g_vs_128m (ratio of peak RSS), the same with `_idb`;
 *   verify_tail_4g_s, save_4g_s, copy_4g_s, save_4g_vs_copy; with `--large`, 16 GiB too;
 *   the same browser's own download of the same file from the CDN (a plain link), clicked to on
 *   disk: browser_download_4g_s, browser_download_4g_vs_copy (what the browser's download path
 *   costs against cp) and save_4g_vs_browser_download (Save against that path)
 *   (memory_16g_vs_128m). Tiny runs use 16 and 64 MiB under the same keys.
 *   - the floor: a page of the same origin that does nothing but read the same file from the
 *     CDN by range requests of a piece (as tabswarm does by default), with a BYOB reader into
 *     one buffer, 128 MiB and 4 GiB, in a fresh Chromium each: memory_floor_4g_vs_128m, what
 *     any page that downloads 4 GiB this way costs against 128 MiB here, and
 *     memory_4g_vs_floor (tabswarm's ratio over it); the same with 64 MiB requests
 *     (memory_floor_runs_4g_vs_128m) beside tabswarm with cdnRunPieces=64
 *     (memory_4g_runs_vs_128m). Also save_to_4g_s: "Save to…" (timeSaveTo).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { byUserDataDir, chromiumTree as treeOf, rssOf, type Proc } from './proc.js';
import type { BenchContext, BenchModule } from './types.js';
import { launchRawPage, type RawPage } from './raw-chromium.js';
import { MiB, mbps, probeSource, round, startContentServer, tempDir, type Probe } from './util.js';

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
  /** Last piece stored to 'complete' (s). */
  tail: number;
  /** Save clicked to the file on disk (s); 0 when not saved. */
  save: number;
  /** The same browser downloading the same file from the CDN (a plain link), clicked to on disk (s). */
  browserDownload: number;
  /** "Save to…" clicked to the picked file written and closed (s); 0 when not saved. */
  saveTo: number;
  /** The store the status named. */
  store: string;
}

export interface MemoryRunOptions {
  store: 'auto' | 'idb';
  /** Click Save once complete, time it and check the saved file. */
  save: boolean;
  /** More of the page's query (config keys). */
  query?: Record<string, number>;
}

/** SHA-256 of a file on disk, streamed. */
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Diagnostic, not part of the figures: BENCH_MEMORY_TRACE=1 logs the renderer's RSS every
 * 2 s (and the page's JS heap and ArrayBuffers, from CDP), to tell growth with the file from a
 * transient peak; BENCH_MEMORY_LARGE_MIB sets the large size (its keys keep their names). BENCH_MEMORY_FORCE_GC=1 collects the page's garbage
 * (CDP HeapProfiler.collectGarbage, main thread only) before each sample, to tell memory held
 * from memory not yet collected.
 */
const forceGc = process.env.BENCH_MEMORY_FORCE_GC === '1';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Between RSS samples (ms): a 128 MiB download lasts about a second here, and its peak is the reference. */
const SAMPLE_MS = 100;

/** The renderer of `userDataDir`'s browser whose CPU time grew most while `meanwhile` ran (the page at work), and the tree. */
async function busiestRenderer(userDataDir: string, meanwhile: () => Promise<void>): Promise<{ tree: { browser: Proc; all: Proc[] }; renderer: Proc }> {
  const before = new Map((await chromiumTree(userDataDir)).all.map((p) => [p.pid, p.cpu]));
  await meanwhile();
  const tree = await chromiumTree(userDataDir);
  const renderers = tree.all.filter((p) => p.args.includes('--type=renderer'));
  if (renderers.length === 0) throw new Error('no renderer process under the browser in /proc');
  const grew = (p: Proc) => p.cpu - (before.get(p.pid) ?? 0);
  return { tree, renderer: renderers.reduce((a, b) => (grew(b) > grew(a) ? b : a)) };
}

async function memoryRun(ctx: BenchContext, size: number, seed: number, options: MemoryRunOptions): Promise<MemoryRun> {
  const content = await startContentServer(size, seed);
  const profile = await tempDir('tabswarm-bench-profile-');
  const userDataDir = profile.path;
  const downloads = join(userDataDir, 'saved');
  // Not Playwright: its DevTools Network domain would keep the page's response bodies in the
  // renderer (raw-chromium.ts says how much).
  // Headless Chromium allows an origin 10 GiB here, and the page refuses a file that does not
  // fit (core/storage-room.ts): the 16 GiB run lifts the quota (--unlimited-storage), as a
  // roomy disk would (Chromium gives an origin up to 60% of the disk). CDP's
  // Storage.overrideQuotaForOrigin did not change the estimate.
  const page = await launchRawPage(userDataDir, probeSource(), size > 8 * 1024 * MiB ? ['--unlimited-storage'] : []);
  try {
    page.on('Runtime.exceptionThrown', (e) => ctx.log(`[memory page error] ${JSON.stringify(e).slice(0, 300)}`));
    await page.send('Runtime.enable');
    await page.send('Performance.enable');
    const probeNow = () => page.evaluate<Probe>('window.__benchProbe');
    const url = content.link({ httpDelayMs: 0, ...(options.store === 'idb' ? { store: 'idb' } : {}), ...options.query });
    const t0 = Date.now();
    await page.send('Page.navigate', { url });

    // The tab's renderer: of the renderers, the one whose CPU time grows most once the download runs.
    for (;;) {
      const early = await probeNow().catch(() => undefined);
      if (early?.failedAt) throw new Error(`download of ${size / MiB} MiB failed: ${early.error}`);
      if ((early?.cdnPieces ?? 0) > 0) break;
      if (Date.now() - t0 > 60_000) {
        const state = await page.evaluate<string>(`JSON.stringify(window.tabswarm?.client.status().Downloads[0] ?? null)`).catch((e: unknown) => String(e));
        throw new Error(`no piece from the CDN within 60 s; the download: ${state.slice(0, 600)}`);
      }
      await sleep(20);
    }
    const { tree, renderer } = await busiestRenderer(userDataDir, () => sleep(500));

    const run: MemoryRun = { peakRss: 0, peakRssDownloading: 0, peakHeap: 0, peakBrowserRss: 0, peakTotalRss: 0, samples: 0, seconds: 0, tail: 0, save: 0, browserDownload: 0, saveTo: 0, store: '' };
    let probe: Probe;
    for (;;) {
      const tick = Date.now();
      const [metrics, p, { all }] = await Promise.all([
        page.send<{ metrics: Array<{ name: string; value: number }> }>('Performance.getMetrics'),
        probeNow(),
        chromiumTree(userDataDir),
      ]);
      probe = p;
      if (forceGc) await page.send('HeapProfiler.collectGarbage');
      const rss = new Map(await Promise.all(all.map(async (pr) => [pr.pid, await rssOf(pr.pid)] as const)));
      run.peakHeap = Math.max(run.peakHeap, metrics.metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0);
      run.peakRss = Math.max(run.peakRss, rss.get(renderer.pid) ?? 0);
      if (!probe.verifyingAt) run.peakRssDownloading = Math.max(run.peakRssDownloading, rss.get(renderer.pid) ?? 0);
      run.peakBrowserRss = Math.max(run.peakBrowserRss, rss.get(tree.browser.pid) ?? 0);
      run.peakTotalRss = Math.max(run.peakTotalRss, [...rss.values()].reduce((a, b) => a + b, 0));
      run.samples++;
      if (process.env.BENCH_MEMORY_TRACE === '1' && run.samples % 20 === 0) {
        const heap = await page.send<{ usedSize: number; totalSize: number; backingStorageSize?: number }>('Runtime.getHeapUsage');
        ctx.log(
          `memory trace ${size / MiB} MiB: t ${((Date.now() - t0) / 1000).toFixed(1)} s renderer ${((rss.get(renderer.pid) ?? 0) / MiB).toFixed(0)} MiB; ` +
            `page heap ${(heap.usedSize / MiB).toFixed(1)} of ${(heap.totalSize / MiB).toFixed(1)} MiB, ArrayBuffers ${((heap.backingStorageSize ?? 0) / MiB).toFixed(1)} MiB`,
        );
      }
      if (probe.failedAt) throw new Error(`download of ${size / MiB} MiB failed: ${probe.error}`);
      if (probe.completeAt) break;
      if (Date.now() - t0 > 600_000) throw new Error(`download of ${size / MiB} MiB not complete after 600 s`);
      await sleep(Math.max(0, SAMPLE_MS - (Date.now() - tick)));
    }
    run.seconds = (probe.completeAt - t0) / 1000;
    run.tail = (probe.completeAt - probe.lastPieceAt) / 1000;
    run.store = await page.evaluate<string>(`window.tabswarm.client.status().Downloads[0]?.Store ?? '?'`);
    if (options.save) {
      // Sampled on through the save: the renderer must not hold the file while it is written out.
      await page.sendBrowser('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: downloads, eventsEnabled: true });
      const downloads_ = trackDownloads(page, ctx);
      const timeSave = async (click: string): Promise<number> => {
        const clicked = Date.now();
        const done = downloads_.next();
        await page.evaluate(click, true);
        for (;;) {
          const state = done.state();
          if (state === 'completed') break;
          if (state === 'canceled') throw new Error('the save was cancelled');
          if (Date.now() - clicked > 600_000) throw new Error('the save took over 600 s');
          run.peakRss = Math.max(run.peakRss, await rssOf(renderer.pid));
          await sleep(state === '' ? 20 : 50);
        }
        const seconds = (Date.now() - clicked) / 1000;
        const path = join(downloads, done.guid());
        const saved = await sha256File(path);
        if (saved !== content.fileSha256) throw new Error(`the saved file's SHA-256 is ${saved}, expected ${content.fileSha256}`);
        await rm(path, { force: true });
        return seconds;
      };
      run.save = await timeSave(`document.getElementById('dl-save').click()`);
      // The browser's own download of the same file from the CDN over HTTP, in the same browser:
      // what any Save through the browser's download path costs.
      run.browserDownload = await timeSave(
        `(() => { const a = document.createElement('a'); a.href = window.tabswarm.current().content.cdnUrls[0]; a.download = 'reference.bin'; document.body.append(a); a.click(); a.remove(); })()`,
      );
      run.saveTo = await timeSaveTo(page, userDataDir, content.fileSha256, renderer.pid, run);
    }
    ctx.log(
      `memory (${run.store}): ${size / MiB} MiB from the CDN in ${run.seconds.toFixed(1)} s (${mbps(size, run.seconds).toFixed(0)} MB/s), ` +
        `verify tail ${run.tail.toFixed(2)} s` +
        (options.save ? `, saved in ${run.save.toFixed(1)} s (the browser's own download of it over HTTP: ${run.browserDownload.toFixed(1)} s), saved to a picked file in ${run.saveTo.toFixed(1)} s (SHA-256s right)` : '') +
        '; ' +
        `tab renderer (pid ${renderer.pid}) peak RSS ${(run.peakRss / MiB).toFixed(0)} MiB (${(run.peakRssDownloading / MiB).toFixed(0)} MiB before the whole-file check), ` +
        `peak JS heap ${(run.peakHeap / MiB).toFixed(1)} MiB; ` +
        `browser process ${(run.peakBrowserRss / MiB).toFixed(0)} MiB; all Chromium processes ${(run.peakTotalRss / MiB).toFixed(0)} MiB; ${run.samples} samples`,
    );
    return run;
  } finally {
    await page.close();
    await profile.remove();
    await content.close();
  }
}

/**
 * "Save to…" (File System Access), timed from the click to the page saying the picked file is
 * written and closed. Headless Chromium cannot show the picker, so `showSaveFilePicker` is
 * replaced by what it would answer: a real FileSystemFileHandle, here a new file in the
 * origin's private file system on the same disk (from there on it is the page's own path:
 * `createWritable()`, the writes, `close()`). The written file is found in the profile (the
 * newest file of the file's size) and its SHA-256 checked, then removed through the page.
 */
async function timeSaveTo(page: RawPage, userDataDir: string, fileSha256: string, rendererPid: number, run: MemoryRun): Promise<number> {
  await page.evaluate(
    `window.showSaveFilePicker = async (o) => (await (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true })).getFileHandle(o.suggestedName, { create: true })`,
  );
  const clicked = Date.now();
  await page.evaluate(`document.getElementById('dl-save-to').click()`, true);
  for (;;) {
    const [state, error] = await page.evaluate<[string, string]>(`[document.getElementById('dl-save-state').textContent, document.getElementById('dl-error').hidden ? '' : document.getElementById('dl-error').textContent]`);
    if (error) throw new Error(`Save to…: ${error}`);
    if (state.startsWith('Saved to')) break;
    if (Date.now() - clicked > 600_000) throw new Error('Save to… took over 600 s');
    run.peakRss = Math.max(run.peakRss, await rssOf(rendererPid));
    await sleep(50);
  }
  const seconds = (Date.now() - clicked) / 1000;
  const size = await page.evaluate<number>('window.tabswarm.current().content.metadata.fileSize');
  const written = await newestFileOfSize(userDataDir, size);
  if (!written) throw new Error('Save to…: no file of the right size in the profile');
  const saved = await sha256File(written);
  if (saved !== fileSha256) throw new Error(`the file saved to the picked file has SHA-256 ${saved}, expected ${fileSha256}`);
  await page.evaluate(`(async () => (await navigator.storage.getDirectory()).removeEntry('picked', { recursive: true }))()`);
  return seconds;
}

/** The most recently modified file of exactly `size` bytes under `dir`. */
async function newestFileOfSize(dir: string, size: number): Promise<string | undefined> {
  let best: { path: string; mtime: number } | undefined;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    if (s.size === size && (!best || s.mtimeMs > best.mtime)) best = { path, mtime: s.mtimeMs };
  }
  return best?.path;
}

/**
 * The floor (see the header): peak RSS of a page's renderer that only reads `size` bytes of
 * the content from the CDN, by range requests of `rangeBytes`, into one reused buffer.
 */
async function floorPeakRss(ctx: BenchContext, size: number, seed: number, rangeBytes: number): Promise<number> {
  const content = await startContentServer(size, seed);
  const profile = await tempDir('tabswarm-bench-floor-');
  const page = await launchRawPage(profile.path, probeSource());
  try {
    await page.send('Runtime.enable');
    // The app's page with no content asked: same origin as the CDN, nothing downloading. Its
    // renderer: the one whose CPU time grew most while it loaded.
    const { renderer } = await busiestRenderer(profile.path, async () => {
      await page.send('Page.navigate', { url: `${content.server.url}/` });
      await sleep(1500);
    });
    const url = `${content.server.url}/cdn/${content.contentId}`;
    const read = page.evaluate<number>(`(async () => {
      let ring = new ArrayBuffer(Math.min(${rangeBytes}, 16 * 1048576));
      let total = 0;
      for (let start = 0; start < ${size}; start += ${rangeBytes}) {
        const last = Math.min(${size}, start + ${rangeBytes}) - 1;
        const res = await fetch(${JSON.stringify(url)}, { headers: { Range: 'bytes=' + start + '-' + last }, cache: 'no-store' });
        const reader = res.body.getReader({ mode: 'byob' });
        for (let pos = 0; ; ) {
          if (pos >= ring.byteLength) pos = 0;
          const { value, done } = await reader.read(new Uint8Array(ring, pos));
          if (value) ring = value.buffer;
          if (done) break;
          pos += value.byteLength;
          total += value.byteLength;
        }
      }
      return total;
    })()`);
    let finished = false;
    const result = read.finally(() => (finished = true));
    let peak = 0;
    do {
      peak = Math.max(peak, await rssOf(renderer.pid));
      await sleep(SAMPLE_MS);
    } while (!finished);
    peak = Math.max(peak, await rssOf(renderer.pid));
    const total = await result;
    if (total !== size) throw new Error(`floor: read ${total} bytes of ${size}`);
    ctx.log(`memory floor: a bare page read ${size / MiB} MiB in ${Math.ceil(size / rangeBytes)} range requests; renderer peak RSS ${(peak / MiB).toFixed(0)} MiB`);
    return peak;
  } finally {
    await page.close();
    await profile.remove();
    await content.close();
  }
}

/** The browser's downloads, one after another: `next()` before a click, then its state and GUID (its file's name). */
function trackDownloads(page: RawPage, ctx: BenchContext) {
  let current = { guid: '', state: '' };
  page.on('Browser.downloadWillBegin', (e) => {
    current.guid = String(e.guid);
    if (process.env.BENCH_MEMORY_TRACE === '1') ctx.log(`save: ${JSON.stringify(e)}`);
  });
  page.on('Browser.downloadProgress', (e) => {
    if (e.guid !== current.guid) return;
    current.state = String(e.state);
    if (process.env.BENCH_MEMORY_TRACE === '1' && e.state !== 'inProgress') ctx.log(`save: ${JSON.stringify(e)}`);
  });
  return {
    next() {
      const mine = (current = { guid: '', state: '' });
      return { state: () => mine.state, guid: () => mine.guid };
    },
  };
}

/** `cp` of the content's source file on the same disk (s): Save's reference. */
async function copySeconds(size: number, seed: number): Promise<number> {
  const content = await startContentServer(size, seed);
  try {
    const target = `${content.sourcePath}.copy`;
    const t0 = Date.now();
    await copyFile(content.sourcePath, target);
    const seconds = (Date.now() - t0) / 1000;
    await rm(target, { force: true });
    return seconds;
  } finally {
    await content.close();
  }
}

export const memoryBench: BenchModule = async (ctx) => {
  const [smallMiB, largeMiB] = ctx.tiny ? [16, 64] : [128, Number(process.env.BENCH_MEMORY_LARGE_MIB ?? 4096)];
  const out: Record<string, number> = { memory_large_mib: largeMiB, memory_small_mib: smallMiB };
  for (const store of (process.env.BENCH_MEMORY_STORES ?? 'auto,idb').split(',') as Array<'auto' | 'idb'>) {
    const suffix = store === 'idb' ? '_idb' : '';
    const small = await memoryRun(ctx, smallMiB * MiB, 128, { store, save: false });
    const large = await memoryRun(ctx, largeMiB * MiB, 4096, { store, save: true });
    Object.assign(out, {
      [`memory_peak_rss_128m${suffix}_mib`]: round(small.peakRss / MiB, 1),
      [`memory_peak_rss_4g${suffix}_mib`]: round(large.peakRss / MiB, 1),
      [`memory_peak_rss_4g${suffix}_downloading_mib`]: round(large.peakRssDownloading / MiB, 1),
      [`memory_4g_vs_128m${suffix}`]: round(large.peakRss / small.peakRss),
      [`verify_tail_4g${suffix}_s`]: round(large.tail, 2),
      [`save_4g${suffix}_s`]: round(large.save, 1),
      [`browser_download_4g${suffix}_s`]: round(large.browserDownload, 1),
      [`save_to_4g${suffix}_s`]: round(large.saveTo, 1),
      [`memory_browser_peak_rss_4g${suffix}_mib`]: round(large.peakBrowserRss / MiB, 1),
      [`memory_all_peak_rss_4g${suffix}_mib`]: round(large.peakTotalRss / MiB, 1),
      [`memory_cdn_4g${suffix}_mbps`]: round(mbps(largeMiB * MiB, large.seconds), 1),
      [`heap_peak${suffix}_mib`]: round(large.peakHeap / MiB, 2),
    });
  }
  out.copy_4g_s = round(await copySeconds(largeMiB * MiB, 4096), 1);
  out.save_4g_vs_copy = round(out.save_4g_s! / Math.max(0.1, out.copy_4g_s));
  out.save_4g_idb_vs_copy = round(out.save_4g_idb_s! / Math.max(0.1, out.copy_4g_s));
  // The browser's own download path against cp: a floor for any Save through it.
  out.browser_download_4g_vs_copy = round(out.browser_download_4g_s! / Math.max(0.1, out.copy_4g_s));
  out.save_4g_vs_browser_download = round(out.save_4g_s! / Math.max(0.1, out.browser_download_4g_s!));
  out.save_to_4g_vs_copy = round(out.save_to_4g_s! / Math.max(0.1, out.copy_4g_s));
  out.save_to_4g_idb_vs_copy = round(out.save_to_4g_idb_s! / Math.max(0.1, out.copy_4g_s));
  // The floor: what reading the file by the same requests costs any page here (a piece each,
  // the default), and what one request per 64 pieces would (tabswarm's opt-in runs, measured
  // too: cdnRunPieces=64).
  const floorSmall = await floorPeakRss(ctx, smallMiB * MiB, 128, MiB);
  const floorLarge = await floorPeakRss(ctx, largeMiB * MiB, 4096, MiB);
  out.memory_floor_128m_mib = round(floorSmall / MiB, 1);
  out.memory_floor_4g_mib = round(floorLarge / MiB, 1);
  out.memory_floor_4g_vs_128m = round(floorLarge / floorSmall);
  out.memory_4g_vs_floor = round(out.memory_4g_vs_128m! / out.memory_floor_4g_vs_128m);
  const floorRuns = await floorPeakRss(ctx, largeMiB * MiB, 4096, 64 * MiB);
  out.memory_floor_runs_4g_mib = round(floorRuns / MiB, 1);
  out.memory_floor_runs_4g_vs_128m = round(floorRuns / floorSmall);
  const runs = await memoryRun(ctx, largeMiB * MiB, 4096, { store: 'auto', save: false, query: { cdnRunPieces: 64 } });
  out.memory_peak_rss_4g_runs_mib = round(runs.peakRss / MiB, 1);
  out.memory_4g_runs_vs_128m = round(runs.peakRss / (out.memory_peak_rss_128m_mib! * MiB));
  if (ctx.large && !ctx.tiny) {
    const huge = await memoryRun(ctx, 16 * 1024 * MiB, 16384, { store: 'auto', save: false });
    out.memory_peak_rss_16g_mib = round(huge.peakRss / MiB, 1);
    out.memory_16g_vs_128m = round(huge.peakRss / (out.memory_peak_rss_128m_mib! * MiB), 3);
    out.verify_tail_16g_s = round(huge.tail, 2);
  }
  return out;
};
