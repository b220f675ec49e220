/**
 * The composed piece pass (core/piece-file.ts), over the memory store and the node hasher: what
 * a store without its own pass (IndexedDB, the Node tests) does with a piece. The OPFS worker's
 * pass has its own test (test/unit/storage/piece-pass.test.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openPieceFile } from '../../../src/core/piece-file.js';
import { createNodeHasher } from '../../helpers/node-hasher.js';
import { MemoryStore } from '../../helpers/memory-store.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const pieces = [new Uint8Array(100).fill(1), new Uint8Array(100).fill(2), new Uint8Array(50).fill(3)];
const layout = { pieceCount: 3, pieceSize: 100, fileSize: 250 };
const whole = sha(new Uint8Array([...pieces[0]!, ...pieces[1]!, ...pieces[2]!]));

describe('the composed piece pass', () => {
  it('stores pieces that match, refuses one that does not, and hashes the file whatever the order', async () => {
    const store = new MemoryStore();
    const file = await openPieceFile(store, createNodeHasher(), 'c', layout);
    expect(await file.admit(2, pieces[2]!.slice(), sha(pieces[2]!))).toEqual({ stored: true });
    const bad = pieces[0]!.slice();
    bad[3] = 9;
    expect(await file.admit(0, bad, sha(pieces[0]!))).toEqual({ stored: false, reason: 'piece 0 failed SHA-256 verification' });
    expect(await store.list('c')).toEqual([2]);
    expect(await file.admit(1, pieces[1]!.slice(), sha(pieces[1]!))).toEqual({ stored: true });
    expect(await file.admit(0, pieces[0]!.slice(), sha(pieces[0]!))).toEqual({ stored: true });
    expect((await file.list()).sort()).toEqual([0, 1, 2]);
    expect(await file.fileSha256()).toBe(whole);
  });

  it('resumes from what the store holds, and reads back only what it has to', async () => {
    const store = new MemoryStore();
    await store.put('c', 1, pieces[1]!.slice());
    const file = await openPieceFile(store, createNodeHasher(), 'c', layout);
    expect(await file.list()).toEqual([1]);
    await file.admit(0, pieces[0]!.slice(), sha(pieces[0]!));
    await file.admit(2, pieces[2]!.slice(), undefined); // simple mode: nothing to check against
    expect(await file.fileSha256()).toBe(whole);
    expect(file.readBacks).toBe(1);
  });

  it('serves a stored piece only while it matches, and withholds one changed in storage', async () => {
    const store = new MemoryStore();
    const file = await openPieceFile(store, createNodeHasher(), 'c', layout);
    await file.admit(0, pieces[0]!.slice(), sha(pieces[0]!));
    await file.admit(1, pieces[1]!.slice(), sha(pieces[1]!));
    expect(await file.read(0, sha(pieces[0]!))).toEqual({ bytes: pieces[0] });
    store.pieces.get('c#1')![7]! ^= 0xff;
    const read = await file.read(1, sha(pieces[1]!));
    expect('corrupt' in read && read.corrupt).toMatch(/stored piece 1 no longer matches its SHA-256/);
    expect(await file.read(2, sha(pieces[2]!))).toEqual({ missing: true });
    await file.remove(1);
    expect(await file.list()).toEqual([0]);
  });

  it('a failed write rejects, and the piece is not counted as stored', async () => {
    const store = new MemoryStore();
    store.put = () => Promise.reject(new Error('quota'));
    const file = await openPieceFile(store, createNodeHasher(), 'c', layout);
    await expect(file.admit(0, pieces[0]!.slice(), sha(pieces[0]!))).rejects.toThrow('quota');
    expect(await file.list()).toEqual([]);
  });
});
