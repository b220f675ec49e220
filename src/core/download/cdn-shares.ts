/**
 * A download's CDN share (cdn-share.ts), recomputed only when what it depends on changes.
 *
 * Our share of the CDN's pieces among the peers downloading this content with us: those
 * connected and still missing pieces, and those the Arrays service listed last as downloading
 * (links take seconds to come up on a busy machine, and tabs that each think they are alone
 * all fetch everything; a young swarm announces after 1, 2 and 4 s). Not counted: a peer
 * listed as a seeder, whatever bitfield it shows us (a staller would otherwise hold a share for
 * `peerStallMs`), and a peer that offered a link but is not listed, until that link is up (a
 * liar that comes back under new IDs leaves links that never open behind it; counted, two tabs
 * each left up to 8 phantom shares for the CDN to fetch after `peerStallMs`). In a swarm too
 * big for any tab to see, the service's slot decides instead (cdnShareOfSlot), less the pieces
 * the service says the swarm fetched already.
 */
import { ALONE, BIG_SWARM_FACTOR, cdnShareOf, cdnShareOfSlot, type CdnShare } from '../cdn-share.js';
import type { PeerSession } from '../peer-session.js';
import type { CdnSlot } from '../../protocol/arrays-messages.js';
import { decodeFetched } from '../../protocol/cdn-slots.js';
import type { Swarm } from '../swarm.js';

export class CdnShares {
  /** The share last computed (ALONE before any). */
  last: CdnShare = ALONE;
  /**
   * The swarm was big once: the slot decides from then on, while the service gives one. A big
   * swarm's last downloaders are few, but the swarm is no smaller: its seeders hold what they
   * lack, and as "a small swarm" they fetched 0.3-0.4 copies of the file from the CDN in their
   * endgame (1,000 simulated peers).
   */
  private big = false;
  private key = '';
  private slot: CdnSlot | undefined;

  current(self: string, swarm: Swarm | undefined, sessions: Iterable<PeerSession>, pieceCount: number, maxPeers: number): CdnShare {
    const slot = swarm?.listed.cdnSlot;
    this.big ||= slot !== undefined && slot.of > BIG_SWARM_FACTOR * maxPeers;
    if (slot !== undefined && this.big) {
      // Each reply brings a new slot object; between replies, this share stands.
      if (slot === this.slot) return this.last;
      this.slot = slot;
      return this.keep(`slot ${slot.slot}/${slot.of} ${slot.fetched ?? ''}`, () =>
        cdnShareOfSlot(slot.slot, slot.of, pieceCount, maxPeers, slot.fetched === undefined ? undefined : decodeFetched(slot.fetched)),
      );
    }
    const ids = new Set([self, ...(swarm?.listedDownloaders() ?? [])]);
    for (const s of sessions) {
      if (!s.ready) continue;
      // Listed as downloading, but it has finished since; or listed as a seeder, and showing us
      // less than everything (a staller that tells each peer another story).
      if (s.remoteHave.complete || swarm?.listedAsSeeder(s.id)) ids.delete(s.id);
      else ids.add(s.id);
    }
    return this.keep([...ids].sort().join(','), () => cdnShareOf(self, ids, pieceCount));
  }

  private keep(key: string, make: () => CdnShare): CdnShare {
    if (key !== this.key) [this.key, this.last] = [key, make()];
    return this.last;
  }
}
