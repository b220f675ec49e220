/**
 * The benchmark runner: `npm run bench [-- --tiny] [-- --json] [-- --only hash,transfer]`.
 *
 * Launches Chromium as playwright.config.ts does, runs each module in turn (bench/types.ts is
 * the contract), prints each figure beside its reference and their ratio as it goes, and with
 * --json prints one JSON object as the last line of stdout. A module that is missing or throws
 * is reported and the run goes on; its figures are then null and the exit code is 1.
 *
 * It builds nothing: `npm run bench` runs `vite build` (the app, dist/app) and
 * `vite build -c bench/vite.config.ts` (the bench pages, dist/bench) first, then this inside
 * a private network namespace (test/in-netns.mjs), where every byte stays on this machine.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { chromium, type Browser } from '@playwright/test';
import { transferBytes } from './transfer.js';
import type { BenchContext, BenchModule, BenchResult } from './types.js';
import { launchOptions, removeTempDirsSync } from './util.js';
import { fmt, table } from './table.js';

interface ModuleEntry {
  name: string;
  /** Where it comes from, for error messages. */
  file: string;
  load(): Promise<BenchModule>;
}

/** Imports a module that another engineer may not have written yet, by a path tsc does not check. */
async function importOptional<T>(file: string, exportName: string): Promise<T> {
  const mod = (await import(new URL(file, import.meta.url).href)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
  return fn as T;
}

const MODULES: ModuleEntry[] = [
  { name: 'hash', file: './hash.js', load: async () => (await import('./hash.js')).hashBench },
  { name: 'transfer', file: './transfer.js', load: async () => (await import('./transfer.js')).transferBench },
  {
    name: 'webtorrent',
    file: './webtorrent.js',
    load: async () => {
      const webtorrentTransfer = await importOptional<BenchModule>('./webtorrent.js', 'webtorrentTransfer');
      // The same file size as the transfer module, so transfer_vs_webtorrent compares like with like.
      return (ctx) => webtorrentTransfer({ ...ctx, sizeBytes: transferBytes(ctx.tiny) } as BenchContext);
    },
  },
  { name: 'swarm-offload', file: './swarm-offload.js', load: () => importOptional<BenchModule>('./swarm-offload.js', 'swarmOffload') },
  { name: 'first-piece', file: './first-piece.js', load: async () => (await import('./first-piece.js')).firstPieceBench },
  { name: 'memory', file: './memory.js', load: async () => (await import('./memory.js')).memoryBench },
  { name: 'hostage', file: './hostage.js', load: async () => (await import('./hostage.js')).hostageBench },
  { name: 'stream', file: './stream.js', load: async () => (await import('./stream.js')).streamBench },
  { name: 'cache-node', file: './cache-node.js', load: async () => (await import('./cache-node.js')).cacheNodeBench },
];

/** The headline figures, and the modules each needs. */
const HEADLINE: Record<string, string[]> = {
  hash_vs_native: ['hash'],
  transfer_vs_raw: ['transfer'],
  transfer_cpu_client_vs_raw: ['transfer'],
  transfer_idb_vs_raw: ['transfer'],
  transfer_vs_webtorrent: ['transfer', 'webtorrent'],
  cdn_bytes_per_file: ['swarm-offload'],
  peer_share: ['swarm-offload'],
  first_piece_p50_s: ['first-piece'],
  first_piece_p95_s: ['first-piece'],
  stream_first_frame_vs_http: ['stream'],
  stream_first_frame_p95_s: ['stream'],
  stream_seek_p50_s: ['stream'],
  stream_stalls: ['stream'],
  stream_peer_share: ['stream'],
  cache_node_cdn_bytes_per_file: ['cache-node'],
  cache_node_share: ['cache-node'],
  cache_node_mbps_vs_raw: ['cache-node'],
  memory_4g_vs_128m: ['memory'],
  memory_4g_vs_128m_idb: ['memory'],
  memory_floor_4g_vs_128m: ['memory'],
  verify_tail_4g_s: ['memory'],
  save_4g_vs_copy: ['memory'],
  save_to_4g_vs_copy: ['memory'],
  heap_peak_mib: ['memory'],
  stall_time_vs_clean: ['hostage'],
  upload_amplification: ['hostage'],
  liar_rotating_bad_pieces_per_tab: ['hostage'],
  liar_rotating_time_vs_clean: ['hostage'],
  honest_newcomer_first_piece_vs_before: ['hostage'],
};

/** Figure, its reference and their ratio (ratio = figure / reference unless said otherwise). */
const COMPARISONS: Array<{ figure: string; reference: string; ratio: string; note: string }> = [
  { figure: 'hash_pool_mbps', reference: 'hash_native_mbps', ratio: 'hash_vs_native', note: 'SHA-256 worker pool vs Node crypto, 1 thread (MB/s)' },
  { figure: 'transfer_client_mbps', reference: 'transfer_raw_mbps', ratio: 'transfer_vs_raw', note: 'tab to tab: tabswarm vs raw RTCDataChannel (MB/s)' },
  { figure: 'transfer_client_mbps', reference: 'webtorrent_mbps', ratio: 'transfer_vs_webtorrent', note: 'tab to tab: tabswarm vs WebTorrent (MB/s)' },
  { figure: 'memory_peak_rss_4g_mib', reference: 'memory_peak_rss_128m_mib', ratio: 'memory_4g_vs_128m', note: 'tab renderer peak RSS, OPFS: 4 GiB vs 128 MiB (MiB)' },
  { figure: 'memory_floor_4g_mib', reference: 'memory_floor_128m_mib', ratio: 'memory_floor_4g_vs_128m', note: 'the floor: a bare page reading the file by the same range requests, 4 GiB vs 128 MiB (MiB)' },
  { figure: 'memory_floor_runs_4g_mib', reference: 'memory_floor_128m_mib', ratio: 'memory_floor_runs_4g_vs_128m', note: 'the same by 64 MiB requests (MiB)' },
  { figure: 'memory_peak_rss_4g_runs_mib', reference: 'memory_peak_rss_128m_mib', ratio: 'memory_4g_runs_vs_128m', note: 'tabswarm with cdnRunPieces=64, 4 GiB vs 128 MiB (MiB)' },
  { figure: 'memory_peak_rss_4g_idb_mib', reference: 'memory_peak_rss_128m_idb_mib', ratio: 'memory_4g_vs_128m_idb', note: 'the same with IndexedDB forced (MiB)' },
  { figure: 'save_4g_s', reference: 'copy_4g_s', ratio: 'save_4g_vs_copy', note: 'Save clicked to the file on disk vs cp of the same file (s)' },
  { figure: 'browser_download_4g_s', reference: 'copy_4g_s', ratio: 'browser_download_4g_vs_copy', note: "the browser's own download of the same file over HTTP vs cp (s)" },
  { figure: 'save_4g_s', reference: 'browser_download_4g_s', ratio: 'save_4g_vs_browser_download', note: "Save vs the browser's own download of the file (s)" },
  { figure: 'save_4g_idb_s', reference: 'copy_4g_s', ratio: 'save_4g_idb_vs_copy', note: 'the same with IndexedDB forced (s)' },
  { figure: 'save_to_4g_s', reference: 'copy_4g_s', ratio: 'save_to_4g_vs_copy', note: '"Save to…" (File System Access) clicked to the picked file written vs cp (s)' },
  { figure: 'save_to_4g_idb_s', reference: 'copy_4g_s', ratio: 'save_to_4g_idb_vs_copy', note: 'the same with IndexedDB forced (s)' },
  { figure: 'liar_rotating_time_s', reference: 'hostage_clean_s', ratio: 'liar_rotating_time_vs_clean', note: 'two tabs: with a liar coming back under new IDs vs no such peer (s)' },
  { figure: 'cache_node_together_mbps', reference: 'cache_node_raw_mbps', ratio: 'cache_node_mbps_vs_raw', note: 'one cache node serving 4 tabs at once vs the raw data channel between two tabs (MB/s)' },
  { figure: 'cache_node_together_mbps', reference: 'cache_node_together_from_tab_mbps', ratio: 'cache_node_together_vs_tab_seed', note: 'the same 4 tabs: served by the cache node vs by a seeding browser tab (MB/s)' },
  { figure: 'first_piece_with_probation_s', reference: 'first_piece_without_probation_s', ratio: 'honest_newcomer_first_piece_vs_before', note: "a newcomer's first piece: probation vs none (s)" },
];

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    tiny: { type: 'boolean', default: false },
    large: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(`usage: npm run bench -- [--tiny] [--large] [--json] [--only ${MODULES.map((m) => m.name).join(',')}]`);
  process.exit(0);
}

const selected = args.only ? args.only.split(',').map((s) => s.trim()).filter(Boolean) : MODULES.map((m) => m.name);
for (const name of selected) {
  if (!MODULES.some((m) => m.name === name)) {
    console.error(`unknown module "${name}"; modules: ${MODULES.map((m) => m.name).join(', ')}`);
    process.exit(2);
  }
}

// A module that dies hard (an uncaught error in a server) must not leave 1 GiB files in /tmp.
process.on('exit', removeTempDirsSync);

const startedAt = Date.now();
const stamp = () => `[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s]`;
const log = (line: string) => process.stderr.write(`${stamp()} ${line}\n`);

/** The lines a human reads after a module: its comparisons first, then its other figures. */
function printModule(name: string, figures: BenchResult, all: Record<string, number | null>): void {
  const rows: string[][] = [['figure', 'value', 'reference', 'value', 'ratio']];
  const shown = new Set<string>();
  for (const c of COMPARISONS) {
    if (!(c.figure in figures) && !(c.reference in figures) && !(c.ratio in figures)) continue;
    rows.push([c.figure, fmt(all[c.figure]), c.reference, fmt(all[c.reference]), fmt(all[c.ratio])]);
    shown.add(c.figure).add(c.reference).add(c.ratio);
  }
  for (const [k, v] of Object.entries(figures)) if (!shown.has(k)) rows.push([k, fmt(v), '', '', '']);
  console.log(`\n== ${name}\n${table(rows)}\n`);
}

function playwrightVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../node_modules/@playwright/test/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const options = launchOptions();
  const browser: Browser = await chromium.launch(options);
  const inNetns = Object.keys(os.networkInterfaces()).includes('tsw0');
  const machine = {
    cpus: os.cpus().length,
    available_parallelism: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    chromium: browser.version(),
    chromium_path: options.executablePath ?? 'playwright',
    loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    playwright: playwrightVersion(),
    private_netns: inNetns,
  };
  log(`machine: ${machine.cpus} x ${machine.cpu_model}; Node ${machine.node}; Chromium ${machine.chromium}; ${inNetns ? 'private network namespace' : 'host network'}`);
  log(`modules: ${selected.join(', ')}${args.tiny ? ' (tiny: sizes for a smoke run, figures meaningless)' : ''}`);

  const ctx: BenchContext = { browser, tiny: args.tiny, large: args.large, log };
  const figures: Record<string, number | null> = {};
  const errors: Record<string, string> = {};
  const moduleSeconds: Record<string, number> = {};
  const ran = new Set<string>();
  try {
    for (const entry of MODULES) {
      if (!selected.includes(entry.name)) continue;
      ran.add(entry.name);
      const t0 = Date.now();
      log(`${entry.name}: start`);
      try {
        const bench = await entry.load();
        const result = await bench(ctx);
        for (const [k, v] of Object.entries(result)) {
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`figure ${k} is not a finite number: ${String(v)}`);
        }
        Object.assign(figures, result);
        if (figures.transfer_client_mbps && figures.webtorrent_mbps && (entry.name === 'transfer' || entry.name === 'webtorrent')) {
          figures.transfer_vs_webtorrent = Math.round((figures.transfer_client_mbps / figures.webtorrent_mbps) * 1000) / 1000;
        }
        moduleSeconds[entry.name] = (Date.now() - t0) / 1000;
        log(`${entry.name}: done in ${moduleSeconds[entry.name]!.toFixed(1)} s`);
        printModule(entry.name, result, figures);
      } catch (e) {
        const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
        errors[entry.name] = e instanceof Error ? e.message : String(e);
        moduleSeconds[entry.name] = (Date.now() - t0) / 1000;
        log(`${entry.name}: FAILED (${entry.file}): ${message}`);
        console.log(`\n== ${entry.name}\nFAILED: ${errors[entry.name]}\n`);
      }
    }
  } finally {
    await browser.close();
  }

  // Headline figures: null when a module they need failed or did not run.
  const missing: string[] = [];
  for (const [key, needs] of Object.entries(HEADLINE)) {
    if (typeof figures[key] === 'number') continue;
    figures[key] = null;
    if (needs.every((n) => ran.has(n))) missing.push(key);
  }
  for (const key of missing) if (!Object.values(errors).length) errors[`figure ${key}`] = 'not reported by its module';

  const rows: string[][] = [['headline', 'value']];
  for (const key of Object.keys(HEADLINE)) rows.push([key, figures[key] === null ? (missing.includes(key) ? 'FAILED' : 'not run') : fmt(figures[key])]);
  console.log(`== summary (${((Date.now() - startedAt) / 1000).toFixed(0)} s${args.tiny ? ', tiny' : ''})\n${table(rows)}`);

  const failed = Object.keys(errors).length > 0 || missing.length > 0;
  if (args.json) {
    const headline = Object.fromEntries(Object.keys(HEADLINE).map((k) => [k, figures[k]]));
    const rest = Object.fromEntries(Object.entries(figures).filter(([k]) => !(k in HEADLINE)));
    const out = {
      ...headline,
      ...rest,
      tiny: args.tiny,
      modules_run: [...ran],
      errors,
      module_seconds: moduleSeconds,
      total_seconds: Math.round((Date.now() - startedAt) / 100) / 10,
      machine: { ...machine, loadavg_at_end: os.loadavg().map((x) => Math.round(x * 100) / 100) },
      date: new Date(startedAt).toISOString(),
    };
    console.log(JSON.stringify(out));
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
