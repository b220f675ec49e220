/**
 * Room before bytes: before a download writes anything, the browser's storage estimate must
 * show room for what is still to come (the file, less what the store already holds of it), and
 * a large file asks the browser to keep the site's storage (`persist`). A download that would
 * run out of room fails at once, saying how much it needs and how much the browser allows,
 * instead of failing at some piece hours later.
 *
 * Browsers answer `persist` differently: Chromium decides at once, Firefox asks the user (a
 * prompt) and resolves only when the user answers, which may be never. So the check waits for
 * the answer a short while only (`PERSIST_ANSWER_WAIT_MS`), and longer only when the room
 * depends on it (a persistent site may be allowed more).
 */
import { systemClock, type Clock } from './clock.js';
import { TabswarmError } from './errors.js';
import type { PieceLayout, PieceStore } from './ports.js';

/** The browser's storage manager (`navigator.storage`), as far as the download needs it. */
export interface StorageRoom {
  estimate(): Promise<{ quota?: number; usage?: number }>;
  /** Asks to keep the site's storage under pressure; resolves whether it is kept. */
  persist?(): Promise<boolean>;
}

export interface RoomCheck {
  /** Bytes still to be allocated for the file. */
  needed: number;
  /** Bytes the browser allows the site beyond what it uses; undefined when it does not say. */
  available: number | undefined;
  /**
   * Whether the browser keeps the site's storage (asked for large files); absent when not
   * asked, or not answered in time (a prompt the user has not answered yet).
   */
  persisted?: boolean;
}

/**
 * How long the check waits for `persist`'s answer before it goes on without it: Chromium's
 * answer comes within tens of milliseconds, a user's to Firefox's prompt in seconds or never.
 */
export const PERSIST_ANSWER_WAIT_MS = 500;

const MiB = 1024 * 1024;
const fmt = (bytes: number) => (bytes >= 10 * 1024 * MiB ? `${(bytes / 1024 / MiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`);

/**
 * Checks room for `layout` under `storageId`; rejects with TabswarmError('storage-full') when
 * the estimate shows less than needed. An estimate that fails or says nothing lets the download
 * go on (the writes then fail clearly if the room runs out).
 */
export async function checkRoom(
  room: StorageRoom,
  store: PieceStore,
  storageId: string,
  layout: PieceLayout,
  persistFromBytes: number,
  persistWaitMs = PERSIST_ANSWER_WAIT_MS,
  clock: Clock = systemClock,
): Promise<RoomCheck> {
  // What is held is read while the browser is asked for room: each can take tens of
  // milliseconds in a fresh profile, and a player waits on this check for its first piece. The
  // estimate comes after persistence is settled or its answer is late (see the file's comment).
  const listing = store.list(storageId);
  listing.catch(() => undefined);
  const answer = room.persist && layout.fileSize >= persistFromBytes ? room.persist().catch(() => false) : undefined;
  let persisted = answer && (await answeredWithin(answer, persistWaitMs, clock));
  const estimate = () =>
    Promise.resolve()
      .then(() => room.estimate())
      .catch((): { quota?: number; usage?: number } => ({}));
  const [held, first] = await Promise.all([listing, estimate()]);
  let estimated = first;
  // Browsers count the bytes written (a sized but empty OPFS file costs nothing): the rest of the file.
  const needed = Math.max(0, layout.fileSize - held.length * layout.pieceSize);
  if (answer && persisted === undefined && needed > (availableIn(estimated) ?? Infinity)) {
    // Too little room unless the site is kept: that is the user's answer to wait for.
    persisted = await answer;
    estimated = await estimate();
  }
  const available = availableIn(estimated);
  const check: RoomCheck = { needed, available, ...(persisted !== undefined ? { persisted } : {}) };
  if (available !== undefined && needed > available) {
    throw new TabswarmError(
      'storage-full',
      `not enough storage for this file: it needs ${fmt(needed)} more, and the browser allows this site ${fmt(available)} more ` +
        `(${fmt(estimated.usage!)} used of ${fmt(estimated.quota!)}). Free some disk space, or remove cached files, and try again.`,
    );
  }
  return check;
}

/** Bytes the estimate allows beyond what is used; undefined when it does not say. */
function availableIn(e: { quota?: number; usage?: number }): number | undefined {
  return typeof e.quota === 'number' && typeof e.usage === 'number' ? Math.max(0, e.quota - e.usage) : undefined;
}

/** The answer if it comes within `ms`, else undefined (the answer may still come later). */
async function answeredWithin(answer: Promise<boolean>, ms: number, clock: Clock): Promise<boolean | undefined> {
  let timer: unknown;
  const late = new Promise<undefined>((resolve) => (timer = clock.setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([answer, late]);
  } finally {
    clock.clearTimeout(timer);
  }
}
