/**
 * E2E fixtures: a real tabswarm server on 127.0.0.1 port 0 serving the built app and a
 * deterministic test file, and helpers to drive one browser context per peer.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test';
import { deterministicChunk, writeDeterministicFile } from '../../signaling/deterministic-content.js';
import { publishFile } from '../../signaling/publish.js';
import type { ServerConfig } from '../../signaling/config.js';
import { createServer, type ServerHandle } from '../../signaling/server.js';
import type { StatsSnapshot } from '../../src/core/stats.js';
import { parseMetadata, type Metadata } from '../../src/protocol/metadata.js';

export interface TestSwarmServer {
  server: ServerHandle;
  contentId: string;
  fileSize: number;
  fileSha256: string;
  close(): Promise<void>;
}

export async function startTestServer(size: number, seed: number, options: Partial<ServerConfig> = {}): Promise<TestSwarmServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-e2e-'));
  const source = join(dir, `e2e-${seed}.bin`);
  await writeDeterministicFile(source, size, seed);
  // publish hashes the file as a stream; its whole-file SHA-256 is the reference.
  const { contentId, metadata } = await publishFile(source, { contentDir: join(dir, 'content') });
  const fileSha256 = metadata.fileSha256;
  const server = await createServer({ port: 0, host: '127.0.0.1', contentDir: join(dir, 'content'), demoSize: 0, logLevel: 'warn', ...options });
  return {
    server,
    contentId,
    fileSize: size,
    fileSha256,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A server publishing a given file (a test video, say) under `name`, in pieces of `pieceSize`. */
export async function startFileServer(filePath: string, name: string, pieceSize?: number, options: Partial<ServerConfig> = {}): Promise<TestSwarmServer & { metadata: Metadata }> {
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-e2e-'));
  const { contentId, metadata } = await publishFile(filePath, { contentDir: join(dir, 'content'), name, ...(pieceSize ? { pieceSize } : {}) });
  const server = await createServer({ port: 0, host: '127.0.0.1', contentDir: join(dir, 'content'), demoSize: 0, logLevel: 'warn', ...options });
  return {
    server,
    contentId,
    metadata,
    fileSize: metadata.fileSize,
    fileSha256: metadata.fileSha256,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A non-loopback IPv4 address of this machine (in the test namespace, its veth: the LAN). */
export function lanAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

export interface PeerPage {
  context: BrowserContext;
  page: Page;
}

/** One peer: its own browser context (own IndexedDB), opened on the content's link; `contextOptions` for the context (`ignoreHTTPSErrors`, say). */
export async function openPeer(browser: Browser, url: string, contextOptions: BrowserContextOptions = {}): Promise<PeerPage> {
  const context = await browser.newContext({ acceptDownloads: true, ...contextOptions });
  // Count SHA-256 digests on the page's main thread; workers have their own crypto.subtle.
  await context.addInitScript(() => {
    const subtle = globalThis.crypto?.subtle;
    if (!subtle) return; // not a secure context (about:blank): nothing to count
    const digest = subtle.digest.bind(subtle);
    (globalThis as { mainThreadDigests?: number }).mainThreadDigests = 0;
    subtle.digest = (...args: Parameters<SubtleCrypto['digest']>) => {
      (globalThis as { mainThreadDigests?: number }).mainThreadDigests! += 1;
      return digest(...args);
    };
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(url);
  return { context, page };
}

export async function waitComplete(page: Page, timeoutMs = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const d = window.tabswarm?.current()?.download;
      if (d?.state === 'failed') throw new Error(d.error?.message ?? 'download failed');
      return d?.state === 'complete';
    },
    undefined,
    { timeout: timeoutMs, polling: 100 },
  );
}

/** SHA-256 digests computed on the page's main thread (the client must compute none). */
export function mainThreadDigests(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as { mainThreadDigests?: number }).mainThreadDigests ?? -1);
}

export function stats(page: Page): Promise<StatsSnapshot> {
  return page.evaluate(() => window.tabswarm.current()!.download.snapshot());
}

/** Clicks Save as a user would and returns the SHA-256 of the file the browser saved. */
export async function savedFileSha256(page: Page): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save file' }).click()]);
  const path = await download.path();
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/**
 * Clicks "Save to…" as a user would and returns the SHA-256 of the file written. Headless
 * Chromium cannot show the file picker, so `showSaveFilePicker` is replaced by a stand-in that
 * answers what the picker would: a real FileSystemFileHandle (a new file in the origin's
 * private file system, directory `picked`). From there on it is the page's own path: the real
 * `createWritable()`, writes and close. The file is read back and hashed in the page.
 */
export async function pickedFileSha256(page: Page): Promise<string> {
  await page.evaluate(() => {
    (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async (options: { suggestedName: string }) => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true });
      return dir.getFileHandle(options.suggestedName, { create: true });
    };
  });
  await page.getByRole('button', { name: 'Save to…' }).click();
  await expect(page.locator('#dl-save-state')).toContainText('Saved to', { timeout: 30_000 });
  return page.evaluate(async () => {
    const name = window.tabswarm.current()!.content.metadata.name;
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked');
    const bytes = await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer();
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
  });
}

// ---------------------------------------------------------------------------------------------
// For the adversarial suite: the content as a Node peer needs it, and a per-page log of the
// download's strike, ban and rejection events (the snapshot only has the counts).

/** The published file's metadata and bytes, for Node peers that seed it. */
export interface TestContentBytes {
  metadata: Metadata;
  fileBytes: Uint8Array;
}

/**
 * Regenerates the deterministic file `startTestServer(size, seed)` published and fetches its
 * metadata from the server (not from the CDN, so the CDN log stays the browsers' own).
 */
export async function testContentBytes(swarm: TestSwarmServer, seed: number): Promise<TestContentBytes> {
  const fileBytes = deterministicChunk(seed, 0, swarm.fileSize);
  const sha = createHash('sha256').update(fileBytes).digest('hex');
  if (sha !== swarm.fileSha256) throw new Error(`regenerated file has SHA-256 ${sha}, the server's is ${swarm.fileSha256}`);
  const res = await fetch(`${swarm.server.url}/meta/${swarm.contentId}`);
  if (!res.ok) throw new Error(`metadata: HTTP ${res.status}`);
  const parsed = parseMetadata(new Uint8Array(await res.arrayBuffer()));
  if (!parsed.ok) throw new Error(`metadata: ${parsed.reason}`);
  return { metadata: parsed.metadata, fileBytes };
}

export interface PeerEventLog {
  strikes: Array<{ peerId: string; reason: string; at: number }>;
  bans: Array<{ peerId: string; reason: string; at: number }>;
  /** Peers dropped for lagging (not a ban). */
  drops: Array<{ peerId: string; reason: string; at: number }>;
  rejected: Array<{ index: number; source: string; reason: string; at: number }>;
}

declare global {
  interface Window {
    /** Filled by openLoggedPeer's init script. */
    __tabswarmEvents?: PeerEventLog;
  }
}

export interface LoggedPeerOptions {
  /**
   * Delays every RTCPeerConnection.getStats() of the page by this much. simple-peer reports a
   * link open ('connect') only after a getStats() call, so this holds the page's 'connect' back
   * the way a loaded machine does, while the remote already sends.
   */
  slowGetStatsMs?: number;
}

/** Like openPeer, and records the download's strike, ban and rejection events (see peerEvents). */
export async function openLoggedPeer(browser: Browser, url: string, options: LoggedPeerOptions = {}): Promise<PeerPage> {
  const context = await browser.newContext({ acceptDownloads: true });
  if (options.slowGetStatsMs) {
    await context.addInitScript((ms) => {
      const proto = RTCPeerConnection.prototype;
      const getStats = proto.getStats;
      // No declared parameters: simple-peer takes the promise form only when length is 0.
      proto.getStats = function (this: RTCPeerConnection, ...args: unknown[]) {
        return new Promise((r) => setTimeout(r, ms)).then(() => (getStats as (...a: unknown[]) => Promise<RTCStatsReport>).apply(this, args));
      } as typeof proto.getStats;
    }, options.slowGetStatsMs);
  }
  await context.addInitScript(() => {
    const log: PeerEventLog = { strikes: [], bans: [], drops: [], rejected: [] };
    window.__tabswarmEvents = log;
    // The download is created once the content's metadata is in; its first peer event comes
    // only after a WebRTC link opened, long after this finds it.
    const timer = setInterval(() => {
      const d = window.tabswarm?.current()?.download;
      if (!d) return;
      clearInterval(timer);
      d.events.on('peer', (e) => {
        if (e.event === 'strike') log.strikes.push({ peerId: e.peerId, reason: e.reason ?? '', at: Date.now() });
        if (e.event === 'banned') log.bans.push({ peerId: e.peerId, reason: e.reason ?? '', at: Date.now() });
        if (e.event === 'dropped') log.drops.push({ peerId: e.peerId, reason: e.reason ?? '', at: Date.now() });
      });
      d.events.on('rejected', (e) => log.rejected.push({ ...e, at: Date.now() }));
    }, 2);
  });
  if (process.env.TABSWARM_PAGE_DEBUG) {
    await context.addInitScript((ns) => localStorage.setItem('debug', ns), process.env.TABSWARM_PAGE_DEBUG);
  }
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  if (process.env.TABSWARM_PAGE_DEBUG) page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(url);
  return { context, page };
}

export function peerEvents(page: Page): Promise<PeerEventLog> {
  return page.evaluate(() => window.__tabswarmEvents ?? { strikes: [], bans: [], drops: [], rejected: [] });
}

/** The page's peer ID (a new one on every page load). */
export function peerIdOf(page: Page): Promise<string> {
  return page.evaluate(() => window.tabswarm.client.peerId);
}

/**
 * A full-page screenshot kept with the test's results, and, when UPDATE_SCREENSHOTS=1, also as
 * docs/screenshots/<name>.png: the README's pictures are taken by the tests, never by hand
 * (`UPDATE_SCREENSHOTS=1 npm run test:e2e -- views embed classroom`).
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const path = test.info().outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    await mkdir('docs/screenshots', { recursive: true });
    await copyFile(path, `docs/screenshots/${name}.png`);
  }
}
