/**
 * E2E fixtures: a real tabswarm server on 127.0.0.1 port 0 serving the built app and a
 * deterministic test file, and helpers to drive one browser context per peer.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { writeDeterministicFile } from '../../signaling/deterministic-content.js';
import { publishFile } from '../../signaling/publish.js';
import { createServer, type ServerHandle } from '../../signaling/server.js';
import type { StatsSnapshot } from '../../src/core/stats.js';

export interface TestSwarmServer {
  server: ServerHandle;
  contentId: string;
  fileSize: number;
  fileSha256: string;
  close(): Promise<void>;
}

export async function startTestServer(size: number, seed: number): Promise<TestSwarmServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-e2e-'));
  const source = join(dir, `e2e-${seed}.bin`);
  await writeDeterministicFile(source, size, seed);
  const fileSha256 = createHash('sha256').update(await readFile(source)).digest('hex');
  const { contentId } = await publishFile(source, { contentDir: join(dir, 'content') });
  const server = await createServer({ port: 0, host: '127.0.0.1', contentDir: join(dir, 'content'), demoSize: 0, logLevel: 'warn' });
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

export interface PeerPage {
  context: BrowserContext;
  page: Page;
}

/** One peer: its own browser context (own IndexedDB), opened on the content's link. */
export async function openPeer(browser: Browser, url: string): Promise<PeerPage> {
  const context = await browser.newContext({ acceptDownloads: true });
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
