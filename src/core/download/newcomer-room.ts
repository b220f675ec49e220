/**
 * Room for a newcomer in a big swarm (issue 18). The first tabs of a flash crowd fill their
 * links with each other within a second; every tab that comes later finds them full and links
 * to tabs that came about when it did, which hold as little as it does. The swarm's links then
 * run by the time tabs came, and pieces reach the last to come through a chain of them: in
 * 1,000 simulated tabs, 790 held no piece 16 s in, and their CDN fallback fetched 10 copies of
 * the file. So in a swarm bigger than any tab sees, a tab with no room may close one link, at
 * most every `newcomerSwapMs`, to take the offer of a peer that has more left than it has (or
 * that it was not listed: one that came since its last announce): the link it closes is the
 * one to the peer with the fewest pieces it lacks, which the swarm's other tabs can serve as
 * well. An offer can cost a tab at most one link per `newcomerSwapMs`, whoever sends it.
 */
import { BIG_SWARM_FACTOR } from '../cdn-share.js';
import type { Bitfield } from '../bitfield.js';
import type { Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';
import type { PeerSession } from '../peer-session.js';
import type { Swarm } from '../swarm.js';

export interface NewcomerRoomDeps {
  config: Pick<ClientConfig, 'maxPeers' | 'newcomerSwapMs'>;
  clock: Clock;
  swarm: () => Swarm | undefined;
  sessions: () => Iterable<PeerSession>;
  isCache: (session: PeerSession) => boolean;
  have: Bitfield;
  bytesLeft: () => number;
}

/** `NewcomerRoom.linkToDrop` of a new room: a Swarm's `makeRoomFor`. */
export function linkToDropFor(deps: NewcomerRoomDeps): (from: string) => string | undefined {
  const room = new NewcomerRoom(deps);
  return (from) => room.linkToDrop(from);
}

export class NewcomerRoom {
  private lastAt = -Infinity;

  constructor(private readonly d: NewcomerRoomDeps) {}

  /** The peer whose link to close so that `from`'s offer can be taken; undefined: refuse it. */
  linkToDrop(from: string): string | undefined {
    const { d } = this;
    const every = d.config.newcomerSwapMs;
    const swarm = d.swarm();
    const slot = swarm?.listed.cdnSlot;
    if (every <= 0 || swarm === undefined || slot === undefined || slot.of <= BIG_SWARM_FACTOR * d.config.maxPeers || d.have.complete) return undefined;
    const now = d.clock.now();
    if (now - this.lastAt < every) return undefined;
    const theirLeft = swarm.listed.leftOf(from);
    if (theirLeft !== undefined && theirLeft <= d.bytesLeft()) return undefined;
    let drop: PeerSession | undefined;
    let fewest = Infinity;
    for (const s of d.sessions()) {
      if (!s.ready || d.isCache(s)) continue;
      let lack = 0;
      for (let i = 0; i < d.have.size; i++) if (!d.have.has(i) && s.has(i)) lack++;
      if (lack < fewest || (lack === fewest && s.owedBytes() < drop!.owedBytes())) [drop, fewest] = [s, lack];
    }
    if (drop === undefined) return undefined;
    this.lastAt = now;
    return drop.id;
  }
}
