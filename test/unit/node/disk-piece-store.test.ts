/**
 * The disk store of the Node peer (src/node/disk-piece-store.ts) in a temporary directory, in
 * real time: a core Download over a MemoryCdn completes into it and the file on disk is the
 * content; a new store on the same directory resumes what a stopped download stored; a byte
 * changed on disk is caught when read (serving withholds it, the whole-file check drops and
 * refetches it); a record that does not parse or fit is not trusted; storage IDs that could
 * name a path are refused.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pieceServer } from '../../../src/core/download/serving.js';
import type { DownloadEvents } from '../../../src/core/download/types.js';
import { Emitter } from '../../../src/core/emitter.js';
import { isTabswarmError } from '../../../src/core/errors.js';
import type { PieceLayout } from '../../../src/core/ports.js';
import { DownloadStats } from '../../../src/core/stats.js';
import { DiskPieceStore } from '../../../src/node/disk-piece-store.js';
import { decodeRecord } from '../../../src/node/disk-record.js';
import { contentNameOf, recordNameOf } from '../../../src/node/storage-id.js';
import { makeContent, type TestContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { memoryDownload } from '../../helpers/memory-download.js';

const PIECE = 16 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-disk-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Polls (real time) until `done` or `maxMs`. */
async function until(done: () => boolean, maxMs = 10_000): Promise<void> {
  for (const end = Date.now() + maxMs; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
}

const layoutOf = (c: TestContent): PieceLayout => ({ pieceCount: c.metadata.pieceSha256.length, pieceSize: c.metadata.pieceSize, fileSize: c.metadata.fileSize });
const pieceOf = (c: TestContent, i: number) => c.bytes.slice(i * PIECE, (i + 1) * PIECE);
const allIndexes = (c: TestContent) => c.metadata.pieceSha256.map((_, i) => i);

/** Runs a Download of `content` into `store` from a CDN without runs (one request per piece) to the end. */
async function downloadAll(content: TestContent, store: DiskPieceStore) {
  const cdn = new MemoryCdn(content.bytes).withoutRuns();
  const run = memoryDownload(content, cdn, { store, config: { httpDelayMs: 0 } });
  void run.d.start();
  await until(() => run.d.state === 'complete' || run.d.state === 'failed');
  run.d.stop();
  return { ...run, cdn, fetched: cdn.starts.map((s) => s / PIECE).sort((a, b) => a - b) };
}

describe('DiskPieceStore: downloads', () => {
  it('a core Download completes into it, and the file on disk is the content byte for byte', async () => {
    const content = makeContent(40 * PIECE + 123, 11, PIECE);
    const store = new DiskPieceStore({ directory: dir });
    const { d } = await downloadAll(content, store);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(d.storeKind).toBe('disk');
    await store.close();
    expect(Buffer.compare(await readFile(store.contentPath(content.contentId)), content.bytes)).toBe(0);
    const record = decodeRecord(new Uint8Array(await readFile(join(dir, recordNameOf(content.contentId)))), layoutOf(content));
    expect(record?.bits).toEqual(new Uint8Array([255, 255, 255, 255, 255, 0x80]));
    expect(await store.storageIds()).toEqual([content.contentId]);
  });

  it('a download stopped halfway resumes with a new store on the same directory, and asks the CDN only for the missing pieces', async () => {
    const content = makeContent(48 * PIECE + 7, 12, PIECE);
    const first = new DiskPieceStore({ directory: dir });
    const cdn = new MemoryCdn(content.bytes).withoutRuns();
    const run = memoryDownload(content, cdn, { store: first, config: { httpDelayMs: 0, cdnRequestsInFlight: 2 } });
    void run.d.start();
    await until(() => run.pieces.length >= 20);
    run.d.stop(); // what a killed process leaves: pieces recorded so far, none after
    await first.close();

    const store = new DiskPieceStore({ directory: dir });
    const stored = await store.list(content.contentId);
    expect(stored.length).toBeGreaterThanOrEqual(20);
    expect(stored.length).toBeLessThan(49);
    const { d, fetched } = await downloadAll(content, store);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(d.stats.piecesFromStore).toBe(stored.length);
    expect(fetched).toEqual(allIndexes(content).filter((i) => !stored.includes(i)));
    await store.close();
    expect(Buffer.compare(await readFile(store.contentPath(content.contentId)), content.bytes)).toBe(0);
  });

  it('pieces admitted all at once, out of order, are all recorded (group commits), and the file hash is right', async () => {
    const content = makeContent(64 * PIECE, 13, PIECE);
    const store = new DiskPieceStore({ directory: dir, maxConcurrentIo: 3 });
    const file = await store.open(content.contentId, layoutOf(content));
    const order = allIndexes(content).sort((a, b) => ((a * 37) % 64) - ((b * 37) % 64));
    const admitted = await Promise.all(order.map((i) => file.admit(i, pieceOf(content, i), content.metadata.pieceSha256[i])));
    expect(admitted.every((a) => a.stored)).toBe(true);
    expect(await file.fileSha256()).toBe(content.metadata.fileSha256);
    file.close();
    await store.close();
    expect(await new DiskPieceStore({ directory: dir }).list(content.contentId)).toEqual(allIndexes(content));
  });

  it('the record on disk, read at any moment while pieces come in, names only pieces whose bytes are in the file', async () => {
    const content = makeContent(48 * PIECE, 19, PIECE);
    const store = new DiskPieceStore({ directory: dir });
    const file = await store.open(content.contentId, layoutOf(content));
    const admitting = Promise.all(allIndexes(content).map((i) => file.admit(i, pieceOf(content, i), content.metadata.pieceSha256[i])));
    let settled = false;
    void admitting.then(() => (settled = true));
    while (!settled) {
      // What a process killed now would leave: the record first, then the bytes (which only grow).
      const record = decodeRecord(new Uint8Array(await readFile(join(dir, recordNameOf(content.contentId)))), layoutOf(content));
      const bytes = await readFile(store.contentPath(content.contentId));
      expect(record).toBeDefined();
      for (const i of allIndexes(content)) {
        if ((record!.bits[i >> 3]! & (0x80 >> (i & 7))) === 0) continue;
        expect(sha(bytes.subarray(i * PIECE, (i + 1) * PIECE)), `piece ${i}`).toBe(content.metadata.pieceSha256[i]);
      }
    }
    file.close();
    await store.close();
    expect(await new DiskPieceStore({ directory: dir }).list(content.contentId)).toEqual(allIndexes(content));
  });

  it('refuses a piece that fails its SHA-256 or has the wrong length, and records nothing for it', async () => {
    const content = makeContent(4 * PIECE, 14, PIECE);
    const store = new DiskPieceStore({ directory: dir });
    const file = await store.open(content.contentId, layoutOf(content));
    const bad = pieceOf(content, 1);
    bad[9]! ^= 1;
    expect(await file.admit(1, bad, content.metadata.pieceSha256[1])).toEqual({ stored: false, reason: 'piece 1 failed SHA-256 verification' });
    expect(await file.admit(2, pieceOf(content, 2).subarray(1), undefined)).toMatchObject({ stored: false });
    expect(await file.admit(9, pieceOf(content, 2), undefined)).toMatchObject({ stored: false });
    expect(await file.list()).toEqual([]);
    file.close();
    await expect(file.admit(0, pieceOf(content, 0), undefined)).rejects.toMatchObject({ kind: 'aborted' });
    await store.close();
  });
});

describe('DiskPieceStore: what is on disk is checked', () => {
  it('a byte flipped on disk: the piece reads as corrupt, serving withholds and removes it, and a download refetches it', async () => {
    const content = makeContent(20 * PIECE + 500, 15, PIECE);
    await downloadAll(content, new DiskPieceStore({ directory: dir }));
    const handle = await open(join(dir, contentNameOf(content.contentId)), 'r+');
    await handle.write(new Uint8Array([content.bytes[5 * PIECE + 77]! ^ 0x10]), 0, 1, 5 * PIECE + 77);
    await handle.close();

    const store = new DiskPieceStore({ directory: dir });
    const file = await store.open(content.contentId, layoutOf(content));
    expect(await file.read(4, content.metadata.pieceSha256[4])).toEqual({ bytes: pieceOf(content, 4) });
    const read = await file.read(5, content.metadata.pieceSha256[5]);
    expect('corrupt' in read && read.corrupt).toMatch(/stored piece 5 no longer matches its SHA-256/);
    // The serving path: withheld, counted, and forgotten.
    const events = new Emitter<DownloadEvents>();
    const rejectedByServer: number[] = [];
    events.on('rejected', (r) => rejectedByServer.push(r.index));
    const serve = pieceServer({ metadata: content.metadata, stats: new DownloadStats(), events, file: () => file });
    expect(await serve(5)).toBeUndefined();
    expect(await serve(6)).toEqual(pieceOf(content, 6));
    expect(rejectedByServer).toEqual([5]);
    await until(() => false, 20);
    expect(await file.list()).not.toContain(5);
    file.close();

    // Put the bit back (as a record that claims a changed piece): the whole-file check finds it.
    const again = await store.open(content.contentId, layoutOf(content));
    await again.admit(5, pieceOf(content, 5), undefined);
    again.close();
    const h2 = await open(join(dir, contentNameOf(content.contentId)), 'r+');
    await h2.write(new Uint8Array([0xee]), 0, 1, 5 * PIECE + 3);
    await h2.close();
    const { d, fetched, rejected } = await downloadAll(content, store);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(d.stats.piecesFromStore).toBe(21);
    expect(rejected).toEqual([expect.objectContaining({ index: 5, source: 'store' })]);
    expect(fetched).toEqual([5]);
    await store.close();
    expect(Buffer.compare(await readFile(store.contentPath(content.contentId)), content.bytes)).toBe(0);
  });

  it('a garbled record, a cut one, one for another layout or a file of the wrong size: the content starts empty', async () => {
    const content = makeContent(12 * PIECE + 1, 16, PIECE);
    const recordPath = join(dir, recordNameOf(content.contentId));
    const contentPath = join(dir, contentNameOf(content.contentId));
    const fresh = async () => {
      await rm(dir, { recursive: true, force: true });
      const store = new DiskPieceStore({ directory: dir });
      await downloadAll(content, store);
      // The content's last group commit writes bitfield bytes in place: it must be over before
      // the record is garbled, or it writes a cut record's last byte back.
      await store.close();
      return new Uint8Array(await readFile(recordPath));
    };
    /** Without `layout`, the content's own: then the calls without a layout find nothing either. */
    const expectEmpty = async (layout?: PieceLayout) => {
      const store = new DiskPieceStore({ directory: dir });
      if (!layout) {
        expect(await store.list(content.contentId)).toEqual([]);
        expect(await store.get(content.contentId, 0)).toBeUndefined();
      }
      layout ??= layoutOf(content);
      const file = await store.open(content.contentId, layout);
      expect(await file.list()).toEqual([]);
      file.close();
      await store.close();
      // `open` left a valid, empty record for that layout.
      expect(decodeRecord(new Uint8Array(await readFile(recordPath)), layout)?.bits.every((b) => b === 0)).toBe(true);
    };

    let record = await fresh();
    await writeFile(recordPath, record.map((b, i) => (i < 8 ? b ^ 0x5a : b)));
    await expectEmpty();
    record = await fresh();
    await writeFile(recordPath, record.subarray(0, record.length - 1));
    await expectEmpty();
    record = await fresh();
    await writeFile(recordPath, new Uint8Array([...record, 0]));
    await expectEmpty();
    record = await fresh();
    await writeFile(recordPath, record.map((b, i) => (i === record.length - 1 ? b | 1 : b))); // a padding bit
    await expectEmpty();
    await fresh();
    await writeFile(recordPath, 'not a record at all');
    await expectEmpty();
    await fresh();
    await writeFile(contentPath, content.bytes.subarray(0, 100));
    await expectEmpty();
    // A record of another layout is the content's own for the calls without one (they take
    // the record's layout); a download opening it with another layout starts empty.
    await fresh();
    expect(await new DiskPieceStore({ directory: dir }).list(content.contentId)).toHaveLength(13);
    await expectEmpty({ pieceCount: 7, pieceSize: 2 * PIECE, fileSize: 12 * PIECE + 1 });
  });

  it('a refused storage ID never reaches the file system', async () => {
    const store = new DiskPieceStore({ directory: join(dir, 'store') });
    const hex = 'ab'.repeat(32);
    const layout = { pieceCount: 1, pieceSize: PIECE, fileSize: 10 };
    const bad = ['../x', `../${hex}`, `simple:../${hex}`, hex.toUpperCase(), hex.slice(1), `${hex}/..`, `simple-${hex}`, '', `/${hex}`, `${hex}\0`];
    const calls = [
      (id: string) => store.open(id, layout),
      (id: string) => store.list(id),
      (id: string) => store.get(id, 0),
      (id: string) => store.put(id, 0, new Uint8Array(10)),
      (id: string) => store.remove(id, 0),
      (id: string) => store.size(id),
      (id: string) => store.delete(id),
      async (id: string) => store.contentPath(id),
    ];
    for (const id of bad) {
      for (const call of calls) {
        const outcome = await call(id).then(
          () => 'accepted',
          (e: unknown) => (isTabswarmError(e, 'storage-error') && /not a storage ID/.test(e.message) ? 'refused' : String(e)),
        );
        expect(outcome, `${JSON.stringify(id)}`).toBe('refused');
      }
    }
    expect(await readdir(dir)).toEqual([]);
    // The two forms it takes.
    await expect(store.list(hex)).resolves.toEqual([]);
    await (await store.open(`simple:${hex}`, layout)).close();
    expect((await readdir(join(dir, 'store'))).sort()).toEqual([`simple-${hex}.content`, `simple-${hex}.held`]);
    expect(await store.storageIds()).toEqual([`simple:${hex}`]);
  });
});

describe('DiskPieceStore: the PieceStore calls, size and delete', () => {
  it('get/put/remove work from the record, opened in this process or not; put refuses a content never opened', async () => {
    const content = makeContent(3 * PIECE + 10, 17, PIECE);
    const id = content.contentId;
    const store = new DiskPieceStore({ directory: dir });
    expect(await store.get(id, 0)).toBeUndefined();
    await expect(store.put(id, 0, pieceOf(content, 0))).rejects.toMatchObject({ kind: 'storage-error' });
    (await store.open(id, layoutOf(content))).close();

    const later = new DiskPieceStore({ directory: dir });
    await later.put(id, 3, pieceOf(content, 3));
    await later.put(id, 1, pieceOf(content, 1));
    await expect(later.put(id, 0, new Uint8Array(5))).rejects.toMatchObject({ kind: 'storage-error' });
    await expect(later.put(id, 4, pieceOf(content, 0))).rejects.toMatchObject({ kind: 'storage-error' });
    expect(await later.list(id)).toEqual([1, 3]);
    expect(await later.get(id, 3)).toEqual(pieceOf(content, 3));
    expect(await later.get(id, 2)).toBeUndefined();
    expect(await later.get(id, -1)).toBeUndefined();
    await later.remove(id, 1);
    expect(await new DiskPieceStore({ directory: dir }).list(id)).toEqual([3]);
    expect(sha((await later.get(id, 3))!)).toBe(content.metadata.pieceSha256[3]);
  });

  it('size counts the bytes on disk; delete removes file and record, and is refused while the content is open', async () => {
    const content = makeContent(30 * PIECE, 18, PIECE);
    const id = content.contentId;
    const store = new DiskPieceStore({ directory: dir });
    expect(await store.size(id)).toBe(0);
    await downloadAll(content, store);
    expect(await store.size(id)).toBeGreaterThanOrEqual(30 * PIECE);
    const file = await store.open(id, layoutOf(content));
    await expect(store.delete(id)).rejects.toMatchObject({ kind: 'storage-error' });
    file.close();
    await store.delete(id);
    expect(await store.size(id)).toBe(0);
    expect(await store.list(id)).toEqual([]);
    expect(await store.storageIds()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
