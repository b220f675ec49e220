/**
 * What a Swarm (core/swarm.ts) is given: its settings and its ports, and the download's
 * answers to what only the download knows (its report, whether it is complete, which link to
 * let go for a newcomer).
 */
import type { ProgressReport } from '../../protocol/arrays-messages.js';
import type { Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';
import type { PeerConnector, PeerLink, Signaling } from '../ports.js';
import type { BannedAddresses } from './banned-addresses.js';

export type SwarmConfig = Pick<
  ClientConfig,
  | 'maxPeers'
  | 'maxOfferedPeers'
  | 'maxCacheNodeLinks'
  | 'peersWanted'
  | 'announceIntervalMs'
  | 'connectTimeoutMs'
  | 'downloadMode'
  | 'groupId'
  | 'relinkBackoffMs'
  | 'maxRelinkBackoffMs'
  | 'channelDeathRecheckMs'
  | 'refillAnnounceMs'
  | 'claimAnnounceMs'
>;

export interface SwarmOptions {
  contentId: string;
  peerId: string;
  signaling: Signaling;
  connector: PeerConnector;
  config: SwarmConfig;
  /** The current DO progress report for each announce; the swarm adds the mode and group. */
  report(): ProgressReport;
  /** Called once per link when its data channel opens. */
  onLink(link: PeerLink): void;
  /**
   * Whether this tab holds the whole file. A complete tab does not link to peers listed with
   * nothing left: two seeds have nothing to trade, and the link would hold a slot (maxPeers)
   * that a newcomer needs. @default never complete
   */
  isComplete?(): boolean;
  /** The tab's banned addresses, used in LAN and group modes. @default none kept */
  bannedAddresses?: BannedAddresses;
  /**
   * A peer was refused or banned because its address (`where`: the WebRTC address, or
   * "origin <tag>") is one a peer banned for evidence had.
   */
  onAddressBan?(peerId: string, where: string): void;
  /**
   * An open link's data channel died under it (PeerLinkEvents' `died`), with no close of ours
   * under way, and the peer has shown since that it is still here (`channelDeathRecheckMs`):
   * the download counts it against the peer. The relink back-off applies meanwhile.
   */
  onLinkDied?(peerId: string, reason: string): void;
  /** Time and timers (the simulator's, in simulated time). @default systemClock */
  clock?: Clock;
  /**
   * A `peers` reply came and `listed` holds it: what the download's CDN share is cut by (our
   * slot, the pieces the swarm fetched) may have changed, and `granted` (of the pieces of our
   * slot we asked to fetch: `claimCdnPiece`) are ours to fetch. @default nothing
   */
  onListed?(granted: readonly number[]): void;
  /** With no room for `peerId`'s offer: a linked peer to let go for it, or undefined to refuse it. */
  makeRoomFor?(peerId: string): string | undefined;
}
