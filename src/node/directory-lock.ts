/**
 * One process per cache directory. The Node cache (disk-content-cache.ts) keeps its records'
 * counters and leases in memory and the disk store keeps its open contents' bitfields there:
 * two processes on one directory would write over each other's records and evict each other's
 * downloads. So a process takes the directory with a lock file, `tabswarm.lock`, holding its
 * pid, and lets it go when it closes:
 *
 *   - the lock is created whole or not at all: written under a name of its own, then linked to
 *     `tabswarm.lock` (a link fails if the name exists), so a reader never sees it half written;
 *   - a lock whose pid is a live process (`kill(pid, 0)`: it exists, ours or another user's) is
 *     refused with TabswarmError 'storage-error', naming the pid and the file;
 *   - a lock whose process is gone (a crash, a kill -9), or that does not parse, is stale: it
 *     is taken over. A lock with this process's own pid that this process does not hold is
 *     stale too: a container restarted on the same volume often gets the pid its last run had;
 *   - a second lock on a directory this process already holds is refused as well (two caches
 *     in one process would clash just the same).
 *
 * What it does not do: tell a reused pid from the process that wrote the lock (a live,
 * unrelated process with that pid keeps the directory refused until the file is removed: the
 * message says which), or arbitrate two processes that find the same stale lock at the same
 * instant. It guards against an operator starting a second node on a directory by mistake.
 */
import { hostname } from 'node:os';
import { link, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TabswarmError } from '../core/errors.js';
import { ifMissing, storageOp, unlinkIfThere } from './disk-content.js';

export const LOCK_NAME = 'tabswarm.lock';

const lockSchema = z.object({ pid: z.number().int().min(1).max(2 ** 31 - 1), host: z.string().max(255), since: z.number() });

/** Directories locked by this process (resolved paths). */
const held = new Set<string>();

export interface DirectoryLock {
  readonly path: string;
  /** Removes the lock file (if it is still this process's) and lets the directory go; idempotent. */
  release(): Promise<void>;
}

/** Whether a process with this pid runs (any user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file's text; undefined if it does not parse. */
function pidOf(text: string): number | undefined {
  try {
    const parsed = lockSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes `directory` (which must exist) for this process; rejects with 'storage-error' if a live process holds it. */
export async function lockDirectory(directory: string): Promise<DirectoryLock> {
  const dir = resolve(directory);
  const path = join(dir, LOCK_NAME);
  if (held.has(dir)) throw new TabswarmError('storage-error', `${dir} is already open in this process (${path})`);
  held.add(dir);
  try {
    await storageOp(`locking ${dir}`, () => take(path));
  } catch (e) {
    held.delete(dir);
    throw e;
  }
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      try {
        const text = await readFile(path, 'utf8').catch(ifMissing(''));
        // Another process's lock (this one's was taken over as stale, by mistake) stays.
        if (pidOf(text) === process.pid) await unlinkIfThere(path);
      } finally {
        held.delete(dir);
      }
    },
  };
}

/** Creates the lock file, taking over a stale one (at most a few rounds: another process may be at it too). */
async function take(path: string): Promise<void> {
  const text = JSON.stringify({ pid: process.pid, host: hostname(), since: Date.now() }) + '\n';
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  try {
    for (let round = 0; round < 3; round++) {
      const linked = await link(temp, path).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') return false;
          throw e;
        },
      );
      if (linked) return;
      const found = await readFile(path, 'utf8').catch(ifMissing(undefined));
      if (found === undefined) continue; // let go meanwhile
      const pid = pidOf(found);
      if (pid !== undefined && pid !== process.pid && isAlive(pid)) {
        throw new TabswarmError('storage-error', `another process (pid ${pid}) holds ${path}: one process per directory; remove the file if that process is not a tabswarm one`);
      }
      await unlinkIfThere(path); // stale: its process is gone, or it is not a lock
    }
    throw new TabswarmError('storage-error', `could not take ${path}: it kept coming back`);
  } finally {
    await unlinkIfThere(temp);
  }
}
