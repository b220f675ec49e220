/**
 * Serving a download's stored pieces to peers: each piece is read and hashed again before it
 * goes out (the store may have changed since it was verified, docs/cache.md); a piece whose
 * stored copy fails is never served again in this session, is counted as rejected and is
 * removed from the store.
 */
import type { Emitter } from '../emitter.js';
import type { Hasher, PieceStore } from '../ports.js';
import type { DownloadStats } from '../stats.js';
import { verifiedPieceReader } from '../verify-stored.js';
import type { DownloadEvents } from './types.js';
import type { Metadata } from '../../protocol/metadata.js';

export interface ServingDeps {
  metadata: Metadata;
  hasher: Hasher;
  store: PieceStore;
  storageId: string;
  stats: DownloadStats;
  events: Emitter<DownloadEvents>;
  /** Reads one stored piece as it is. */
  readPiece: (index: number) => Promise<Uint8Array | undefined>;
}

/** A reader of stored pieces for peers, each only if it still matches its SHA-256. */
export function pieceServer(d: ServingDeps): (index: number) => Promise<Uint8Array | undefined> {
  /** Pieces whose stored copy failed its re-check. */
  const badStored = new Set<number>();
  let reader: ((index: number) => Promise<Uint8Array | undefined>) | undefined;
  return (index) => {
    // Built on first use: a download that never serves never builds it.
    reader ??= verifiedPieceReader({
      read: (i) => (badStored.has(i) ? Promise.resolve(undefined) : d.readPiece(i)),
      hasher: d.hasher,
      expectedSha256: (i) => d.metadata.pieceSha256[i],
      onCorrupt: (i, reason) => {
        badStored.add(i);
        d.stats.rejected();
        d.events.emit('rejected', { index: i, source: 'store', reason });
        void d.store.remove?.(d.storageId, i).catch(() => undefined);
      },
    });
    return reader(index);
  };
}
