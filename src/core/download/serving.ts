/**
 * Serving a download's stored pieces to peers: each piece is read and hashed again before it
 * goes out, where it is stored (the PieceFile: the store may have changed since the piece was
 * verified, docs/cache.md); a piece whose stored copy fails is never served again in this
 * session, is counted as rejected and is removed from the store.
 */
import type { Emitter } from '../emitter.js';
import type { PieceFile } from '../ports.js';
import type { DownloadStats } from '../stats.js';
import type { DownloadEvents } from './types.js';
import type { Metadata } from '../../protocol/metadata.js';

export interface ServingDeps {
  metadata: Metadata;
  stats: DownloadStats;
  events: Emitter<DownloadEvents>;
  file: () => PieceFile | undefined;
}

/**
 * A reader of stored pieces for peers: the bytes only if they still match their SHA-256, and
 * undefined otherwise (the upload side then refuses the request, as for a piece it lacks, and
 * the peer asks someone else). A read that fails resolves undefined too; it is not a corruption.
 */
export function pieceServer(d: ServingDeps): (index: number) => Promise<Uint8Array | undefined> {
  /** Pieces whose stored copy failed its re-check. */
  const badStored = new Set<number>();
  const corrupt = (file: PieceFile, index: number, reason: string) => {
    badStored.add(index);
    d.stats.rejected();
    d.events.emit('rejected', { index, source: 'store', reason });
    void file.remove(index).catch(() => undefined);
  };
  return async (index) => {
    const file = d.file();
    if (!file || badStored.has(index)) return undefined;
    const expected = d.metadata.pieceSha256[index];
    if (expected === undefined) {
      corrupt(file, index, `piece ${index} has no SHA-256 in the metadata`);
      return undefined;
    }
    const read = await file.read(index, expected).catch(() => undefined);
    if (read === undefined || 'missing' in read) return undefined;
    if ('corrupt' in read) {
      if (!badStored.has(index)) corrupt(file, index, read.corrupt);
      return undefined;
    }
    return read.bytes;
  };
}
