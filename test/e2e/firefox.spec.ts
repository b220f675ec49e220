/**
 * Firefox in the matrix: stock Firefox (driven over WebDriver BiDi, test/helpers/firefox.ts) in
 * the same swarms as Playwright's Chromium, over real WebRTC against a real server. Firefox and
 * Chromium differ in their WebRTC stacks (SCTP message sizes, ICE), their storage (OPFS sync
 * handles in workers, IndexedDB, the persistent-storage prompt) and their timers; each test is a
 * whole download that passes only if the file arrives byte for byte, from where it should.
 */
import { expect, test } from '@playwright/test';
import type { StatsSnapshot } from '../../src/core/stats.js';
import { launchFirefox, type FirefoxHandle, type FirefoxTab } from '../helpers/firefox.js';
import { startNodePeer, type NodePeer } from '../helpers/node-peer.js';
import { openPeer, savedFileSha256, startTestServer, stats, testContentBytes, waitComplete, type PeerPage, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
const SEED = 53;
let swarm: TestSwarmServer;
let firefox: FirefoxHandle;

test.beforeAll(async () => {
  swarm = await startTestServer(16 * MiB + 4321, SEED);
  firefox = await launchFirefox();
  console.log(`firefox: ${firefox.version}`);
});
test.afterAll(async () => {
  await firefox?.close();
  await swarm?.close();
});

const link = (query: string): string => `${swarm.server.url}/?${query}#c=${swarm.contentId}`;

/** What one test opened, closed whatever happens. */
class Opened {
  private readonly closers: Array<() => Promise<void>> = [];
  async firefoxTab(url: string): Promise<FirefoxTab> {
    const tab = await firefox.newTab();
    this.closers.push(() => tab.close());
    await tab.goto(url);
    return tab;
  }
  async chromium(open: Promise<PeerPage>): Promise<PeerPage> {
    const p = await open;
    this.closers.push(() => p.context.close());
    return p;
  }
  node(n: NodePeer): NodePeer {
    this.closers.push(() => n.stop());
    return n;
  }
  async close(): Promise<void> {
    await Promise.all(this.closers.map((c) => c().catch(() => undefined)));
  }
}
let opened: Opened;
test.beforeEach(() => {
  opened = new Opened();
});
test.afterEach(async () => {
  await opened.close();
});

async function waitCompleteIn(tab: FirefoxTab, timeoutMs = 60_000): Promise<void> {
  try {
    await tab.waitForFunction(
      () => {
        const d = window.tabswarm?.current()?.download;
        if (d?.state === 'failed') throw new Error(d.error?.message ?? 'download failed');
        return d?.state === 'complete';
      },
      undefined,
      { timeout: timeoutMs, polling: 100 },
    );
  } catch (e) {
    const where = await tab.evaluate(() => {
      const d = window.tabswarm?.current()?.download;
      if (!d) return 'no download';
      const s = d.snapshot();
      return `state ${d.state}, ${s.bytesFromPeers} bytes from peers, ${s.bytesFromCdn} from the CDN, ${s.piecesFromStore} pieces from the store`;
    });
    throw new Error(`the Firefox tab did not complete (${where}): ${(e as Error).message.split('\n')[0]}`);
  }
}

function statsIn(tab: FirefoxTab): Promise<StatsSnapshot> {
  return tab.evaluate(() => window.tabswarm.current()!.download.snapshot());
}

/** The SHA-256 of the whole file as the tab holds it (its Blob, hashed in the page). */
function fileSha256In(tab: FirefoxTab): Promise<string> {
  return tab.evaluate(async () => {
    const blob = await window.tabswarm.current()!.file();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  });
}

test('a Firefox tab seeds a Chromium context, and a Chromium context seeds a Firefox tab', async ({ browser }) => {
  // Firefox gets the file from the CDN, then Chromium gets all of it from Firefox.
  const ffSeeder = await opened.firefoxTab(link('httpDelayMs=0'));
  await waitCompleteIn(ffSeeder);
  expect(await fileSha256In(ffSeeder)).toBe(swarm.fileSha256);
  const chLeecher = await opened.chromium(openPeer(browser, link('httpDelayMs=600000')));
  await waitComplete(chLeecher.page, 60_000);
  const ch = await stats(chLeecher.page);
  expect(await savedFileSha256(chLeecher.page)).toBe(swarm.fileSha256);
  expect(ch.bytesFromPeers, 'Chromium got the whole file from the Firefox tab').toBe(swarm.fileSize);
  expect(ch.bytesFromCdn).toBe(0);
  await opened.close();

  // And back: a fresh Chromium context gets the file from the CDN, Firefox all of it from Chromium.
  opened = new Opened();
  const chSeeder = await opened.chromium(openPeer(browser, link('httpDelayMs=0')));
  await waitComplete(chSeeder.page, 60_000);
  const ffLeecher = await opened.firefoxTab(link('httpDelayMs=600000'));
  await waitCompleteIn(ffLeecher);
  const ff = await statsIn(ffLeecher);
  expect(await fileSha256In(ffLeecher)).toBe(swarm.fileSha256);
  expect(ff.bytesFromPeers, 'Firefox got the whole file from the Chromium context').toBe(swarm.fileSize);
  expect(ff.bytesFromCdn).toBe(0);
});

test('a Firefox tab bans a lying peer and completes with the file from an honest one', async ({ browser }) => {
  const content = await testContentBytes(swarm, SEED);
  const liar = opened.node(await startNodePeer({ serverUrl: swarm.server.url, contentId: swarm.contentId, ...content, behaviour: 'flip' }));
  // The liar alone first (no CDN for 600 s): the tab must ask it, so the ban cannot be raced by
  // an honest seeder serving everything first.
  const tab = await opened.firefoxTab(link('httpDelayMs=600000'));
  const peerId = await tab.evaluate(() => window.tabswarm.client.peerId);
  try {
    await tab.waitForFunction((id) => window.tabswarm?.current()?.download.snapshot().peers.some((p) => p.peerId === id && p.banned), liar.peerId, { timeout: 30_000 });
  } catch (e) {
    await liar.sync();
    const s = await statsIn(tab);
    throw new Error(
      `the Firefox tab did not ban the liar: ${(e as Error).message}; its peers: ${JSON.stringify(s.peers)}; ` +
        `the liar: linked to ${JSON.stringify(liar.linkedPeers())}, ${liar.requestsFrom(peerId)} requests from the tab, ${liar.crashed ?? 'running'}`,
    );
  }
  const seeder = await opened.chromium(openPeer(browser, link('httpDelayMs=0')));
  await waitComplete(seeder.page, 60_000);
  await waitCompleteIn(tab);
  const s = await statsIn(tab);
  expect(await fileSha256In(tab)).toBe(swarm.fileSha256);
  expect(s.piecesRejected, "the liar's pieces failed their SHA-256").toBeGreaterThan(0);
  expect(s.peers.find((p) => p.peerId === liar.peerId)).toMatchObject({ banned: true, piecesFrom: 0 });
  expect(s.bytesFromPeers, 'every byte came from the honest seeder').toBe(swarm.fileSize);
  expect(s.bytesFromCdn).toBe(0);
});

test('a Firefox tab reloaded in the middle of a download resumes from the pieces it stored', async () => {
  const pieceCount = Math.ceil(swarm.fileSize / MiB);
  // Slow enough (1 MiB/s) that the reload lands mid-download.
  const tab = await opened.firefoxTab(link('httpDelayMs=0&maxForegroundCdnBytesPerSec=1048576'));
  await tab.waitForFunction(() => (window.tabswarm?.current()?.download.have.cardinality ?? 0) >= 4, undefined, { timeout: 30_000, polling: 20 });
  const before = swarm.server.cdnLog.bytesFor(swarm.contentId);
  const stored = await tab.evaluate(() => window.tabswarm.current()!.download.have.cardinality);
  expect(stored).toBeLessThan(pieceCount);
  await tab.reload();
  await waitCompleteIn(tab);
  const s = await statsIn(tab);
  expect(await fileSha256In(tab)).toBe(swarm.fileSha256);
  // Firefox's OPFS with sync access handles in the worker, as Chromium's (not the IndexedDB fallback).
  expect(await tab.evaluate(() => window.tabswarm.current()!.download.storeKind)).toBe('opfs');
  expect(s.piecesFromStore, 'the reloaded tab took what it had stored').toBeGreaterThanOrEqual(stored);
  expect(s.piecesFromStore + s.piecesFromCdn).toBe(pieceCount);
  // After the reload the CDN served what was missing, at most one piece more (in flight at the reload).
  const after = swarm.server.cdnLog.bytesFor(swarm.contentId) - before;
  expect(after).toBeLessThanOrEqual(swarm.fileSize - stored * MiB + MiB);
});

test('a Firefox tab downloads a file large enough to ask for persistent storage while the prompt goes unanswered', async () => {
  // persistStorageFromBytes=0: this file asks navigator.storage.persist(), which Firefox answers
  // only when the user answers its prompt (never, here); Chromium answers at once.
  const tab = await opened.firefoxTab(link('httpDelayMs=0&persistStorageFromBytes=0'));
  await waitCompleteIn(tab, 30_000);
  expect(await fileSha256In(tab)).toBe(swarm.fileSha256);
  expect(await tab.evaluate(() => navigator.storage.persisted()), 'the prompt was left unanswered').toBe(false);
  expect((await statsIn(tab)).bytesFromCdn).toBe(swarm.fileSize);
});
