import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTabswarmError } from '../../../src/core/errors.js';
import { WholeFileHash } from '../../../src/core/whole-file.js';
import { createNodeHasher } from '../../helpers/node-hasher.js';

const PIECES = 40;
const piece = (i: number): Uint8Array => new Uint8Array(1000 + (i % 3)).fill(i * 7 + 1);
const expected = createHash('sha256')
  .update(Buffer.concat(Array.from({ length: PIECES }, (_, i) => piece(i))))
  .digest('hex');

/** A store of pieces and a WholeFileHash over it; `store(i)` stores piece i and tells the hash. */
function setup(options: { window?: number; maxInHand?: number; vanish?: number } = {}) {
  const stored = new Set<number>();
  const reads: number[] = [];
  const hash = new WholeFileHash(
    createNodeHasher(),
    PIECES,
    async (i) => {
      reads.push(i);
      return stored.has(i) && i !== options.vanish ? piece(i) : undefined;
    },
    (i) => stored.has(i),
    options.window,
    options.maxInHand,
  );
  return {
    hash,
    reads,
    /** Stores piece i and tells the hash, then lets it run: each piece arrives in its own task. */
    async store(i: number) {
      this.storeNow(i);
      await tick();
    },
    /** Stores piece i and tells the hash, giving it no turn to run. */
    storeNow(i: number) {
      stored.add(i);
      hash.stored(i, piece(i));
    },
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A deterministic shuffle (a linear congruential generator drives Fisher-Yates). */
function shuffled(n: number, seed: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('whole-file hash, fed while the download runs', () => {
  it('hashes pieces stored in order without reading any back', async () => {
    const t = setup();
    for (let i = 0; i < PIECES; i++) await t.store(i);
    expect(await t.hash.finish()).toBe(expected);
    expect(t.reads).toEqual([]);
  });

  it('keeps pieces a little ahead in its window instead of reading them back', async () => {
    const t = setup({ window: 4 });
    for (let i = 0; i < PIECES; i += 2) {
      await t.store(i + 1);
      await t.store(i);
    }
    expect(await t.hash.finish()).toBe(expected);
    expect(t.reads).toEqual([]);
  });

  it('reads back, once each and in order, the pieces stored far ahead of their turn', async () => {
    const t = setup({ window: 4 });
    for (let i = 20; i < PIECES; i++) await t.store(i);
    for (let i = 0; i < 20; i++) await t.store(i);
    expect(await t.hash.finish()).toBe(expected);
    // Too far ahead for the window when they came: read back once piece 19 closes the gap.
    expect(t.reads).toEqual(Array.from({ length: 20 }, (_, k) => 20 + k));
    expect(t.hash.readBacks).toBe(20);
  });

  it('gives the file hash for any order of arrival', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = setup({ window: 3 });
      for (const i of shuffled(PIECES, seed)) await t.store(i);
      expect(await t.hash.finish()).toBe(expected);
      expect(new Set(t.reads).size).toBe(t.reads.length);
    }
  });

  it('hashes pieces already in storage when the download resumes', async () => {
    const resumed = new Set([0, 1, 2, 5]);
    // Stored before this hash existed: it learns of them only through isStored.
    const stored = new Set<number>(resumed);
    const reads: number[] = [];
    const hash = new WholeFileHash(createNodeHasher(), PIECES, async (i) => (reads.push(i), stored.has(i) ? piece(i) : undefined), (i) => stored.has(i));
    for (let i = 0; i < PIECES; i++) {
      if (resumed.has(i)) continue;
      stored.add(i);
      hash.stored(i, piece(i));
      await tick();
    }
    expect(await hash.finish()).toBe(expected);
    expect(reads).toEqual([0, 1, 2, 5]);
  });

  it('fails with a storage error when a piece to read back has vanished', async () => {
    const t = setup({ window: 0, vanish: 3 });
    for (let i = PIECES - 1; i >= 0; i--) await t.store(i);
    const error = await t.hash.finish().catch((e: unknown) => e);
    expect(isTabswarmError(error, 'storage-error')).toBe(true);
  });

  it('reads pieces back instead of holding their bytes when hashing falls behind', async () => {
    const t = setup({ window: 4, maxInHand: 4 });
    for (let i = 0; i < PIECES; i++) t.storeNow(i);
    expect(await t.hash.finish()).toBe(expected);
    expect(t.reads.length).toBeGreaterThan(0);
  });

  it('refuses to finish while a piece is missing', async () => {
    const t = setup();
    for (let i = 0; i < PIECES; i++) if (i !== 7) await t.store(i);
    const error = await t.hash.finish().catch((e: unknown) => e);
    expect(isTabswarmError(error, 'storage-error')).toBe(true);
  });
});
