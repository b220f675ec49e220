/**
 * Counters of one download: where its bytes came from, what it uploaded, what it rejected.
 * Read-only snapshots go to the page and into the Arrays report.
 */
import { systemClock, type Clock } from './clock.js';
import { RateMeter } from './rate-meter.js';
import type { SourceKind } from './ports.js';

export interface PeerStats {
  peerId: string;
  downloaded: number;
  uploaded: number;
  piecesFrom: number;
  strikes: number;
  /** Requests that passed their deadline (PeerPace). */
  timeouts: number;
  /** Times the tab dropped the peer for lagging (docs/protocol.md, "Deadlines"). */
  drops: number;
  banned: boolean;
  connected: boolean;
  /** Listed as a cache node (`cache: true`, DO's Connected Cache) when its bytes came or at the snapshot. */
  cacheNode: boolean;
}

export interface StatsSnapshot {
  bytesFromPeers: number;
  /** The part of `bytesFromPeers` that came from cache nodes (DO's BytesFromCacheServer). */
  bytesFromCacheNodes: number;
  bytesFromCdn: number;
  bytesUploaded: number;
  piecesFromPeers: number;
  piecesFromCdn: number;
  piecesFromStore: number;
  piecesRejected: number;
  cdnErrors: number;
  peersBanned: number;
  downloadBps: number;
  uploadBps: number;
  peers: PeerStats[];
}

export class DownloadStats {
  private bytesFromPeers = 0;
  private bytesFromCacheNodes = 0;
  private bytesFromCdn = 0;
  private bytesUploaded = 0;
  private piecesFromPeers = 0;
  private piecesFromCdn = 0;
  piecesFromStore = 0;
  private piecesRejected = 0;
  private cdnErrors = 0;
  private readonly down: RateMeter;
  private readonly up: RateMeter;
  private readonly peers = new Map<string, PeerStats>();

  /** `isCacheNode`: whether a peer is a cache node now (the swarm knows; absent: none is). `clock`: the rates' time. */
  constructor(
    private readonly isCacheNode: (peerId: string) => boolean = () => false,
    clock: Clock = systemClock,
  ) {
    const now = () => clock.now();
    this.down = new RateMeter(5, now);
    this.up = new RateMeter(5, now);
  }

  peer(peerId: string): PeerStats {
    let p = this.peers.get(peerId);
    if (!p) {
      p = { peerId, downloaded: 0, uploaded: 0, piecesFrom: 0, strikes: 0, timeouts: 0, drops: 0, banned: false, connected: false, cacheNode: this.isCacheNode(peerId) };
      this.peers.set(peerId, p);
    }
    return p;
  }

  /** A verified piece was stored. */
  received(kind: SourceKind, sourceId: string, bytes: number): void {
    this.down.add(bytes);
    if (kind === 'cdn') {
      this.bytesFromCdn += bytes;
      this.piecesFromCdn++;
    } else {
      this.bytesFromPeers += bytes;
      this.piecesFromPeers++;
      const p = this.peer(sourceId);
      p.downloaded += bytes;
      p.piecesFrom++;
      p.cacheNode ||= this.isCacheNode(sourceId);
      if (p.cacheNode) this.bytesFromCacheNodes += bytes;
    }
  }

  uploaded(peerId: string, bytes: number): void {
    this.up.add(bytes);
    this.bytesUploaded += bytes;
    this.peer(peerId).uploaded += bytes;
  }

  rejected(): void {
    this.piecesRejected++;
  }

  cdnError(): void {
    this.cdnErrors++;
  }

  snapshot(): StatsSnapshot {
    const peers = [...this.peers.values()].map((p) => ({ ...p, cacheNode: (p.cacheNode ||= this.isCacheNode(p.peerId)) }));
    return {
      bytesFromPeers: this.bytesFromPeers,
      bytesFromCacheNodes: this.bytesFromCacheNodes,
      bytesFromCdn: this.bytesFromCdn,
      bytesUploaded: this.bytesUploaded,
      piecesFromPeers: this.piecesFromPeers,
      piecesFromCdn: this.piecesFromCdn,
      piecesFromStore: this.piecesFromStore,
      piecesRejected: this.piecesRejected,
      cdnErrors: this.cdnErrors,
      peersBanned: peers.filter((p) => p.banned).length,
      downloadBps: this.down.rate(),
      uploadBps: this.up.rate(),
      peers,
    };
  }
}
