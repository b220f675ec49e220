/**
 * Where pieces live: OPFS (one file per content, written by the piece pass's worker) where the
 * browser has it, IndexedDB with `?store=idb` (and on plain-HTTP pages: plain-http.spec.ts).
 * Each store resumes after a reload mid-file, seeds to another context and saves the right
 * file; a quota too small for the file stops the download before a byte is stored, with a
 * clear error; a quota that runs out mid-download fails it clearly, keeping only verified
 * pieces; a piece changed in the OPFS file is withheld when served and caught (and fetched
 * again) when the file is checked. Real Chromium, real WebRTC, real storage.
 */
import { expect, test, type Page } from '@playwright/test';
import { openPeer, pickedFileSha256, savedFileSha256, screenshot, startTestServer, stats, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB + 5;
const PIECES = 25;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  swarm = await startTestServer(SIZE, 140, { announceIntervalMs: 1000 });
});
test.afterAll(async () => swarm?.close());

const storeOf = (page: Page) => page.evaluate(() => window.tabswarm.client.status().Downloads.map((d) => d.Store));

/** The names in the page origin's OPFS directory `tabswarm` (none if it does not exist). */
const opfsNames = (page: Page) =>
  page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('tabswarm').catch(() => undefined);
    const names: string[] = [];
    if (dir) for await (const name of dir.keys()) names.push(name);
    return names.sort();
  });

/** The piece keys in IndexedDB database `tabswarm` (the IndexedDB store). */
const idbPieceCount = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('tabswarm');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('pieces')) return resolve(0);
          const count = db.transaction('pieces').objectStore('pieces').count();
          count.onsuccess = () => resolve(count.result);
          count.onerror = () => reject(count.error);
        };
      }),
  );

/** The current download's error as plain data (an Error crosses page.evaluate as its message only). */
const errorOf = (page: Page) =>
  page.evaluate(() => {
    const e = window.tabswarm.current()!.download.error;
    return e ? { kind: e.kind, message: e.message } : undefined;
  });

/** Sets the origin's quota through CDP (Storage.overrideQuotaForOrigin). */
async function setQuota(page: Page, bytes: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize: bytes });
}

for (const [store, query] of [
  ['opfs', ''],
  ['indexeddb', '&store=idb'],
] as const) {
  test(`${store}: resumed after a reload mid-file, seeded to another context, saved with the right SHA-256`, async ({ browser }) => {
    const { server, contentId, fileSha256 } = swarm;
    const a = await openPeer(browser, `${server.url}/?httpDelayMs=0&cdnRequestsInFlight=1${query}#c=${contentId}`);
    await a.page.waitForFunction(() => (window.tabswarm?.current()?.download.have.cardinality ?? 0) >= 6, undefined, { polling: 10 });
    await a.page.reload();
    await waitComplete(a.page);
    const sa = await stats(a.page);
    // Every piece the page had counted was on disk and recorded: none is fetched twice.
    expect(sa.piecesFromStore).toBeGreaterThanOrEqual(6);
    expect(sa.piecesFromStore + sa.piecesFromCdn).toBe(PIECES);
    expect(await storeOf(a.page)).toEqual([store]);
    if (store === 'opfs') expect(await opfsNames(a.page)).toEqual([contentId, `${contentId}.held`]);
    else expect(await idbPieceCount(a.page)).toBe(PIECES);

    // A newcomer that will not use the CDN for 10 minutes gets every piece from this tab.
    const cdnBefore = server.cdnLog.bytesFor(contentId);
    const b = await openPeer(browser, `${server.url}/?httpDelayMs=600000${query}#c=${contentId}`);
    await waitComplete(b.page);
    expect((await stats(b.page)).piecesFromPeers).toBe(PIECES);
    expect(server.cdnLog.bytesFor(contentId)).toBe(cdnBefore);
    expect(await savedFileSha256(a.page)).toBe(fileSha256);
    expect(await savedFileSha256(b.page)).toBe(fileSha256);
    // And written into a file the user picked (File System Access), from either store.
    expect(await pickedFileSha256(a.page)).toBe(fileSha256);
    expect(await pickedFileSha256(b.page)).toBe(fileSha256);
    await a.context.close();
    await b.context.close();
  });
}

test('Save to…: a closed picker does nothing; a write that fails leaves the picked file as it was and says so; the file still saves', async ({ browser }) => {
  const { server, contentId, fileSha256 } = swarm;
  const a = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(a.page);
  const saveTo = a.page.getByRole('button', { name: 'Save to…' });
  await expect(saveTo).toBeVisible();
  await expect(saveTo).toBeEnabled();

  // The user closes the picker: no error, no status.
  await a.page.evaluate(() => {
    (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async () => {
      throw new DOMException('The user aborted a request.', 'AbortError');
    };
  });
  await saveTo.click();
  await a.page.waitForTimeout(300);
  await expect(a.page.locator('#dl-error')).toBeHidden();
  await expect(a.page.locator('#dl-save-state')).toBeHidden();

  // The disk fills (on the first write: from OPFS a 24 MiB file is one slice): the writable is aborted (what Chromium does with its
  // swap file), the page says how far it got, and the download stays complete.
  await a.page.evaluate(() => {
    const log: string[] = [];
    (window as unknown as { saveLog: string[] }).saveLog = log;
    (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async () => ({
      name: 'full-disk.bin',
      createWritable: async () => {
        let writes = 0;
        return {
          write: async () => {
            log.push('write');
            if (++writes === 1) throw new DOMException('There is not enough space on the disk.', 'QuotaExceededError');
          },
          close: async () => void log.push('close'),
          abort: async () => void log.push('abort'),
        };
      },
    });
  });
  await saveTo.click();
  await expect(a.page.locator('#dl-error')).toHaveText('Not saved to full-disk.bin, which was left as it was: There is not enough space on the disk.');
  await expect(a.page.locator('#dl-save-state')).toBeHidden();
  expect(await a.page.evaluate(() => (window as unknown as { saveLog: string[] }).saveLog)).toEqual(['write', 'abort']);
  expect(await a.page.evaluate(() => window.tabswarm.current()!.download.state)).toBe('complete');

  // Another try with a working disk saves the file.
  expect(await pickedFileSha256(a.page)).toBe(fileSha256);
  await expect(a.page.locator('#dl-error')).toBeHidden();
  await screenshot(a.page, 'app-saved-to');
  await a.context.close();
});

/**
 * The stored pieces of `contentId` that hash to the metadata's SHA-256, and those that do not,
 * read straight from the page's storage (OPFS: the `.held` record and the file; IndexedDB: the
 * piece keys and values).
 */
const keptPieces = (page: Page, contentId: string, store: 'opfs' | 'indexeddb') =>
  page.evaluate(
    async ({ id, store }) => {
      const metadata = window.tabswarm.current()!.download.metadata;
      const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
      const pieces: Array<[number, ArrayBuffer]> = [];
      if (store === 'opfs') {
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('tabswarm');
        const held = new Uint8Array(await (await (await dir.getFileHandle(`${id}.held`)).getFile()).arrayBuffer()).subarray(32);
        const file = await (await dir.getFileHandle(id)).getFile();
        for (let i = 0; i < metadata.pieceSha256.length; i++) {
          if (held[i >> 3]! & (0x80 >> (i & 7))) pieces.push([i, await file.slice(i * metadata.pieceSize, (i + 1) * metadata.pieceSize).arrayBuffer()]);
        }
      } else {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const open = indexedDB.open('tabswarm');
          open.onsuccess = () => resolve(open.result);
          open.onerror = () => reject(open.error);
        });
        const all = db.transaction('pieces').objectStore('pieces').openCursor(IDBKeyRange.bound([id, 0], [id, Infinity]));
        await new Promise<void>((resolve, reject) => {
          all.onerror = () => reject(all.error);
          all.onsuccess = () => {
            const c = all.result;
            if (!c) return resolve();
            pieces.push([(c.key as [string, number])[1], c.value as ArrayBuffer]);
            c.continue();
          };
        });
      }
      const good: number[] = [];
      const bad: number[] = [];
      for (const [i, bytes] of pieces) (hex(await crypto.subtle.digest('SHA-256', bytes)) === metadata.pieceSha256[i] ? good : bad).push(i);
      return { good, bad };
    },
    { id: contentId, store },
  );

for (const [store, query] of [
  ['opfs', ''],
  ['indexeddb', '&store=idb'],
] as const) {
  test(`${store}: a file the browser's estimate has no room for stops before a byte is stored, with a clear error`, async ({ browser }) => {
    const { server, contentId } = swarm;
    const a = await openPeer(browser, `${server.url}/?maxSeededContents=0`);
    // The browser says: 8 MiB allowed, 1 MiB used.
    await a.context.addInitScript(() => {
      navigator.storage.estimate = async () => ({ quota: 8 * 1024 * 1024, usage: 1024 * 1024 });
    });
    const cdnBefore = server.cdnLog.bytesFor(contentId);
    await a.page.goto(`${server.url}/?httpDelayMs=0${query}#c=${contentId}`);
    await a.page.waitForFunction(() => window.tabswarm?.current()?.download.state === 'failed', undefined, { timeout: 30_000 });
    const error = await errorOf(a.page);
    expect(error?.kind).toBe('storage-full');
    expect(error?.message).toBe(
      'not enough storage for this file: it needs 24 MiB more, and the browser allows this site 7 MiB more (1 MiB used of 8 MiB). ' +
        'Free some disk space, or remove cached files, and try again.',
    );
    await expect(a.page.locator('#dl-error')).toContainText('not enough storage for this file: it needs 24 MiB more');
    await a.page.screenshot({ path: test.info().outputPath(`storage-full-${store}.png`) });
    expect(server.cdnLog.bytesFor(contentId), 'nothing fetched').toBe(cdnBefore);
    expect(await opfsNames(a.page)).toEqual([]);
    expect(await idbPieceCount(a.page)).toBe(0);
    await a.context.close();
  });

  test(`${store}: when the browser refuses a write for its quota, the download fails clearly and keeps only verified pieces`, async ({ browser }) => {
    const { server, contentId } = swarm;
    const a = await openPeer(browser, `${server.url}/?maxSeededContents=0`);
    // Before the origin's storage is first used: the browser then enforces 8 MiB on writes.
    await setQuota(a.page, 8 * MiB);
    await a.page.goto(`${server.url}/?httpDelayMs=0${query}#c=${contentId}`);
    await a.page.waitForFunction(() => window.tabswarm?.current()?.download.state === 'failed', undefined, { timeout: 60_000 });
    const error = await errorOf(a.page);
    expect(error?.kind, JSON.stringify(error)).toBe('storage-full');
    expect(error?.message).toMatch(/quota is exhausted/);
    await expect(a.page.locator('#dl-error')).toContainText('quota is exhausted');
    const kept = await keptPieces(a.page, contentId, store);
    expect(kept.bad).toEqual([]);
    expect(kept.good.length).toBeGreaterThanOrEqual(1);
    expect(kept.good.length).toBeLessThan(PIECES);
    await a.context.close();
  });
}

test('opfs: a piece changed in the file on disk is withheld when served, and caught and fetched again when the file is checked', async ({ browser }) => {
  const { server, contentId, fileSha256 } = swarm;
  const a = await openPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(a.page);
  // Leave the content (its worker closes the file), then change a byte of pieces 3 and 7 on disk.
  await a.page.goto(`${server.url}/?maxSeededContents=0`);
  const tamper = (index: number) =>
    a.page.evaluate(
      async ({ id, at }) => {
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('tabswarm');
        const handle = await dir.getFileHandle(id);
        const byte = new Uint8Array(await (await handle.getFile()).slice(at, at + 1).arrayBuffer());
        const w = await handle.createWritable({ keepExistingData: true });
        await w.write({ type: 'write', position: at, data: new Uint8Array([byte[0]! ^ 0xff]) });
        await w.close();
      },
      { id: contentId, at: index * MiB + 12345 },
    );
  await tamper(3);

  // Served: the page seeds its cache; a newcomer gets piece 3 from the CDN, never from it.
  await a.page.goto(`${server.url}/`);
  const b = await openPeer(browser, `${server.url}/?httpDelayMs=3000#c=${contentId}`);
  await waitComplete(b.page);
  const sb = await stats(b.page);
  expect(sb.piecesRejected).toBe(0);
  expect(sb.peersBanned).toBe(0);
  expect(sb.piecesFromCdn).toBeGreaterThanOrEqual(1);
  expect(await savedFileSha256(b.page)).toBe(fileSha256);
  const seed = await a.page.evaluate(() => window.tabswarm.client.status().Downloads[0]!);
  expect(seed.PiecesRejected).toBe(1);
  await b.context.close();

  // Checked: another byte changed, then the content opened again: the whole-file check fails,
  // the changed pieces are found, dropped and fetched again, and the file comes out right.
  await a.page.goto(`${server.url}/?maxSeededContents=0`);
  await tamper(7);
  await a.page.goto(`${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(a.page);
  // Piece 3 was forgotten when its re-check failed as it was served; piece 7 is found by the check.
  const sa = await stats(a.page);
  expect(sa.piecesRejected).toBe(1);
  expect(sa.piecesFromCdn).toBe(2);
  expect(sa.piecesFromStore).toBe(PIECES - 1);
  expect(await savedFileSha256(a.page)).toBe(fileSha256);
  await a.context.close();
});

test('with cdnRunPieces=8, a tab alone gets the file from the CDN in 4 range requests, each piece verified, the file right', async ({ browser }) => {
  const { server, contentId, fileSha256 } = swarm;
  const requestsBefore = server.cdnLog.requestsFor(contentId);
  const bytesBefore = server.cdnLog.bytesFor(contentId);
  const a = await openPeer(browser, `${server.url}/?httpDelayMs=0&cdnRunPieces=8#c=${contentId}`);
  await waitComplete(a.page);
  const s = await stats(a.page);
  expect(s.piecesFromCdn).toBe(PIECES);
  expect(s.piecesRejected).toBe(0);
  // 25 pieces: runs of 8, 8, 8 and 1; nothing fetched twice.
  expect(server.cdnLog.requestsFor(contentId) - requestsBefore).toBe(4);
  expect(server.cdnLog.bytesFor(contentId) - bytesBefore).toBe(SIZE);
  expect(await savedFileSha256(a.page)).toBe(fileSha256);
  await a.context.close();
});
