/**
 * Whether a download is at its end: nothing is left to ask for but what is in flight. Every
 * missing piece is asked of someone, or can be asked of no one now (no ready peer that does not
 * lag, and had no piece taken back just now, holds it, and it is not ours to fetch from the CDN:
 * `share`, when there is a `cdn`). Then a request a lagging peer holds up stands between the
 * download and its end, and it is worth taking back. Before, the other sources have other work,
 * and taking pieces back from peers that pause (a busy machine) would only move the load to the
 * CDN. ("Every missing piece in flight" is not enough: two tabs that each asked a staller for a
 * piece of their own CDN share each waited for the other's, which neither could ask anyone for,
 * until the staller's deadline.) In a big swarm (the share has fallback groups) a tab that holds
 * less than half the file is not at its end: what its neighbours lack now, its owner is
 * fetching and they will soon hold (200 simulated peers: 5 copies of the file went to the CDN
 * in the first 30 s as "endgame" takeovers; 500 peers x 128 MiB: CDN 7.6 -> 6.0 copies, mean
 * 1.16 -> 1.13 times the bound).
 */
import type { CdnShare } from '../cdn-share.js';
import type { PeerSession } from '../peer-session.js';
import type { PieceBook } from './piece-book.js';

export function atEndgame(book: PieceBook, sessions: Iterable<PeerSession>, share: CdnShare, cdn: boolean, now: number): boolean {
  if (share.fallback !== undefined && book.have.cardinality * 2 < book.pieceCount) return false;
  const askable = [...sessions].filter((s) => s.healthy && !s.pace.isCooling(now));
  for (let i = 0; i < book.pieceCount; i++) {
    if (book.have.has(i) || book.inFlight.has(i)) continue;
    if (cdn && share.ours(i)) return false;
    for (const s of askable) if (s.has(i) && !book.failedBy(i, s.id)) return false;
  }
  return true;
}
