/**
 * The settings of a download's links to peers (core/swarm.ts): how many, how fast they are
 * given up, when they are tried again, and the room kept for cache nodes. Part of ClientConfig
 * (config.ts), kept apart because that file is at its size limit; docs/controls.md mirrors both.
 */
export interface PeeringConfig {
  /**
   * Most peer connections per download.
   * @default 16
   */
  maxPeers: number;
  /**
   * Links this download opens itself (its offers, answered or not) at most; the rest of
   * `maxPeers` is kept for peers that link to it. When every tab offered to as many peers as it
   * could hold, each one's slots filled with its own unanswered offers and it dropped the
   * offers it was sent: 200 simulated tabs joining together linked only as their offers timed
   * out (`connectTimeoutMs`), and the CDN served 18 copies of the file meanwhile (issue 18,
   * docs/benchmarks.md). Cache nodes do not count. 0: no bound but `maxPeers`.
   * @default 8
   */
  maxOfferedPeers: number;
  /**
   * Links to cache nodes (peers the Arrays service lists with `cache: true`, DO's Connected
   * Cache) beyond `maxPeers`: a cache node is linked first and kept linked even when every
   * other slot is taken, and linked again when its back-off ends if its link closes. Cache
   * nodes beyond this many take ordinary slots. The tabs' own slots stay theirs, so trading
   * among tabs goes on. 0: cache nodes are ordinary peers.
   * @default 2
   */
  maxCacheNodeLinks: number;
  /**
   * In a swarm bigger than any tab sees (the Arrays service gave a CDN slot among more than
   * twice `maxPeers` downloaders), a tab with no room may close one link, at most this often,
   * to take the offer of a peer that has more left than it has or that came since its last
   * announce: else a flash crowd's first tabs fill their links with each other and the later
   * ones link only among themselves, with nothing to trade (download/newcomer-room.ts). 0: never.
   * @default 2000
   */
  newcomerSwapMs: number;
  /**
   * A drop (a peer that missed its deadlines) that leaves the tab fewer than half of `maxPeers`
   * links makes it announce at once, at most this often, for peers to link to: else it waits
   * for its next announce (`announceIntervalMs`), short of links. In a busy swarm peers that
   * serve others first miss deadlines, and 1,000 simulated tabs dropped 5,000 links in 20 s;
   * tabs left with few fetched 1.4 copies of the file from the CDN as "stalled" (0.95 with
   * this). 0: never.
   * @default 2000
   */
  refillAnnounceMs: number;
  /**
   * In a big swarm (the service gave a CDN slot), a tab asks the service before it fetches a
   * piece of its slot from the CDN, and fetches it only if granted: the service grants each
   * piece once, and tells every later owner that the swarm has it (docs/protocol.md, "CDN
   * slots"); else a flash crowd's newer owners fetched again what older ones had. Asks go out
   * at once, but never within this long of the last announce that carried some (at least 100:
   * the service takes 10 announces a second); 0: asks wait for the next announce.
   * @default 100
   */
  claimAnnounceMs: number;
  /**
   * An ask to fetch a piece of our CDN slot that the service has not answered within this long
   * counts as granted (a service that grants nothing, or a reply lost with its socket).
   * @default 2000
   */
  claimGrantWaitMs: number;
  /**
   * In a big swarm, a piece of our CDN slot fetched from the CDN is the swarm's only copy (a
   * first copy, core/first-copies.ts); until it has gone out whole to a peer, or for this long,
   * the tab asks for no further piece of its slot. So each tab brings pieces in at its uplink's
   * pace, and while a flash crowd grows the rest of its slot's pieces move on to newer tabs:
   * else the first tabs brought in several pieces each, and those on 1 Mbit/s uplinks held them
   * (1,000 simulated peers x 64 MiB: mean completion 3.1 times the bound, 1.7 with this). 0: no
   * pacing (one ask at a time still).
   * @default 10000
   */
  firstCopyPaceMs: number;
  /**
   * A peer connection whose data channel has not opened by then is dropped.
   * @default 15000
   */
  connectTimeoutMs: number;
  /**
   * Peers asked of the Arrays service per announce (DO's PeersWanted).
   * @default 20
   */
  peersWanted: number;
  /**
   * Announce interval used until the Arrays service says otherwise.
   * @default 15000
   */
  announceIntervalMs: number;
  /**
   * After a link to a peer closes (for any reason but a ban or two seeds parting), the tab
   * neither connects to that peer nor accepts its offers for this long, doubling with every
   * further close up to `maxRelinkBackoffMs`. A peer whose channel dies or that is dropped for
   * lagging cannot make the tab reconnect to it over and over.
   * @default 10000
   */
  relinkBackoffMs: number;
  /** @default 600000 */
  maxRelinkBackoffMs: number;
  /**
   * A data channel that dies under an open link counts against the peer only once the peer
   * shows it is still here: it signals to this tab again, or the Arrays service lists it in a
   * reply that came at least this long after the death (the tab announces again then to ask).
   * A page that closes or crashes leaves the service as its channel dies, and is struck by
   * no one; a peer that killed the channel with an oversized frame and stays is. A death not
   * confirmed within 60 s is forgotten.
   * @default 2000
   */
  channelDeathRecheckMs: number;
}

export const DEFAULT_PEERING_CONFIG: Readonly<PeeringConfig> = Object.freeze({
  maxPeers: 16,
  maxOfferedPeers: 8,
  maxCacheNodeLinks: 2,
  newcomerSwapMs: 2000,
  refillAnnounceMs: 2000,
  claimAnnounceMs: 100,
  claimGrantWaitMs: 2000,
  firstCopyPaceMs: 10_000,
  connectTimeoutMs: 15_000,
  peersWanted: 20,
  announceIntervalMs: 15_000,
  relinkBackoffMs: 10_000,
  maxRelinkBackoffMs: 600_000,
  channelDeathRecheckMs: 2000,
});
