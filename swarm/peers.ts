/**
 * The browser peers: one headless Chromium, one context per peer (its own IndexedDB, as a
 * separate machine would have), each opening the app link at once. Their state is read with
 * page.evaluate from `window.tabswarm` (the client's DO-style status), and each finished copy
 * is checked as a user gets it: 'Save file' clicked, the download hashed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { installProbe, launchOptions } from '../bench/util.js';

export interface BrowserPeer {
  /** 1-based, as the table shows it. */
  n: number;
  peerId: string;
  context: BrowserContext;
  page: Page;
  /** Date.now() when the page was told to open the link. */
  openedAt: number;
  /** Page errors seen, newest last (a few). */
  errors: string[];
}

/** One poll of one peer's download. */
export interface PeerSample {
  /** The download's state: idle, downloading, verifying, complete, failed, stopped; 'loading' before it exists. */
  state: string;
  fileSize: number;
  bytesDone: number;
  bytesFromPeers: number;
  bytesFromCdn: number;
  downloadBps: number;
  /** Peers linked now. */
  links: number;
  /** Strikes this peer gave, per remote peer ID (only those with any). */
  strikes: Record<string, number>;
  /** Remote peers this peer banned. */
  banned: string[];
  /** When the page saw its download complete (Date.now() in the page), 0 if not yet. */
  completeAt: number;
  /** Every strike given, with its reason, in order. */
  strikeLog: StrikeRecord[];
  /** The download's first 'peer' events, in order. */
  peerLog: PeerLogRecord[];
  error?: string;
}

/** A strike one peer gave: to whom and why (the download's 'peer' events, recorded in the page). */
export interface StrikeRecord {
  peerId: string;
  reason: string;
}

/** One of the download's 'peer' events (connected, disconnected, dropped, strike, banned), ms after the page's download began. */
export interface PeerLogRecord {
  ms: number;
  peerId: string;
  event: string;
  reason?: string;
}

declare global {
  interface Window {
    /** Filled by openBrowserPeers' init script: every strike the page's download gave. */
    __swarmStrikes?: StrikeRecord[];
    /** Filled by openBrowserPeers' init script: the download's first 300 'peer' events, to explain who met whom. */
    __swarmPeerLog?: PeerLogRecord[];
  }
}

export function launchBrowser(): Promise<Browser> {
  // Ctrl-C and SIGTERM are ours to handle: the runner closes the browser in its cleanup.
  return chromium.launch({ ...launchOptions(), handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
}

/** Opens `count` peers on `link`, all at once. */
export async function openBrowserPeers(browser: Browser, link: string, count: number): Promise<BrowserPeer[]> {
  const prepared = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const context = await browser.newContext({ acceptDownloads: true });
      await installProbe(context);
      // Strikes with their reasons (the status has only counts), so a ban can be explained.
      await context.addInitScript(() => {
        const strikes: StrikeRecord[] = [];
        const log: PeerLogRecord[] = [];
        window.__swarmStrikes = strikes;
        window.__swarmPeerLog = log;
        const timer = setInterval(() => {
          const d = window.tabswarm?.current()?.download;
          if (!d) return;
          clearInterval(timer);
          const began = performance.now();
          d.events.on('peer', (e) => {
            if (e.event === 'strike' && strikes.length < 1000) strikes.push({ peerId: e.peerId, reason: e.reason ?? '' });
            if (log.length < 300) log.push({ ms: Math.round(performance.now() - began), peerId: e.peerId, event: e.event, ...(e.reason === undefined ? {} : { reason: e.reason }) });
          });
        }, 2);
      });
      const page = await context.newPage();
      const peer: BrowserPeer = { n: i + 1, peerId: '', context, page, openedAt: 0, errors: [] };
      page.on('pageerror', (e) => {
        peer.errors.push(e.message);
        if (peer.errors.length > 5) peer.errors.shift();
      });
      return peer;
    }),
  );
  // Every page starts loading in the same instant.
  await Promise.all(
    prepared.map(async (p) => {
      p.openedAt = Date.now();
      await p.page.goto(link);
      p.peerId = await p.page.evaluate(() => window.tabswarm.client.peerId);
    }),
  );
  return prepared;
}

export async function samplePeer(peer: BrowserPeer, contentId: string): Promise<PeerSample> {
  return peer.page.evaluate((id) => {
    const current = window.tabswarm?.current();
    const completeAt = window.__benchProbe?.completeAt ?? 0;
    const strikeLog = window.__swarmStrikes ?? [];
    const peerLog = window.__swarmPeerLog ?? [];
    if (!current) {
      return { state: 'loading', fileSize: 0, bytesDone: 0, bytesFromPeers: 0, bytesFromCdn: 0, downloadBps: 0, links: 0, strikes: {}, banned: [], completeAt, strikeLog, peerLog };
    }
    const status = window.tabswarm.client.status().Downloads.find((d) => d.FileId === id) ?? current.status();
    const strikes: Record<string, number> = {};
    for (const p of status.Peers) if (p.Strikes > 0) strikes[p.PeerId] = p.Strikes;
    const sample = {
      state: current.download.state as string,
      fileSize: status.FileSize,
      bytesDone: status.FileSize - current.download.bytesLeft,
      bytesFromPeers: status.BytesFromPeers,
      bytesFromCdn: status.BytesFromHTTP,
      downloadBps: status.DownloadBps,
      links: status.NumPeers,
      strikes,
      banned: status.Peers.filter((p) => p.Banned).map((p) => p.PeerId),
      completeAt,
      strikeLog,
      peerLog,
    };
    return status.Error === undefined ? sample : { ...sample, error: status.Error };
  }, contentId);
}

/** Clicks 'Save file' as a user would, hashes the saved file as a stream, and deletes it. */
export async function savedFileSha256(page: Page, timeoutMs = 120_000): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: timeoutMs }), page.getByRole('button', { name: 'Save file' }).click({ timeout: timeoutMs })]);
  const path = await download.path();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  await download.delete();
  return hash.digest('hex');
}
