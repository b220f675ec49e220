/**
 * One process per cache directory (src/node/directory-lock.ts), through the cache that takes
 * it: a directory held by a live process (another one, or this one) is refused with
 * 'storage-error'; a lock left by a dead process, one that does not parse, or one with this
 * process's pid that it does not hold (a restarted container) is taken over; closing lets go.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiskContentCache } from '../../../src/node/disk-content-cache.js';
import { DiskPieceStore } from '../../../src/node/disk-piece-store.js';
import { isAlive, LOCK_NAME, lockDirectory } from '../../../src/node/directory-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (directory = dir) => createDiskContentCache({ pieces: new DiskPieceStore({ directory }), durable: false });
const lockText = (pid: number) => JSON.stringify({ pid, host: 'elsewhere', since: 1 }) + '\n';
const pidInLock = async () => (JSON.parse(await readFile(join(dir, LOCK_NAME), 'utf8')) as { pid: number }).pid;

/** A child process that has exited: its pid names no process now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('the directory lock', () => {
  it('holds the pid while the cache is open, refuses a second cache in this process, and is gone after close', async () => {
    const cache = await open();
    expect(await pidInLock()).toBe(process.pid);
    await expect(open()).rejects.toMatchObject({ kind: 'storage-error', message: expect.stringMatching(/already open in this process/) });
    // A cache with its records elsewhere but its pieces here is refused just the same.
    await expect(createDiskContentCache({ pieces: new DiskPieceStore({ directory: dir }), directory: join(dir, 'records') })).rejects.toMatchObject({ kind: 'storage-error' });
    await cache.close();
    expect(await readdir(dir)).toEqual([]);
    await (await open()).close();
  });

  it('refuses a directory a live process holds, naming the pid, and leaves its lock alone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await new Promise((r) => child.once('spawn', r));
      expect(isAlive(child.pid!)).toBe(true);
      await writeFile(join(dir, LOCK_NAME), lockText(child.pid!));
      await expect(open()).rejects.toMatchObject({ kind: 'storage-error', message: expect.stringContaining(`pid ${child.pid}`) });
      expect(await pidInLock()).toBe(child.pid);
      expect(await readdir(dir)).toEqual([LOCK_NAME]);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    // Its process is gone now: the lock is stale and taken over.
    const cache = await open();
    expect(await pidInLock()).toBe(process.pid);
    await cache.close();
  });

  it('takes over a lock whose process is gone, one that does not parse, and one with its own pid that it does not hold', async () => {
    const dead = await deadPid();
    expect(isAlive(dead)).toBe(false);
    for (const text of [lockText(dead), 'garbage', '{"pid":0,"host":"x","since":1}', '{"pid":-1,"host":"x","since":1}', '', lockText(process.pid)]) {
      await writeFile(join(dir, LOCK_NAME), text);
      const cache = await open();
      expect(await pidInLock(), JSON.stringify(text)).toBe(process.pid);
      await cache.close();
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('release leaves a lock that is not its own', async () => {
    const lock = await lockDirectory(dir);
    await writeFile(join(dir, LOCK_NAME), lockText(1));
    await lock.release();
    expect(await readFile(join(dir, LOCK_NAME), 'utf8')).toBe(lockText(1));
  });
});
