/**
 * Room before bytes: before a download writes anything, the browser's storage estimate must
 * show room for what is still to come (the file, less what the store already holds of it), and
 * a large file asks the browser to keep the site's storage (`persist`). A download that would
 * run out of room fails at once, saying how much it needs and how much the browser allows,
 * instead of failing at some piece hours later.
 */
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
  /** Whether the browser keeps the site's storage (asked for large files), when asked. */
  persisted?: boolean;
}

const MiB = 1024 * 1024;
const fmt = (bytes: number) => (bytes >= 10 * 1024 * MiB ? `${(bytes / 1024 / MiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`);

/**
 * Checks room for `layout` under `storageId`; rejects with TabswarmError('storage-full') when
 * the estimate shows less than needed. An estimate that fails or says nothing lets the download
 * go on (the writes then fail clearly if the room runs out).
 */
export async function checkRoom(room: StorageRoom, store: PieceStore, storageId: string, layout: PieceLayout, persistFromBytes: number): Promise<RoomCheck> {
  // What is held is read while the browser is asked for room: each can take tens of
  // milliseconds in a fresh profile, and a player waits on this check for its first piece. The
  // estimate comes after persistence is settled (a persistent site may be allowed more).
  const listing = store.list(storageId);
  listing.catch(() => undefined);
  let persisted: boolean | undefined;
  if (room.persist && layout.fileSize >= persistFromBytes) persisted = await room.persist().catch(() => false);
  const estimated = Promise.resolve()
    .then(() => room.estimate())
    .catch((): { quota?: number; usage?: number } => ({}));
  const [held, estimate] = await Promise.all([listing, estimated]);
  // Browsers count the bytes written (a sized but empty OPFS file costs nothing): the rest of the file.
  const needed = Math.max(0, layout.fileSize - held.length * layout.pieceSize);
  const available = typeof estimate.quota === 'number' && typeof estimate.usage === 'number' ? Math.max(0, estimate.quota - estimate.usage) : undefined;
  const check: RoomCheck = { needed, available, ...(persisted !== undefined ? { persisted } : {}) };
  if (available !== undefined && needed > available) {
    throw new TabswarmError(
      'storage-full',
      `not enough storage for this file: it needs ${fmt(needed)} more, and the browser allows this site ${fmt(available)} more ` +
        `(${fmt(estimate.usage!)} used of ${fmt(estimate.quota!)}). Free some disk space, or remove cached files, and try again.`,
    );
  }
  return check;
}
