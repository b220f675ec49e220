/**
 * Helpers shared by the benchmark modules: servers on 127.0.0.1 port 0 (the built bench
 * pages; a tabswarm server with one deterministic file), a probe in each tabswarm page that
 * timestamps the download's events as they happen, and small number helpers.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, LaunchOptions, Page } from '@playwright/test';
import sirv from 'sirv';
import playwrightConfig from '../playwright.config.js';
import { findChromium } from '../test/chromium-path.mjs';
import { writeDeterministicFile } from '../signaling/deterministic-content.js';
import { publishFile } from '../signaling/publish.js';
import { createServer, type ServerHandle } from '../signaling/server.js';

export const MiB = 1024 * 1024;
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Temp dirs (1 GiB files, browser profiles) not yet removed; see tempDir() and removeTempDirsSync(). */
const liveTempDirs = new Set<string>();

/** A fresh directory in os.tmpdir(), also removed by removeTempDirsSync() if the run dies first. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  liveTempDirs.add(path);
  return {
    path,
    async remove() {
      await rm(path, { recursive: true, force: true });
      liveTempDirs.delete(path);
    },
  };
}

/** For the runner's 'exit' handler: removes every temp dir still there. */
export function removeTempDirsSync(): void {
  for (const path of liveTempDirs) rmSync(path, { recursive: true, force: true });
  liveTempDirs.clear();
}

/** Chromium as the e2e tests launch it: playwright.config.ts's flags, the browser test/chromium-path.mjs finds. */
export function launchOptions(): LaunchOptions {
  const executablePath = findChromium();
  const { args = [] } = (playwrightConfig.use?.launchOptions ?? {}) as { args?: string[] };
  return { headless: true, args, ...(executablePath ? { executablePath } : {}) };
}

/** Throughput in MB/s (10^6 bytes per second), the unit of every `_mbps` figure. */
export function mbps(bytes: number, seconds: number): number {
  return bytes / seconds / 1e6;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The middle value of `values` (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of `values` (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** The built benchmark pages (dist/bench) over plain HTTP on 127.0.0.1, a port of its own. */
export async function startBenchPages(): Promise<StaticServer> {
  const dir = resolve(ROOT, 'dist/bench');
  const serve = sirv(dir, { dev: false, etag: false });
  const server = createHttpServer((req, res) =>
    serve(req, res, () => {
      res.statusCode = 404;
      res.end(`not found; were the bench pages built (vite build -c bench/vite.config.ts)?\n`);
    }),
  );
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const res = await fetch(`${url}/hash.html`);
  if (!res.ok) {
    server.close();
    throw new Error(`dist/bench/hash.html: HTTP ${res.status}; build the bench pages first (vite build -c bench/vite.config.ts)`);
  }
  await res.arrayBuffer();
  return {
    url,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

export interface ContentServer {
  server: ServerHandle;
  contentId: string;
  fileSize: number;
  fileSha256: string;
  /** The file as written (for a reference copy on the same disk). */
  sourcePath: string;
  /** The content's link for a page with these query settings, e.g. `{ httpDelayMs: 0 }`. */
  link(query: Record<string, string | number>): string;
  close(): Promise<void>;
}

/**
 * A tabswarm server (built app, CDN, Arrays) on 127.0.0.1 port 0 with one deterministic file
 * of `size` bytes, written into a temp dir (os.tmpdir()) that `close()` removes. Unlike the e2e
 * fixture it never reads the file into memory: files of 1 GiB are fine.
 */
export async function startContentServer(size: number, seed: number): Promise<ContentServer> {
  const temp = await tempDir('tabswarm-bench-');
  const dir = temp.path;
  try {
    const source = join(dir, `bench-${seed}.bin`);
    await writeDeterministicFile(source, size, seed);
    const contentDir = join(dir, 'content');
    const { contentId, metadata } = await publishFile(source, { contentDir });
    const server = await createServer({ port: 0, host: '127.0.0.1', contentDir, appDir: resolve(ROOT, 'dist/app'), demoSize: 0, logLevel: 'warn' });
    return {
      server,
      contentId,
      fileSize: size,
      fileSha256: metadata.fileSha256,
      sourcePath: source,
      link(query) {
        const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
        return `${server.url}/?${q}#c=${contentId}`;
      },
      async close() {
        await server.close();
        await temp.remove();
      },
    };
  } catch (e) {
    await temp.remove();
    throw e;
  }
}

/** What the probe records in a tabswarm page; every time is Date.now() in the page (ms). */
export interface Probe {
  /** When the probe first saw `window.tabswarm.current().download` (and subscribed). */
  subscribedAt: number;
  firstPeerConnectedAt: number;
  firstPeerPieceAt: number;
  firstPieceAt: number;
  lastPieceAt: number;
  verifyingAt: number;
  completeAt: number;
  failedAt: number;
  error: string;
  peerPieces: number;
  cdnPieces: number;
}

declare global {
  interface Window {
    __benchProbe?: Probe;
  }
}

/**
 * Installs, in every page of `context`, a probe that finds the download as soon as the page
 * creates it (polled every 1 ms from page start; the download exists once the content's
 * metadata is in, well before any peer link can open) and timestamps its events as they are
 * emitted: no polling latency in the recorded times.
 */
export async function installProbe(context: BrowserContext): Promise<void> {
  await context.addInitScript(probeInit);
}

/** The probe's init script as source, for a page driven without Playwright (raw-chromium.ts). */
export function probeSource(): string {
  return `(${probeInit.toString()})()`;
}

function probeInit(): void {
  const probe: Probe = {
    subscribedAt: 0,
    firstPeerConnectedAt: 0,
    firstPeerPieceAt: 0,
    firstPieceAt: 0,
    lastPieceAt: 0,
    verifyingAt: 0,
    completeAt: 0,
    failedAt: 0,
    error: '',
    peerPieces: 0,
    cdnPieces: 0,
  };
  window.__benchProbe = probe;
  const timer = setInterval(() => {
    const d = window.tabswarm?.current()?.download;
    if (!d) return;
    clearInterval(timer);
    probe.subscribedAt = Date.now();
    d.events.on('piece', (e) => {
      const now = Date.now();
      if (probe.firstPieceAt === 0) probe.firstPieceAt = now;
      probe.lastPieceAt = now;
      if (e.kind === 'peer') {
        if (probe.firstPeerPieceAt === 0) probe.firstPeerPieceAt = now;
        probe.peerPieces++;
      } else if (e.kind === 'cdn') {
        probe.cdnPieces++;
      }
    });
    d.events.on('peer', (e) => {
      if (e.event === 'connected' && probe.firstPeerConnectedAt === 0) probe.firstPeerConnectedAt = Date.now();
    });
    d.events.on('state', (s) => {
      if (s === 'verifying') probe.verifyingAt = Date.now();
      if (s === 'complete') probe.completeAt = Date.now();
      if (s === 'failed') {
        probe.failedAt = Date.now();
        probe.error = d.error?.message ?? 'failed';
      }
    });
  }, 1);
}

export function readProbe(page: Page): Promise<Probe> {
  return page.evaluate(() => {
    if (!window.__benchProbe) throw new Error('no bench probe in this page');
    return window.__benchProbe;
  });
}

/** Waits until the probe's `field` is set (or the download failed); returns the probe. */
export async function waitProbe(page: Page, field: keyof Probe, timeoutMs: number): Promise<Probe> {
  await page.waitForFunction(
    (f) => {
      const p = window.__benchProbe;
      if (p?.failedAt) throw new Error(`download failed: ${p.error}`);
      return Boolean(p?.[f as keyof Probe]);
    },
    field,
    { timeout: timeoutMs, polling: 50 },
  );
  return readProbe(page);
}

/** A fresh browser context (own IndexedDB) with the probe, and one page in it (not navigated). */
export async function newProbedPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  await installProbe(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`[page error] ${e.message}\n`));
  return { context, page };
}
