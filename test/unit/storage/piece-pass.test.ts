/**
 * The OPFS worker's piece pass (storage/piece-pass.ts) over an in-memory file with the sync
 * access handle's shape, and node:crypto as its hashing: pieces in any order, the whole-file
 * hash fed as the file fills, a resumed file caught up from disk, serving re-hashed, a failed
 * write that records nothing, and each piece recorded as held right after its bytes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../../src/core/bitfield.js';
import { PiecePass, type PassHashing, type SyncFile } from '../../../src/storage/piece-pass.js';

const PIECE = 1000;

class MemoryFile implements SyncFile {
  bytes = new Uint8Array(0);
  flushes = 0;
  failWrites: string | undefined;
  /** A byte offset whose reads come back empty (a file cut short under us). */
  failReadsAt: number | undefined;
  closed = false;
  read(buffer: Uint8Array, { at }: { at: number }): number {
    if (at === this.failReadsAt) return 0;
    const part = this.bytes.subarray(at, at + buffer.byteLength);
    buffer.set(part);
    return part.byteLength;
  }
  write(buffer: Uint8Array, { at }: { at: number }): number {
    if (this.failWrites) {
      const e = new Error('no room');
      e.name = this.failWrites;
      throw e;
    }
    if (at + buffer.byteLength > this.bytes.byteLength) this.truncate(at + buffer.byteLength);
    this.bytes.set(buffer, at);
    return buffer.byteLength;
  }
  flush(): void {
    this.flushes++;
  }
  getSize(): number {
    return this.bytes.byteLength;
  }
  truncate(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, size));
    this.bytes = next;
  }
  close(): void {
    this.closed = true;
  }
}

const hashing: PassHashing & { digests: number } = {
  digests: 0,
  async digest(bytes) {
    hashing.digests++;
    return new Uint8Array(createHash('sha256').update(bytes).digest());
  },
  async createStream() {
    const h = createHash('sha256');
    return { update: (b: Uint8Array) => void h.update(b), digest: () => new Uint8Array(h.digest()) };
  },
};

function content(pieceCount: number, last = PIECE / 2) {
  const fileSize = (pieceCount - 1) * PIECE + last;
  const bytes = new Uint8Array(fileSize).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
  const piece = (i: number) => bytes.slice(i * PIECE, Math.min(fileSize, (i + 1) * PIECE));
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  return { layout: { pieceCount, pieceSize: PIECE, fileSize }, bytes, piece, pieceSha: (i: number) => sha(piece(i)), fileSha: sha(bytes) };
}

/** A held log that keeps the bitfield as last recorded. */
function memoryLog() {
  const log = {
    bits: new Uint8Array(0) as Uint8Array,
    mark(_index: number, held: Bitfield) {
      log.bits = held.toBytes();
    },
  };
  return log;
}

function pass(c: ReturnType<typeof content>, file = new MemoryFile(), held?: Uint8Array) {
  const log = memoryLog();
  const p = new PiecePass({ file, layout: c.layout, hashing, ...(held ? { held } : {}), log });
  return { p, file, log, saved: () => log.bits };
}

describe('the piece pass', () => {
  it('hashes, writes and feeds the whole-file hash, pieces in any order; the file is the content', async () => {
    const c = content(6);
    const { p, file } = pass(c);
    await p.open();
    for (const i of [3, 0, 5, 1, 4, 2]) expect(await p.admit(i, c.piece(i), c.pieceSha(i))).toEqual({ stored: true });
    expect(await p.fileSha256()).toBe(c.fileSha);
    expect(file.bytes).toEqual(c.bytes);
    // 0, 1 and 2 were each the next piece when they came, and were fed from the bytes in hand;
    // 3, 4 and 5 came early and waited in the reorder window until 2 closed the gap.
    expect(p.readBacks).toBe(0);
  });

  it('pieces too far ahead, or past a full reorder window, are read back from the file once the gap fills', async () => {
    const c = content(12);
    const file = new MemoryFile();
    const log = memoryLog();
    const p = new PiecePass({ file, layout: c.layout, hashing, log, reorderPieces: 2 });
    await p.open();
    // 1 and 2 fill the window; 3 finds it full; 11 is more than 4 windows ahead.
    for (const i of [1, 2, 3, 11, 0]) await p.admit(i, c.piece(i), c.pieceSha(i));
    for (const i of [4, 5, 6, 7, 8, 9, 10]) await p.admit(i, c.piece(i), c.pieceSha(i));
    expect(await p.fileSha256()).toBe(c.fileSha);
    expect(file.bytes).toEqual(c.bytes);
    expect(p.readBacks).toBe(2); // 3 and 11
  });

  it('writes that finish out of order (IndexedDB is slow) still feed the hash from the bytes in hand, in order', async () => {
    const c = content(10);
    // Each write waits a different time: piece i's write finishes after piece i + 1's.
    const file = new MemoryFile();
    const slow: SyncFile = {
      read: (b, o) => file.read(b, o),
      write: (b, o) => new Promise<number>((resolve) => setTimeout(() => resolve(file.write(b, o)), 20 - 2 * (o.at / PIECE))),
      flush: () => file.flush(),
      getSize: () => file.getSize(),
      truncate: (n) => file.truncate(n),
      close: () => file.close(),
    };
    const p = new PiecePass({ file: slow, layout: c.layout, hashing, log: memoryLog() });
    await p.open();
    await Promise.all([...Array(10).keys()].map((i) => p.admit(i, c.piece(i), c.pieceSha(i))));
    expect(await p.fileSha256()).toBe(c.fileSha);
    expect(file.bytes).toEqual(c.bytes);
    expect(p.readBacks).toBe(0);
  });

  it('a piece far ahead of the hash waits until the catch-up has read back what lies before it', async () => {
    const c = content(50);
    const first = pass(c);
    await first.p.open();
    for (let i = 0; i < 40; i++) await first.p.admit(i, c.piece(i), c.pieceSha(i));
    await first.p.close();
    // Reopened: 40 pieces to read back, one per macrotask.
    const log = memoryLog();
    const p = new PiecePass({ file: first.file, layout: c.layout, hashing, held: first.saved(), log, yieldNow: () => new Promise((r) => setTimeout(r, 0)) });
    await p.open();
    expect(p.hashed).toBeLessThan(40);
    await p.admit(45, c.piece(45), c.pieceSha(45));
    // The catch-up ran to the first piece not held before the admit answered.
    expect(p.hashed).toBe(40);
    for (const i of [40, 41, 42, 43, 44, 46, 47, 48, 49]) await p.admit(i, c.piece(i), c.pieceSha(i));
    expect(await p.fileSha256()).toBe(c.fileSha);
  });

  it('a piece forgotten while it waits in the window is fed from its new copy', async () => {
    const c = content(4);
    const { p } = pass(c);
    await p.open();
    await p.admit(2, c.piece(2), c.pieceSha(2));
    await p.remove(2);
    for (const i of [0, 1, 3, 2]) await p.admit(i, c.piece(i), c.pieceSha(i));
    expect(await p.fileSha256()).toBe(c.fileSha);
  });

  it('in order, nothing is read back', async () => {
    const c = content(5);
    const { p } = pass(c);
    await p.open();
    for (let i = 0; i < 5; i++) await p.admit(i, c.piece(i), c.pieceSha(i));
    expect(await p.fileSha256()).toBe(c.fileSha);
    expect(p.readBacks).toBe(0);
  });

  it('a read-back that fails while nobody waits is kept for fileSha256, not left unhandled', async () => {
    const c = content(8);
    const file = new MemoryFile();
    const p = new PiecePass({ file, layout: c.layout, hashing, log: memoryLog(), reorderPieces: 2 });
    await p.open();
    // 3 finds the window (1, 2) full, so it must be read back when 0 closes the gap.
    for (const i of [1, 2, 3]) await p.admit(i, c.piece(i), c.pieceSha(i));
    file.failReadsAt = 3 * PIECE;
    for (const i of [0, 4, 5, 6, 7]) expect(await p.admit(i, c.piece(i), c.pieceSha(i))).toEqual({ stored: true });
    await expect(p.fileSha256()).rejects.toMatchObject({ kind: 'storage-error', message: expect.stringContaining('reading piece 3') });
    // The file mended, the next check catches up and is right.
    file.failReadsAt = undefined;
    expect(await p.fileSha256()).toBe(c.fileSha);
  });

  it('refuses a piece that fails its SHA-256 or has the wrong length, and writes nothing of it', async () => {
    const c = content(3);
    const { p, file } = pass(c);
    await p.open();
    const bad = c.piece(1);
    bad[10]! ^= 1;
    expect(await p.admit(1, bad, c.pieceSha(1))).toEqual({ stored: false, reason: 'piece 1 failed SHA-256 verification' });
    expect(await p.admit(2, c.piece(1), c.pieceSha(2))).toEqual({ stored: false, reason: 'piece 2 has 1000 bytes' });
    expect(p.list()).toEqual([]);
    expect(file.bytes.every((b) => b === 0)).toBe(true);
    await expect(p.fileSha256()).rejects.toThrow('piece 0 is not stored');
  });

  it('a write that fails rejects with a storage error (the quota named) and records nothing', async () => {
    const c = content(3);
    const { p, file, saved } = pass(c);
    await p.open();
    await p.admit(0, c.piece(0), c.pieceSha(0));
    file.failWrites = 'QuotaExceededError';
    await expect(p.admit(1, c.piece(1), c.pieceSha(1))).rejects.toMatchObject({ kind: 'storage-full', message: expect.stringMatching(/quota is exhausted/) });
    expect(p.list()).toEqual([0]);
    await p.close();
    expect(new Bitfield(3, saved()).has(0)).toBe(true);
    expect(new Bitfield(3, saved()).has(1)).toBe(false);
    expect(file.closed).toBe(true);
  });

  it('a write that comes up short is a full quota when the estimate says so, a storage error otherwise', async () => {
    const c = content(3);
    for (const [full, kind] of [
      [true, 'storage-full'],
      [false, 'storage-error'],
    ] as const) {
      const file = new MemoryFile();
      file.write = (b) => b.byteLength - 1; // a short write
      const p = new PiecePass({ file, layout: c.layout, hashing, log: { mark: () => undefined }, quotaExhausted: async () => full });
      await p.open();
      await expect(p.admit(0, c.piece(0), c.pieceSha(0))).rejects.toMatchObject({ kind });
      expect(p.list()).toEqual([]);
    }
  });

  it("Chromium's -8 from a write (no space) is a full quota", async () => {
    const c = content(2);
    const file = new MemoryFile();
    file.write = () => -8 >>> 0; // as Chromium 156's handle returned it: 4294967288
    const p = new PiecePass({ file, layout: c.layout, hashing, log: { mark: () => undefined } });
    await p.open();
    await expect(p.admit(0, c.piece(0), c.pieceSha(0))).rejects.toMatchObject({ kind: 'storage-full', message: expect.stringMatching(/quota is exhausted/) });
  });

  it('records each piece as held right after its bytes are written, not before, and not in batches', async () => {
    const c = content(3);
    const file = new MemoryFile();
    const writes: number[] = [];
    const write = file.write.bind(file);
    file.write = (buffer, options) => (writes.push(options.at), write(buffer, options));
    const order: string[] = [];
    const log = { mark: (index: number) => void order.push(`mark ${index} after ${writes.length} write(s)`) };
    const p = new PiecePass({ file, layout: c.layout, hashing, log });
    await p.open();
    await p.admit(2, c.piece(2), c.pieceSha(2));
    await p.admit(0, c.piece(0), c.pieceSha(0));
    expect(order).toEqual(['mark 2 after 1 write(s)', 'mark 0 after 2 write(s)']);
  });

  it('resumes from a held record: catches the whole-file hash up from disk and takes the rest', async () => {
    const c = content(6);
    const first = pass(c);
    await first.p.open();
    for (const i of [0, 1, 4]) await first.p.admit(i, c.piece(i), c.pieceSha(i));
    await first.p.close();
    const record = first.saved();
    const file = first.file;
    const again = pass(c, file, record);
    await again.p.open();
    expect(again.p.list()).toEqual([0, 1, 4]);
    for (const i of [5, 2, 3]) await again.p.admit(i, c.piece(i), c.pieceSha(i));
    expect(await again.p.fileSha256()).toBe(c.fileSha);
  });

  it('serves a stored piece re-hashed, and withholds one changed on disk', async () => {
    const c = content(3);
    const { p, file } = pass(c);
    await p.open();
    for (let i = 0; i < 3; i++) await p.admit(i, c.piece(i), c.pieceSha(i));
    expect(await p.read(1, c.pieceSha(1))).toEqual({ bytes: c.piece(1) });
    file.bytes[PIECE + 5]! ^= 0xff; // edited behind the pass's back
    const read = await p.read(1, c.pieceSha(1));
    expect('corrupt' in read && read.corrupt).toMatch(/stored piece 1 no longer matches its SHA-256/);
    await p.remove(1);
    expect(await p.read(1, c.pieceSha(1))).toEqual({ missing: true });
    expect(p.list()).toEqual([0, 2]);
  });

  it('a second copy of a held piece is accepted and fed once', async () => {
    const c = content(2);
    const { p } = pass(c);
    await p.open();
    await Promise.all([p.admit(0, c.piece(0), c.pieceSha(0)), p.admit(0, c.piece(0), c.pieceSha(0))]);
    await p.admit(1, c.piece(1), c.pieceSha(1));
    expect(await p.fileSha256()).toBe(c.fileSha);
  });
});
