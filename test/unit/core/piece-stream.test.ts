import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTabswarmError } from '../../../src/core/errors.js';
import { createPieceStream, WANT_REPEAT_MS, type PieceStreamOptions, type StreamPieceSource } from '../../../src/core/piece-stream.js';
import { makeContent } from '../../helpers/content.js';

// 10 pieces of 1000 bytes and a last one of 500.
const PIECE = 1000;
const content = makeContent(10 * PIECE + 500, 15, PIECE);
const FILE = content.bytes;
const layout = { pieceSize: PIECE, fileSize: FILE.byteLength };
const trueBytes = (i: number) => FILE.slice(i * PIECE, Math.min(FILE.byteLength, (i + 1) * PIECE));
const digest = async (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const tick = () => new Promise<void>((r) => setTimeout(r, 5));

/** A store in memory, recording every call the stream makes. */
class MemorySource implements StreamPieceSource {
  readonly stored = new Map<number, Uint8Array>();
  readonly reads: number[] = [];
  readonly wants: Array<[number, number]> = [];
  readonly corrupts: number[] = [];
  readonly waits: number[] = [];
  readonly aborted: number[] = [];
  releases = 0;
  /** When set, waitFor resolves at once (a source that polls), else only when the piece is stored. */
  pollAtOnce = false;
  failReads = 0;
  private readonly waiters = new Map<number, Array<() => void>>();

  constructor(indexes: Iterable<number> = FILE.keys()) {
    for (const i of indexes) if (i * PIECE < FILE.byteLength) this.stored.set(i, trueBytes(i));
  }

  store(index: number, bytes = trueBytes(index)) {
    this.stored.set(index, bytes);
    this.wake(index);
  }

  /** Resolves the waits for `index`. */
  wake(index: number) {
    for (const wake of this.waiters.get(index) ?? []) wake();
    this.waiters.delete(index);
  }

  async read(index: number): Promise<Uint8Array | undefined> {
    this.reads.push(index);
    if (this.failReads > 0) {
      this.failReads--;
      throw new Error('disk hiccup');
    }
    return this.stored.get(index)?.slice(); // a fresh buffer, as IndexedDB gives
  }

  waitFor(index: number, signal: AbortSignal) {
    this.waits.push(index);
    if (this.pollAtOnce) return tick();
    return new Promise<void>((resolve, reject) => {
      this.waiters.set(index, [...(this.waiters.get(index) ?? []), resolve]);
      signal.addEventListener('abort', () => {
        this.aborted.push(index);
        reject(signal.reason);
      });
    });
  }

  want(position: number, end: number) {
    this.wants.push([position, end]);
  }

  corrupt(index: number) {
    this.corrupts.push(index);
    this.stored.delete(index);
  }

  release() {
    this.releases++;
  }
}

/** A source whose pieces may also arrive before they are stored (a download's 'arrived'). */
class FreshSource extends MemorySource {
  private readonly arrived = new Map<number, Uint8Array>();

  arrive(index: number, bytes: Uint8Array) {
    this.arrived.set(index, bytes);
    this.wake(index);
  }

  fresh(index: number) {
    const bytes = this.arrived.get(index);
    this.arrived.delete(index);
    return bytes;
  }
}

function open(source: StreamPieceSource, start: number, end: number, extra: Partial<PieceStreamOptions> = {}) {
  return createPieceStream({ layout, pieceSha256: content.metadata.pieceSha256, start, end, source, digest, ...extra });
}

/** Reads a stream to its end, checking every chunk against the true bytes as it comes. */
async function readAll(stream: ReadableStream<Uint8Array>, start: number) {
  const chunks: Uint8Array[] = [];
  let offset = start;
  for await (const chunk of stream) {
    // No wrong byte, ever: each chunk is compared with the file where it belongs.
    expect(Buffer.from(chunk).equals(FILE.subarray(offset, offset + chunk.byteLength))).toBe(true);
    chunks.push(chunk.slice());
    offset += chunk.byteLength;
  }
  return { bytes: new Uint8Array(Buffer.concat(chunks)), chunks };
}

async function until(condition: () => boolean) {
  for (let i = 0; i < 400 && !condition(); i++) await tick();
  expect(condition()).toBe(true);
}

describe('createPieceStream', () => {
  it('streams the whole file, one chunk per piece, then releases', async () => {
    const source = new MemorySource();
    const { bytes, chunks } = await readAll(open(source, 0, FILE.byteLength), 0);
    expect(bytes).toEqual(FILE);
    expect(chunks.map((c) => c.byteLength)).toEqual([...Array(10).fill(PIECE), 500]);
    expect(source.wants[0]).toEqual([0, FILE.byteLength]);
    expect(source.wants.map(([p]) => p)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    expect(source.releases).toBe(1);
    expect(source.corrupts).toEqual([]);
  });

  it('streams a range inside one piece', async () => {
    const source = new MemorySource();
    const { bytes, chunks } = await readAll(open(source, 1234, 1789), 1234);
    expect(bytes).toEqual(FILE.slice(1234, 1789));
    expect(chunks).toHaveLength(1);
    expect(source.reads).toEqual([1]);
    expect(source.wants).toEqual([[1234, 1789]]);
  });

  it('streams a range across pieces, trimming its first and last piece', async () => {
    const source = new MemorySource();
    const { bytes, chunks } = await readAll(open(source, 1500, 4250), 1500);
    expect(bytes).toEqual(FILE.slice(1500, 4250));
    expect(chunks.map((c) => c.byteLength)).toEqual([500, 1000, 1000, 250]);
    expect(source.reads).toEqual([1, 2, 3, 4]);
    expect(source.wants.map(([p]) => p)).toEqual([1500, 2000, 3000, 4000]);
  });

  it('streams a range that ends at the end of the file (the short last piece included)', async () => {
    const source = new MemorySource();
    const { bytes } = await readAll(open(source, 9700, FILE.byteLength), 9700);
    expect(bytes).toEqual(FILE.slice(9700));
    expect(source.reads).toEqual([9, 10]);
    expect(source.releases).toBe(1);
  });

  it('streams the short last piece alone, and its last byte alone', async () => {
    expect((await readAll(open(new MemorySource(), 10_000, 10_500), 10_000)).bytes).toEqual(FILE.slice(10_000));
    expect((await readAll(open(new MemorySource(), 10_499, 10_500), 10_499)).bytes).toEqual(FILE.slice(10_499));
  });

  it('closes an empty range at once, reading nothing', async () => {
    for (const at of [0, 3000, FILE.byteLength]) {
      const source = new MemorySource();
      const { bytes } = await readAll(open(source, at, at), at);
      expect(bytes.byteLength).toBe(0);
      expect(source.reads).toEqual([]);
      expect(source.wants).toEqual([]);
      expect(source.releases).toBe(1);
    }
  });

  it('refuses a range outside the file or metadata that does not fit the layout', () => {
    const source = new MemorySource();
    expect(() => open(source, 0, FILE.byteLength + 1)).toThrow(RangeError);
    expect(() => open(source, 500, 400)).toThrow(RangeError);
    expect(() => open(source, -1, 10)).toThrow(RangeError);
    expect(() => createPieceStream({ layout, pieceSha256: [], start: 0, end: 1, source, digest })).toThrow(RangeError);
  });

  it('waits for a missing piece, asking for it, and goes on once it is stored', async () => {
    const source = new MemorySource([0, 1, 2, 4, 5, 6, 7, 8, 9, 10]);
    const stream = open(source, 0, FILE.byteLength);
    const done = readAll(stream, 0);
    await until(() => source.waits.includes(3));
    expect(source.wants).toContainEqual([3000, FILE.byteLength]);
    expect(source.reads.filter((i) => i === 3)).toHaveLength(1);
    source.store(3);
    expect((await done).bytes).toEqual(FILE);
    expect(source.releases).toBe(1);
  });

  it('renews want while it waits, at most every WANT_REPEAT_MS', async () => {
    let clock = 0;
    const source = new MemorySource([]);
    source.pollAtOnce = true;
    const reader = open(source, 2500, 3000, { now: () => clock }).getReader();
    const read = reader.read();
    await until(() => source.waits.length >= 3);
    expect(source.wants).toEqual([[2500, 3000]]);
    clock += WANT_REPEAT_MS;
    await until(() => source.wants.length === 2);
    expect(source.wants[1]).toEqual([2500, 3000]);
    source.store(2);
    expect(Buffer.from((await read).value!).equals(FILE.subarray(2500, 3000))).toBe(true);
  });

  it('never hands over a tampered piece: reports it, and goes on once the right bytes are stored', async () => {
    const source = new MemorySource();
    const bad = trueBytes(2);
    bad[17] = bad[17]! ^ 1;
    source.stored.set(2, bad);
    const done = readAll(open(source, 0, FILE.byteLength), 0); // checks every chunk as it comes
    await until(() => source.waits.includes(2));
    expect(source.corrupts).toEqual([2]);
    source.store(2);
    expect((await done).bytes).toEqual(FILE);
    expect(source.corrupts).toEqual([2]);
  });

  it('treats a stored piece of the wrong length as corrupt', async () => {
    const source = new MemorySource();
    source.stored.set(10, FILE.slice(10_000, 10_499));
    const done = readAll(open(source, 9500, FILE.byteLength), 9500);
    await until(() => source.corrupts.length === 1);
    expect(source.corrupts).toEqual([10]);
    source.store(10);
    expect((await done).bytes).toEqual(FILE.slice(9500));
  });

  it('fails with stream-failed when a piece stays corrupt, having handed over none of it', async () => {
    const source = new MemorySource();
    source.pollAtOnce = true;
    const bad = trueBytes(1).fill(0);
    source.corrupt = (index) => {
      source.corrupts.push(index); // the owner "fetches it again" and stores the same bad bytes
    };
    source.stored.set(1, bad);
    const reader = open(source, 0, FILE.byteLength).getReader();
    expect(Buffer.from((await reader.read()).value!).equals(FILE.subarray(0, PIECE))).toBe(true);
    const e = await reader.read().catch((x: unknown) => x);
    expect(isTabswarmError(e, 'stream-failed')).toBe(true);
    expect(source.corrupts).toEqual([1, 1, 1]);
    expect(source.releases).toBe(1);
  });

  it('honours maxCorruptRetries', async () => {
    const source = new MemorySource([]);
    source.pollAtOnce = true;
    source.corrupt = (index) => void source.corrupts.push(index);
    source.stored.set(0, trueBytes(0).fill(1));
    const e = await readAll(open(source, 0, 10, { maxCorruptRetries: 5 }), 0).catch((x: unknown) => x);
    expect(isTabswarmError(e, 'stream-failed')).toBe(true);
    expect(source.corrupts).toHaveLength(5);
  });

  it('retries a failed read after waiting, and fails with stream-failed when reads keep failing', async () => {
    const flaky = new MemorySource();
    flaky.pollAtOnce = true;
    flaky.failReads = 2;
    expect((await readAll(open(flaky, 0, 2500), 0)).bytes).toEqual(FILE.slice(0, 2500));

    const broken = new MemorySource();
    broken.pollAtOnce = true;
    broken.failReads = Infinity;
    const e = await readAll(open(broken, 0, 2500), 0).catch((x: unknown) => x);
    expect(isTabswarmError(e, 'stream-failed')).toBe(true);
    expect(broken.reads).toEqual([0, 0, 0]);
    expect(broken.releases).toBe(1);
  });

  it('copies what it hashes: a source that reuses its buffer cannot change what was handed over', async () => {
    const source = new MemorySource();
    const scratch = new Uint8Array(PIECE);
    source.read = async (index) => {
      const bytes = trueBytes(index);
      scratch.set(bytes);
      setTimeout(() => scratch.fill(0xee)); // the source overwrites its buffer right after
      return scratch.subarray(0, bytes.byteLength);
    };
    const chunks: Uint8Array[] = [];
    for await (const chunk of open(source, 0, FILE.byteLength, { highWaterMark: 0 })) {
      chunks.push(chunk);
      await tick();
    }
    expect(new Uint8Array(Buffer.concat(chunks))).toEqual(FILE);
  });

  it('cancel() stops the wait and releases once', async () => {
    const source = new MemorySource([0]);
    const reader = open(source, 0, FILE.byteLength).getReader();
    expect((await reader.read()).value?.byteLength).toBe(PIECE);
    await until(() => source.waits.includes(1));
    await reader.cancel();
    expect(source.aborted).toEqual([1]);
    expect(source.releases).toBe(1);
    const reads = source.reads.length;
    source.store(1);
    await tick();
    expect(source.reads).toHaveLength(reads);
    expect(source.releases).toBe(1);
    expect(source.wants.map(([p]) => p)).toEqual([0, 1000]);
  });

  it('cancel() while a read is in flight hands nothing over and reports nothing', async () => {
    const source = new MemorySource();
    let answer: (b: Uint8Array) => void = () => {};
    source.read = (index) => {
      source.reads.push(index);
      return new Promise<Uint8Array | undefined>((resolve) => (answer = resolve));
    };
    const stream = open(source, 0, FILE.byteLength);
    await until(() => source.reads.length === 1);
    await stream.cancel();
    answer(new Uint8Array(PIECE)); // bad bytes, arriving late
    await tick();
    expect(source.corrupts).toEqual([]);
    expect(source.reads).toEqual([0]);
    expect(source.releases).toBe(1);
  });

  it('stops reading when the reader stops (back-pressure)', async () => {
    const source = new MemorySource();
    const highWaterMark = 2000;
    const reader = open(source, 0, FILE.byteLength, { highWaterMark }).getReader();
    await reader.read();
    for (let i = 0; i < 10; i++) await tick();
    expect(source.reads.length).toBeLessThanOrEqual(highWaterMark / PIECE + 1);
    expect(source.reads).toEqual([0, 1, 2]);
    // Taking one chunk makes room for one more piece, no more.
    await reader.read();
    for (let i = 0; i < 10; i++) await tick();
    expect(source.reads).toEqual([0, 1, 2, 3]);
    await reader.cancel();
  });

  it('hands over fresh bytes that match, without waiting for the store', async () => {
    const source = new FreshSource([0, 2]); // 1 is not stored: it only arrives
    const reader = open(source, 0, 3 * PIECE).getReader();
    expect(Buffer.from((await reader.read()).value!).equals(trueBytes(0))).toBe(true);
    await until(() => source.waits.includes(1));
    source.arrive(1, trueBytes(1));
    expect(Buffer.from((await reader.read()).value!).equals(trueBytes(1))).toBe(true);
    expect(source.stored.has(1)).toBe(false); // never stored: served from the fresh bytes
    expect(source.corrupts).toEqual([]);
    expect(Buffer.from((await reader.read()).value!).equals(trueBytes(2))).toBe(true);
    expect((await reader.read()).done).toBe(true);
  });

  it('drops fresh bytes that fail their SHA-256 without reporting the piece, and waits for the stored one', async () => {
    const source = new FreshSource([0]);
    const done = readAll(open(source, 0, 2 * PIECE), 0); // checks every chunk as it comes
    await until(() => source.waits.includes(1));
    const lie = trueBytes(1);
    lie[3] = lie[3]! ^ 0xff;
    source.arrive(1, lie);
    await until(() => source.waits.filter((i) => i === 1).length >= 2);
    // The liar is the download's to blame (its intake rejects the piece); the store is not at fault.
    expect(source.corrupts).toEqual([]);
    source.store(1);
    expect((await done).bytes).toEqual(FILE.subarray(0, 2 * PIECE));
  });

  it('copies fresh bytes before hashing them: changing them afterwards changes nothing handed over', async () => {
    const source = new FreshSource([]);
    const reader = open(source, 0, PIECE).getReader();
    await until(() => source.waits.includes(0));
    const arrived = trueBytes(0);
    source.arrive(0, arrived);
    const chunk = (await reader.read()).value!;
    arrived.fill(0);
    expect(Buffer.from(chunk).equals(trueBytes(0))).toBe(true);
  });

  it('with highWaterMark 0 reads a piece only when the reader asks', async () => {
    const source = new MemorySource();
    const reader = open(source, 0, FILE.byteLength, { highWaterMark: 0 }).getReader();
    for (let i = 0; i < 5; i++) await tick();
    expect(source.reads).toEqual([]);
    expect(source.wants).toEqual([[0, FILE.byteLength]]);
    await reader.read();
    await tick();
    expect(source.reads).toEqual([0]);
    await reader.cancel();
    expect(source.releases).toBe(1);
  });
});
