/**
 * Classroom sharing in real Chromium: a teacher's tab shares a file it holds (share.html), the
 * server gets only its metadata, and receivers who open the link download it from the teacher's
 * tab and from each other over WebRTC, every piece verified, with no CDN copy anywhere.
 * Then a class of 30 on loopback; and the plain notice a page shows without a secure context.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { writeDeterministicFile } from '../../signaling/deterministic-content.js';
import { createServer, type ServerHandle } from '../../signaling/server.js';
import { openPeer, savedFileSha256, screenshot, stats, waitComplete, type PeerPage } from './fixtures.js';

const MiB = 1024 * 1024;

interface Classroom {
  server: ServerHandle;
  dir: string;
  filePath: string;
  fileSha256: string;
  fileSize: number;
  close(): Promise<void>;
}

/** A server with nothing published, and a deterministic file on disk for the teacher to pick. */
async function classroom(size: number, seed: number, host = '127.0.0.1'): Promise<Classroom> {
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-class-'));
  const filePath = join(dir, `lesson-${seed}.bin`);
  await writeDeterministicFile(filePath, size, seed);
  const fileSha256 = createHash('sha256').update(await readFile(filePath)).digest('hex');
  const server = await createServer({ port: 0, host, contentDir: join(dir, 'content'), demoSize: 0, logLevel: 'warn' });
  return {
    server,
    dir,
    filePath,
    fileSha256,
    fileSize: size,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface ShareInfo {
  contentId: string;
  joinCode: string;
  link: string;
  shortLink: string;
}

/** The teacher: opens the share page, picks the file, waits for the link. */
async function shareFile(browser: Browser, room: Classroom, viewport = { width: 1000, height: 900 }): Promise<{ page: Page; close(): Promise<void>; info: ShareInfo }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[sharer page error] ${e.message}`));
  await page.goto(`${room.server.url}/share.html`);
  await page.setInputFiles('#share-file', room.filePath);
  await page.waitForFunction(
    () => {
      const s = window.tabswarmShare.state();
      if (s.phase === 'failed') throw new Error(s.error);
      return s.link !== undefined;
    },
    undefined,
    { timeout: 60_000, polling: 100 },
  );
  const info = await page.evaluate(() => {
    const s = window.tabswarmShare.state();
    return { contentId: s.contentId!, joinCode: s.joinCode!, link: s.link!, shortLink: s.shortLink! };
  });
  return { page, info, close: () => context.close() };
}

async function waitSeeding(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const s = window.tabswarmShare.state();
      if (s.phase === 'failed') throw new Error(s.error);
      return s.seeding;
    },
    undefined,
    { timeout: 60_000, polling: 100 },
  );
}

async function waitFinished(page: Page, n: number, timeoutMs = 45_000): Promise<void> {
  await page.waitForFunction((want) => window.tabswarmShare.state().finished >= want, n, { timeout: timeoutMs, polling: 250 });
}

test('a teacher shares a file: three receivers get it from the tab and each other, none from a CDN', async ({ browser }) => {
  const room = await classroom(8 * MiB + 4321, 71);
  try {
    const sharer = await shareFile(browser, room);
    const { contentId, joinCode, link, shortLink } = sharer.info;
    expect(joinCode).toMatch(/^[2-9A-HJKMNP-Z]{9}$/);
    expect(link).toBe(`${room.server.url}/?downloadMode=group&groupId=${link.match(/groupId=([^#&]+)/)![1]}#c=${contentId}`);
    // The server holds the description, not the file: no CDN URL, and /cdn has nothing.
    const policy = (await (await fetch(`${room.server.url}/api/content/${contentId}`)).json()) as { cdnUrls: string[] };
    expect(policy.cdnUrls).toEqual([]);
    await waitSeeding(sharer.page);
    await expect(sharer.page.locator('#share-keep-open')).toContainText('Keep this tab open');
    await sharer.page.screenshot({ path: test.info().outputPath('share-seeding.png'), fullPage: true });

    // The first receiver opens the short link (/j/<code> redirects to the link), the others the link.
    const receivers: PeerPage[] = [await openPeer(browser, shortLink)];
    expect(receivers[0]!.page.url()).toBe(link);
    receivers.push(...(await Promise.all([openPeer(browser, link), openPeer(browser, link)])));
    const t0 = Date.now();
    await Promise.all(receivers.map((r) => waitComplete(r.page, 90_000)));
    const seconds = (Date.now() - t0) / 1000;

    const snaps = await Promise.all(receivers.map((r) => stats(r.page)));
    console.table(snaps.map((s, i) => ({ receiver: i + 1, fromPeersMiB: +(s.bytesFromPeers / MiB).toFixed(2), fromCdn: s.bytesFromCdn, uploadedMiB: +(s.bytesUploaded / MiB).toFixed(2) })));
    console.log(`3 receivers of ${(room.fileSize / MiB).toFixed(2)} MiB done in ${seconds.toFixed(1)} s`);
    for (const s of snaps) {
      expect(s.bytesFromCdn).toBe(0);
      expect(s.bytesFromPeers).toBe(room.fileSize);
    }
    expect(room.server.cdnLog.bytesFor(contentId)).toBe(0);
    expect(room.server.cdnLog.requestsFor(contentId)).toBe(0);
    // Every receiver saves exactly the teacher's file.
    for (const r of receivers) expect(await savedFileSha256(r.page)).toBe(room.fileSha256);

    // The teacher sees them finish, and the warning makes way.
    await waitFinished(sharer.page, 3);
    await expect(sharer.page.locator('#share-finished')).toHaveText('3');
    await expect(sharer.page.locator('#share-keep-open')).toContainText('3 devices have the whole file');
    await screenshot(sharer.page, 'share-3-finished');
    await screenshot(receivers[1]!.page, 'receiver-complete');
    // On a phone's width.
    await sharer.page.setViewportSize({ width: 390, height: 844 });
    await screenshot(sharer.page, 'share-phone-390');

    // The join code resolves from the share page's form, to the same link.
    const joiner = await browser.newContext();
    const jp = await joiner.newPage();
    await jp.goto(`${room.server.url}/share.html`);
    await jp.locator('#join-code').fill(joinCode.toLowerCase());
    await jp.getByRole('button', { name: 'Join' }).click();
    await jp.waitForURL((u) => u.hash === `#c=${contentId}`);
    expect(jp.url()).toBe(link.replace(/^https?:\/\/[^/]+/, room.server.url));
    await joiner.close();

    for (const r of receivers) await r.context.close();
    await sharer.close();
  } finally {
    await room.close();
  }
});

interface LibReceiver {
  context: BrowserContext;
  page: Page;
}

interface RxState {
  state: string;
  left: number;
  peers: number;
  sha: string | undefined;
  fromPeers: number;
  fromCdn: number;
  uploaded: number;
  error: string | undefined;
}

declare global {
  interface Window {
    __rx?: () => RxState;
  }
}

/**
 * A light receiver for the class of 30: a page on the server's origin that runs the public
 * library API (createClient, client.download) on the share's link, without the app's charts,
 * so that 30 of them fit on two cores. The app page itself is tested with three receivers above.
 */
async function openLibReceiver(browser: Browser, serverUrl: string, link: string): Promise<LibReceiver> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[receiver page error] ${e.message}`));
  await page.goto(`${serverUrl}/api/health`);
  await page.evaluate(async (target) => {
    const url = new URL(target);
    const lib = '/lib/tabswarm.js';
    const { createClient } = (await import(lib)) as typeof import('../../src/index.js');
    const client = createClient({ settingsStorage: null, query: { downloadMode: 'group', groupId: url.searchParams.get('groupId')! } });
    const d = await client.download(target);
    window.__rx = () => {
      const s = d.download.snapshot();
      return {
        state: d.download.state,
        left: d.download.bytesLeft,
        peers: d.download.connectedPeers,
        sha: d.download.fileSha256,
        fromPeers: s.bytesFromPeers,
        fromCdn: s.bytesFromCdn,
        uploaded: s.bytesUploaded,
        error: d.download.error?.message,
      };
    };
  }, link);
  return { context, page };
}

test('a class of 30 receivers on loopback, all from the teacher and each other', async ({ browser }) => {
  test.setTimeout(300_000);
  const CLASS = 30;
  const room = await classroom(3 * MiB, 72);
  const receivers: LibReceiver[] = [];
  try {
    const sharer = await shareFile(browser, room, { width: 390, height: 844 });
    await waitSeeding(sharer.page);
    const { contentId, link } = sharer.info;
    const t0 = Date.now();
    // The class arrives over some seconds, as a class does.
    for (let i = 0; i < CLASS; i += 10) {
      receivers.push(...(await Promise.all(Array.from({ length: Math.min(10, CLASS - i) }, () => openLibReceiver(browser, room.server.url, link)))));
    }
    const opened = (Date.now() - t0) / 1000;
    // Opening 30 browser contexts takes a 2-core machine 60-115 s, most of it Chromium's own
    // start-up: the class has 90 s from the last page open.
    const deadline = Date.now() + 90_000;
    const waited = await Promise.allSettled(
      receivers.map((r) =>
        r.page.waitForFunction(
          () => {
            const s = window.__rx?.();
            if (s?.state === 'failed') throw new Error(s.error);
            return s?.state === 'complete';
          },
          undefined,
          { timeout: Math.max(1000, deadline - Date.now()), polling: 250 },
        ),
      ),
    );
    const seconds = (Date.now() - t0) / 1000;
    const results = await Promise.all(receivers.map((r) => r.page.evaluate(() => window.__rx!())));
    const uploadedBySharer = await sharer.page.evaluate(() => window.tabswarmShare.download()!.download.snapshot().bytesUploaded);
    console.log(
      `class of ${CLASS}: all pages open after ${opened.toFixed(1)} s; ${results.filter((r) => r.state === 'complete').length} complete after ${seconds.toFixed(1)} s; ` +
        `the teacher's tab sent ${(uploadedBySharer / MiB).toFixed(1)} MiB (${(uploadedBySharer / room.fileSize).toFixed(1)} copies), ` +
        `the receivers ${(results.reduce((a, r) => a + r.uploaded, 0) / MiB).toFixed(1)} MiB`,
    );
    if (waited.some((w) => w.status === 'rejected')) console.table(results.map((r, i) => ({ receiver: i + 1, ...r, sha: r.sha?.slice(0, 12) })));
    expect(waited.filter((w) => w.status === 'rejected')).toEqual([]);
    expect(seconds - opened).toBeLessThan(90);
    for (const r of results) {
      expect(r.sha).toBe(room.fileSha256);
      expect(r.fromCdn).toBe(0);
      expect(r.fromPeers).toBe(room.fileSize);
    }
    expect(room.server.cdnLog.bytesFor(contentId)).toBe(0);
    // The receivers carried much of it: the teacher did not send 30 copies.
    expect(uploadedBySharer).toBeLessThan(CLASS * room.fileSize);
    await waitFinished(sharer.page, CLASS, 45_000);
    await sharer.page.screenshot({ path: test.info().outputPath('share-class-of-30-phone.png'), fullPage: true });
    await sharer.close();
  } finally {
    for (const r of receivers) await r.context.close().catch(() => undefined);
    await room.close();
  }
});

/** A non-loopback IPv4 address of this machine (the test namespace's veth), if there is one. */
function lanAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

test('opened over plain HTTP on a LAN address, the share page works and says what HTTP leaves unprotected', async ({ browser }) => {
  const address = lanAddress();
  // Every run of this suite is in a network namespace with a veth (test/in-netns.mjs): an address is there.
  expect(address, 'a non-loopback IPv4 address (the test namespace gives one)').toBeDefined();
  const room = await classroom(1000, 73, '0.0.0.0');
  try {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(`http://${address}:${room.server.port}/share.html`);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    const notice = page.locator('#secure-context-notice');
    await expect(notice).toBeVisible();
    await expect(notice).toContainText('opened over plain HTTP');
    await expect(notice).toContainText('TABSWARM_TLS=auto');
    await expect(notice.getByRole('link')).toHaveAttribute('href', `https://${address}:${room.server.port}/share.html`);
    // The page is not stopped: the teacher can pick a file.
    await expect(page.locator('#share-pick')).toBeVisible();
    await screenshot(page, 'share-not-secure-phone');
    await context.close();
  } finally {
    await room.close();
  }
});
