/**
 * Whether a download has room for one more link (core/swarm.ts): `maxPeers` links in all, of
 * which at most `maxOfferedPeers` opened by this side, so that peers that offer to it find room
 * (config-peering.ts says why); the first `maxCacheNodeLinks` links to cache nodes are beyond
 * both (swarm/cache-nodes.ts).
 */
import type { ClientConfig } from '../config.js';

export type LinkRoomConfig = Pick<ClientConfig, 'maxPeers' | 'maxOfferedPeers' | 'maxCacheNodeLinks'>;

/**
 * `links`: the peers linked or linking now, with whether this side offered; `offering`: the new
 * link would be this side's offer (else it answers the peer's).
 */
export function hasRoom(
  config: LinkRoomConfig,
  peerId: string,
  offering: boolean,
  links: Iterable<[string, { initiator: boolean }]>,
  isCacheNode: (peerId: string) => boolean,
): boolean {
  const { maxPeers, maxOfferedPeers, maxCacheNodeLinks } = config;
  let all = 0;
  let cache = 0;
  let offered = 0;
  for (const [id, { initiator }] of links) {
    all++;
    if (isCacheNode(id)) cache++;
    else if (initiator) offered++;
  }
  if (isCacheNode(peerId)) {
    if (cache < maxCacheNodeLinks) return true;
  } else if (offering && maxOfferedPeers > 0 && offered >= maxOfferedPeers) {
    return false;
  }
  return all - Math.min(cache, maxCacheNodeLinks) < maxPeers;
}
