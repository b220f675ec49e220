/** A download's scheduler state in plain data: what it waits on (a stalled download's evidence). */
import type { PeerPool } from './peer-pool.js';
import type { PieceBook } from './piece-book.js';
import type { DownloadDiagnostics, DownloadState } from './types.js';

export function diagnosticsOf(state: DownloadState, book: PieceBook, pool: PeerPool): DownloadDiagnostics {
  let heldByNoUsefulPeer = 0;
  for (let i = 0; i < book.pieceCount; i++) if (!book.have.has(i) && book.availability[i] === 0) heldByNoUsefulPeer++;
  return {
    state,
    have: book.have.cardinality,
    pieceCount: book.pieceCount,
    inFlight: [...book.inFlight].map(([index, f]) => ({ index, source: f.source.id })),
    heldByNoUsefulPeer,
    peers: pool.diagnostics(),
  };
}
