/**
 * The cache nodes of one swarm (DO's Connected Cache: a long-running peer that the Arrays
 * service lists with `cache: true`). As DO asks its cache server first and stays connected to
 * it, a swarm links to a cache node first, gives it a link even when `maxPeers` links are open
 * (up to `maxCacheNodeLinks` such links; more cache nodes take ordinary slots), and links to it
 * again as soon as its relink back-off ends when its link closes. The tabs' own `maxPeers`
 * slots stay theirs, so trading among tabs goes on. Nothing else differs: a cache node is
 * struck, banned, dropped and backed off from as any peer.
 */
import { systemClock, type Clock } from '../clock.js';

/** Cache node IDs remembered (a session sees a handful); oldest forgotten beyond this. */
const MAX_CACHE_NODES = 256;

export class CacheNodes {
  /** Peers listed with `cache: true` in this session (a later list without the flag does not unlist one). */
  private readonly ids = new Set<string>();
  /** One pending relink per cache node whose link closed. */
  private readonly timers = new Map<string, unknown>();

  constructor(
    private readonly clock: Clock = systemClock,
  ) {}

  /** A `peers` reply listed `peerId` with `cache: true`. */
  note(peerId: string): void {
    if (this.ids.has(peerId)) return;
    this.ids.add(peerId);
    while (this.ids.size > MAX_CACHE_NODES) this.ids.delete(this.ids.values().next().value!);
  }

  has(peerId: string): boolean {
    return this.ids.has(peerId);
  }

  /** `peers` with the cache nodes first (DO asks its cache server before its peers), else in order. */
  first<T extends { peerId: string }>(peers: readonly T[]): T[] {
    return [...peers.filter((p) => this.ids.has(p.peerId)), ...peers.filter((p) => !this.ids.has(p.peerId))];
  }

  /** The link to cache node `peerId` closed (not banned): `relink` runs once its back-off (`waitMs`) is over. */
  relinkAfter(peerId: string, waitMs: number, relink: () => void): void {
    if (!this.ids.has(peerId)) return;
    this.clock.clearTimeout(this.timers.get(peerId));
    this.timers.set(
      peerId,
      this.clock.setTimeout(() => {
        this.timers.delete(peerId);
        relink();
      }, Math.max(0, waitMs)),
    );
  }

  stop(): void {
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
  }
}
