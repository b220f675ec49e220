/**
 * Tab to tab: one file between two tabs of one browser on an on-disk profile, of two origins
 * (profileBrowser says why not incognito contexts), over WebRTC on this machine, against a
 * bare RTCDataChannel between two other tabs in the same run.
 *
 * (a) raw: bench/pages/raw.ts; the runner carries offer, answer and candidates by hand;
 *     256 KiB messages, bufferedAmount kept under 4 MiB. Timed from the first byte sent to
 *     the last byte received (and from the first createOffer, including connect).
 * (b) tabswarm: tab A downloads the file from the CDN (`?httpDelayMs=0`) and seeds it; a new
 *     tab B of another origin opens the link with `?httpDelayMs=600000`, so every byte comes
 *     from A.
 *     Timed from B's first verified peer piece to 'complete' (every piece verified and stored,
 *     and the whole-file SHA-256 checked), and from page.goto to 'complete'.
 * (c) as (b), with B's pieces in IndexedDB (`?store=idb`).
 * (a), (b) and (c) alternate, three rounds (two with --tiny). The machine is noisy and one
 * run of either side can land in a quiet or a busy moment, so each ratio is the median of the
 * rounds' ratios (each round's client against the raw run just before it); the absolute
 * figures are the best run of each.
 *
 *   transfer_raw_mbps     raw data channel, first byte sent to last byte received
 *   transfer_client_mbps  tabswarm, B's first peer piece to complete, over the file size
 *   transfer_vs_raw       client / raw
 *   transfer_{raw,client}_cpu_s_per_gib   CPU seconds of every Chromium process (both tabs,
 *                         the browser, GPU, network and storage services) per GiB moved, over
 *                         the raw run's send-to-last-byte and the client run's first bytes from
 *                         A to complete (the whole-file check included), each over the bytes
 *                         moved in its window
 *   transfer_client_total_cpu_s_per_gib   the client's from page.goto (page load, workers, the
 *                         link: not per byte, but a 256 MiB file pays them), and
 *                         transfer_cpu_client_total_vs_raw
 *   transfer_cpu_client_vs_raw            the client's CPU per byte over the raw channel's
 *   transfer_idb_vs_raw, transfer_cpu_client_idb_vs_raw   the same for (c)
 *   transfer_{raw,client}_machine_busy    the machine's busy share over the same windows (all
 *                         cores, every process of every user; 1 = saturated)
 * The WebTorrent comparison (transfer_vs_webtorrent) is made by bench/run.ts with the same size.
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import os from 'node:os';
import { launchedByUs, startCpuWindow, type CpuWindow } from './proc.js';
import type { BenchContext, BenchModule } from './types.js';
// Declares window.raw, the page's API.
import type {} from './pages/raw.js';
import { MiB, installProbe, median, launchOptions, mbps, round, tempDir, startBenchPages, startContentServer, waitProbe, type ContentServer, type Probe } from './util.js';

/** The file size of the transfer benchmarks (WebTorrent's too). */
export function transferBytes(tiny: boolean): number {
  return (tiny ? 16 : 256) * MiB;
}

interface RawRun {
  /** First byte sent to last byte received. */
  seconds: number;
  /** First createOffer to last byte received. */
  totalSeconds: number;
  connectSeconds: number;
  cpu: CpuWindow;
}

/** CPU seconds per GiB moved, and a one-line breakdown by Chromium process kind. */
function cpuPerGib(w: CpuWindow, bytes: number): number {
  return w.chromiumSeconds / (bytes / 2 ** 30);
}
/** CPU seconds per process kind as flat figures: `<prefix>renderer`, `<prefix>network`, … */
function cpuByKind(prefix: string, w: CpuWindow): Record<string, number> {
  return Object.fromEntries(Object.entries(w.byKind).map(([k, v]) => [`${prefix}${k.replace(/[^a-z0-9]+/gi, '_')}`, round(v, 2)]));
}
function describeCpu(w: CpuWindow): string {
  const kinds = Object.entries(w.byKind)
    .filter(([, v]) => v >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
  return `Chromium CPU ${w.chromiumSeconds.toFixed(1)} s in ${w.wallSeconds.toFixed(1)} s (${kinds}); machine ${(w.machineBusy * 100).toFixed(0)}% busy of ${w.cores} cores`;
}

/**
 * One browser on an on-disk profile (removed on close), whose tabs the runs open. Not
 * `browser.newContext()`: those contexts are incognito, where OPFS and IndexedDB live in memory
 * and every write of a sync access handle goes through the browser process (a Chrome trace of
 * a 128 MiB transfer showed ~4,200 Write tasks there), which is not what a user's profile
 * costs. A seeds from 127.0.0.1 and B downloads from `localhost`: two origins, so two stores,
 * as two sites' tabs (B's origin is cleared after each run).
 */
export interface ProfileBrowser {
  context: BrowserContext;
  newTab(): Promise<Page>;
  /** Clears everything `origin` stored (CDP Storage.clearDataForOrigin). */
  clearOrigin(origin: string): Promise<void>;
  close(): Promise<void>;
}

export async function profileBrowser(): Promise<ProfileBrowser> {
  const dir = await tempDir('tabswarm-bench-transfer-');
  const context = await chromium.launchPersistentContext(dir.path, launchOptions());
  await installProbe(context);
  const first = context.pages()[0];
  return {
    context,
    async newTab() {
      const page = await context.newPage();
      page.on('pageerror', (e) => process.stderr.write(`[page error] ${e.message}\n`));
      return page;
    },
    async clearOrigin(origin) {
      const page = first ?? (await context.newPage());
      const cdp = await context.newCDPSession(page);
      await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
      await cdp.detach();
    },
    async close() {
      await context.close();
      await dir.remove();
    },
  };
}

/** B's origin: the same server by another name. */
const asLocalhost = (url: string) => url.replace('//127.0.0.1:', '//localhost:');

export async function rawRun(browser: ProfileBrowser, pagesUrl: string, bytes: number): Promise<RawRun> {
  const [a, b] = await Promise.all([browser.newTab(), browser.newTab()]);
  try {
    await Promise.all([a.goto(`${pagesUrl}/raw.html`), b.goto(`${pagesUrl}/raw.html`)]);
    await Promise.all([a.waitForFunction(() => typeof window.raw === 'object'), b.waitForFunction(() => typeof window.raw === 'object')]);
    const t0 = Date.now();
    const offer = await a.evaluate(() => window.raw.offer());
    const answer = await b.evaluate((o) => window.raw.answer(o), offer);
    await a.evaluate((ans) => window.raw.accept(ans), answer);
    // Trickle ICE by hand until both ends see the channel open.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [fromA, fromB] = await Promise.all([a.evaluate(() => window.raw.takeCandidates()), b.evaluate(() => window.raw.takeCandidates())]);
      await Promise.all([b.evaluate((c) => window.raw.addCandidates(c), fromA), a.evaluate((c) => window.raw.addCandidates(c), fromB)]);
      const [openA, openB] = await Promise.all([a.evaluate(() => window.raw.isOpen()), b.evaluate(() => window.raw.isOpen())]);
      if (openA && openB) break;
      if (Date.now() > deadline) throw new Error('raw data channel did not open within 20 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    const connectedAt = Date.now();
    await b.evaluate((n) => window.raw.receive(n), bytes);
    const cpu = await startCpuWindow(launchedByUs, os.cpus().length);
    const sent = await a.evaluate((n) => window.raw.send(n), bytes);
    await b.waitForFunction((n) => (window.raw.received()?.bytes ?? 0) >= n, bytes, { timeout: 300_000, polling: 20 });
    const cpuWindow = await cpu.stop();
    const got = (await b.evaluate(() => window.raw.received()))!;
    if (got.bytes !== bytes) throw new Error(`raw: received ${got.bytes} bytes of ${bytes}`);
    await Promise.all([a.evaluate(() => window.raw.close()), b.evaluate(() => window.raw.close())]);
    return { seconds: (got.lastAt - sent.firstAt) / 1000, totalSeconds: (got.lastAt - t0) / 1000, connectSeconds: (connectedAt - t0) / 1000, cpu: cpuWindow };
  } finally {
    await a.close();
    await b.close();
  }
}

interface ClientRun {
  /** B's first verified peer piece to complete (whole file verified). */
  seconds: number;
  /** page.goto to complete. */
  totalSeconds: number;
  /** page.goto to the first peer link open, and to the first verified peer piece. */
  connectSeconds: number;
  firstPieceSeconds: number;
  /** First to last verified piece, and last piece to complete (the whole-file check). */
  piecesSeconds: number;
  verifySeconds: number;
  /** Pieces the whole-file hash read back from storage instead of hashing them as they came. */
  readBacks: number;
  bytesFromPeers: number;
  /** CPU from B's first bytes from A to complete, and the bytes moved in that window. */
  cpu: CpuWindow;
  steadyBytes: number;
  /** CPU from page.goto to complete (page load, workers and the link included). */
  total: CpuWindow;
}

/** Extra query settings for B and A, for experiments: BENCH_CLIENT_QUERY='wireChunkBytes=262144'. */
function extraQuery(): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(process.env.BENCH_CLIENT_QUERY ?? ''));
}

export async function seedA(ctx: BenchContext, browser: ProfileBrowser, content: ContentServer): Promise<{ close(): Promise<void> }> {
  const a = await browser.newTab();
  const t0 = Date.now();
  await a.goto(content.link({ httpDelayMs: 0, ...extraQuery() }));
  const probe = await waitForComplete(a, 600_000);
  ctx.log(`transfer: seeder A got ${content.fileSize / MiB} MiB from the CDN in ${((probe.completeAt - t0) / 1000).toFixed(1)} s`);
  return { close: () => a.close() };
}

function waitForComplete(page: Page, timeoutMs: number): Promise<Probe> {
  return waitProbe(page, 'completeAt', timeoutMs);
}

export async function clientRun(ctx: BenchContext, browser: ProfileBrowser, content: ContentServer, query: Record<string, string> = {}): Promise<ClientRun> {
  const link = asLocalhost(content.link({ httpDelayMs: 600_000, ...extraQuery(), ...query }));
  const b = await browser.newTab();
  try {
    const t0 = Date.now();
    const cpuWindow = await startCpuWindow(launchedByUs, os.cpus().length);
    await b.goto(link);
    // The steady window starts at B's first bytes from A, as the raw channel's starts at its
    // first byte sent: page load, workers and the link are not per byte (they are in `total`).
    const bytesAtStart = await (await b.waitForFunction(() => window.tabswarm?.current()?.download.snapshot().bytesFromPeers || 0, undefined, { polling: 10, timeout: 120_000 })).jsonValue();
    const steadyWindow = await startCpuWindow(launchedByUs, os.cpus().length);
    const p = await waitForComplete(b, 600_000);
    const [total, cpu] = await Promise.all([cpuWindow.stop(), steadyWindow.stop()]);
    const { s, readBacks } = await b.evaluate(() => {
      const d = window.tabswarm.current()!.download;
      return { s: d.snapshot(), readBacks: d.wholeFileReadBacks };
    });
    if (s.bytesFromPeers !== content.fileSize) {
      throw new Error(`B got ${s.bytesFromPeers} bytes from peers and ${s.bytesFromCdn} from the CDN; expected all ${content.fileSize} from A`);
    }
    return {
      seconds: (p.completeAt - p.firstPeerPieceAt) / 1000,
      totalSeconds: (p.completeAt - t0) / 1000,
      connectSeconds: (p.firstPeerConnectedAt - t0) / 1000,
      firstPieceSeconds: (p.firstPeerPieceAt - t0) / 1000,
      piecesSeconds: (p.lastPieceAt - p.firstPieceAt) / 1000,
      verifySeconds: (p.completeAt - p.lastPieceAt) / 1000,
      readBacks,
      bytesFromPeers: s.bytesFromPeers,
      cpu,
      steadyBytes: content.fileSize - bytesAtStart,
      total,
    };
  } finally {
    await b.close();
    await browser.clearOrigin(new URL(link).origin);
  }
}

export const transferBench: BenchModule = async (ctx) => {
  const bytes = transferBytes(ctx.tiny);
  const pages = await startBenchPages();
  const content = await startContentServer(bytes, 256);
  const browser = await profileBrowser();
  let seeder: { close(): Promise<void> } | undefined;
  try {
    seeder = await seedA(ctx, browser, content);
    const raws: RawRun[] = [];
    const clients: ClientRun[] = [];
    const idbClients: ClientRun[] = [];
    const rounds = ctx.tiny ? 2 : 3;
    for (let round_ = 1; round_ <= rounds; round_++) {
      const r = await rawRun(browser, pages.url, bytes);
      raws.push(r);
      ctx.log(
        `transfer ${round_}/${rounds}: raw data channel ${mbps(bytes, r.seconds).toFixed(1)} MB/s (${r.seconds.toFixed(2)} s; connect ${r.connectSeconds.toFixed(2)} s); ` +
          `${cpuPerGib(r.cpu, bytes).toFixed(1)} CPU s/GiB: ${describeCpu(r.cpu)}`,
      );
      const c = await clientRun(ctx, browser, content);
      clients.push(c);
      ctx.log(
        `transfer ${round_}/${rounds}: tabswarm ${mbps(bytes, c.seconds).toFixed(1)} MB/s (${c.seconds.toFixed(2)} s first peer piece to complete: ` +
          `pieces ${c.piecesSeconds.toFixed(2)} s + whole-file check ${c.verifySeconds.toFixed(2)} s (${c.readBacks} pieces read back); ` +
          `goto to link open ${c.connectSeconds.toFixed(2)} s, to first piece ${c.firstPieceSeconds.toFixed(2)} s, to complete ${c.totalSeconds.toFixed(2)} s); ` +
          `${cpuPerGib(c.cpu, c.steadyBytes).toFixed(1)} CPU s/GiB from the first bytes from A: ${describeCpu(c.cpu)}; ` +
          `from goto ${cpuPerGib(c.total, bytes).toFixed(1)} CPU s/GiB: ${describeCpu(c.total)}`,
      );
      // The same with B's pieces in IndexedDB (`?store=idb`), so that the fallback does not rot.
      const i = await clientRun(ctx, browser, content, { store: 'idb' });
      idbClients.push(i);
      ctx.log(`transfer ${round_}/${rounds}: tabswarm on IndexedDB ${mbps(bytes, i.seconds).toFixed(1)} MB/s; ${cpuPerGib(i.cpu, i.steadyBytes).toFixed(1)} CPU s/GiB: ${describeCpu(i.cpu)}`);
    }
    const idb = idbClients.reduce((x, y) => (y.seconds < x.seconds ? y : x));
    const raw = raws.reduce((x, y) => (y.seconds < x.seconds ? y : x));
    const rawTotal = Math.min(...raws.map((r) => r.totalSeconds));
    const client = clients.reduce((x, y) => (y.seconds < x.seconds ? y : x));
    const clientTotal = Math.min(...clients.map((c) => c.totalSeconds));
    const rawMbps = mbps(bytes, raw.seconds);
    const clientMbps = mbps(bytes, client.seconds);
    /** The median over rounds of `f(round's client run, round's raw run)`. */
    const paired = (runs: ClientRun[], f: (c: ClientRun, r: RawRun) => number) => median(runs.map((c, i) => f(c, raws[i]!)));
    const speedRatio = (c: ClientRun, r: RawRun) => r.seconds / c.seconds;
    const cpuRatio = (c: ClientRun, r: RawRun) => cpuPerGib(c.cpu, c.steadyBytes) / cpuPerGib(r.cpu, bytes);
    return {
      transfer_mib: bytes / MiB,
      transfer_raw_mbps: round(rawMbps, 2),
      transfer_raw_total_mbps: round(mbps(bytes, rawTotal), 2),
      transfer_raw_connect_s: round(Math.min(...raws.map((r) => r.connectSeconds))),
      transfer_client_mbps: round(clientMbps, 2),
      transfer_client_total_mbps: round(mbps(bytes, clientTotal), 2),
      /** Pieces only: first to last verified piece (the rate the wire and the pipeline sustain). */
      transfer_client_pieces_mbps: round(mbps(bytes - Math.min(bytes, MiB), client.piecesSeconds), 2),
      transfer_client_verify_s: round(client.verifySeconds),
      transfer_client_read_backs: client.readBacks,
      transfer_client_first_piece_s: round(client.firstPieceSeconds),
      transfer_vs_raw: round(paired(clients, speedRatio)),
      /** The best client run over the best raw run (the figure before 2026-12-05 23:00 UTC). */
      transfer_best_vs_best_raw: round(clientMbps / rawMbps),
      transfer_raw_cpu_s_per_gib: round(cpuPerGib(raw.cpu, bytes), 2),
      transfer_client_cpu_s_per_gib: round(cpuPerGib(client.cpu, client.steadyBytes), 2),
      transfer_cpu_client_vs_raw: round(paired(clients, cpuRatio)),
      /** From page.goto: page load, workers and the link counted too. */
      transfer_client_total_cpu_s_per_gib: round(cpuPerGib(client.total, bytes), 2),
      transfer_cpu_client_total_vs_raw: round(cpuPerGib(client.total, bytes) / cpuPerGib(raw.cpu, bytes)),
      ...cpuByKind('transfer_client_total_cpu_s_', client.total),
      transfer_raw_machine_busy: round(raw.cpu.machineBusy),
      transfer_client_machine_busy: round(client.cpu.machineBusy),
      ...cpuByKind('transfer_raw_cpu_s_', raw.cpu),
      ...cpuByKind('transfer_client_cpu_s_', client.cpu),
      transfer_total_vs_raw_total: round(rawTotal / clientTotal),
      transfer_client_idb_mbps: round(mbps(bytes, idb.seconds), 2),
      transfer_idb_vs_raw: round(paired(idbClients, speedRatio)),
      transfer_client_idb_cpu_s_per_gib: round(cpuPerGib(idb.cpu, idb.steadyBytes), 2),
      transfer_cpu_client_idb_vs_raw: round(paired(idbClients, cpuRatio)),
    };
  } finally {
    await seeder?.close();
    await browser.close();
    await content.close();
    await pages.close();
  }
};
