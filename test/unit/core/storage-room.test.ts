/** Room before bytes (core/storage-room.ts): the estimate against what the file still needs, and persist for large files. */
import { describe, expect, it } from 'vitest';
import { checkRoom } from '../../../src/core/storage-room.js';
import { MemoryStore } from '../../helpers/memory-store.js';

const MiB = 1024 * 1024;
const layout = { pieceCount: 64, pieceSize: MiB, fileSize: 64 * MiB };

describe('checkRoom', () => {
  it('refuses a file the estimate has no room for, saying how much it needs and how much is allowed', async () => {
    const room = { estimate: async () => ({ quota: 100 * MiB, usage: 60 * MiB }) };
    const error = await checkRoom(room, new MemoryStore(), 'c', layout, Infinity).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'storage-full' });
    expect((error as Error).message).toMatch(/needs 64 MiB more, and the browser allows this site 40 MiB more \(60 MiB used of 100 MiB\)/);
  });

  it('counts what the store already holds: a resumed download needs only the rest', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 40; i++) await store.put('c', i, new Uint8Array(1));
    const room = { estimate: async () => ({ quota: 100 * MiB, usage: 70 * MiB }) };
    expect(await checkRoom(room, store, 'c', layout, Infinity)).toEqual({ needed: 24 * MiB, available: 30 * MiB });
  });

  it('asks the browser to persist the storage from the threshold on, and goes on if it says no', async () => {
    let asked = 0;
    const room = { estimate: async () => ({ quota: 1000 * MiB, usage: 0 }), persist: async () => (asked++, false) };
    expect(await checkRoom(room, new MemoryStore(), 'c', layout, 64 * MiB)).toEqual({ needed: 64 * MiB, available: 1000 * MiB, persisted: false });
    expect(await checkRoom(room, new MemoryStore(), 'c', layout, 65 * MiB)).toEqual({ needed: 64 * MiB, available: 1000 * MiB });
    expect(asked).toBe(1);
  });

  it('goes on without the answer to persist when it is late (Firefox asks the user and answers when the user does), and the answer may still come', async () => {
    const never = new Promise<boolean>(() => undefined);
    const room = { estimate: async () => ({ quota: 1000 * MiB, usage: 0 }), persist: () => never };
    const t0 = Date.now();
    expect(await checkRoom(room, new MemoryStore(), 'c', layout, 0, 30)).toEqual({ needed: 64 * MiB, available: 1000 * MiB });
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('waits for a late answer to persist when the room depends on it, then checks the estimate again', async () => {
    let answer!: (kept: boolean) => void;
    let kept = false;
    const room = {
      // A kept site is allowed more, as Firefox allows a persistent origin more than a best-effort one.
      estimate: async () => ({ quota: kept ? 1000 * MiB : 40 * MiB, usage: 0 }),
      persist: () => new Promise<boolean>((resolve) => (answer = resolve)),
    };
    const check = checkRoom(room, new MemoryStore(), 'c', layout, 0, 10);
    let settled = false;
    void check.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled, 'still waiting for the user').toBe(false);
    kept = true;
    answer(true);
    expect(await check).toEqual({ needed: 64 * MiB, available: 1000 * MiB, persisted: true });
  });

  it('refuses a file that has no room even after a late answer of no', async () => {
    let answer!: (kept: boolean) => void;
    const room = { estimate: async () => ({ quota: 40 * MiB, usage: 0 }), persist: () => new Promise<boolean>((resolve) => (answer = resolve)) };
    const check = checkRoom(room, new MemoryStore(), 'c', layout, 0, 10).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    answer(false);
    expect(await check).toMatchObject({ kind: 'storage-full' });
  });

  it('goes on when the browser gives no estimate', async () => {
    const room = { estimate: () => Promise.reject(new Error('no')) };
    expect(await checkRoom(room, new MemoryStore(), 'c', layout, Infinity)).toEqual({ needed: 64 * MiB, available: undefined });
  });
});
