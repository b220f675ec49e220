/**
 * Swarm membership for the Arrays service: which peers are in the swarm of each content, with
 * their last report and when they last announced.
 *
 * The interface is asynchronous so that a shared store (Redis, for several server processes)
 * can implement it later; the in-memory one below is the default. The registry holds only
 * membership. Which socket a peer ID is bound to is the Arrays service's own business (a
 * multi-process setup would also need a relay between processes for `signal`).
 */
import type { PeerInfo, Report } from '../src/protocol/arrays-messages.js';

export interface SwarmMember {
  contentId: string;
  peerId: string;
}

export interface SwarmStats {
  swarms: number;
  peers: number;
}

export interface SwarmRegistry {
  /** Adds the peer to the swarm, or refreshes its report and `lastSeen` (ms, caller's clock). */
  upsert(contentId: string, peerId: string, report: Report, lastSeen: number): Promise<void>;
  /** Removes the peer from the swarm; true if it was there. Empty swarms disappear. */
  remove(contentId: string, peerId: string): Promise<boolean>;
  has(contentId: string, peerId: string): Promise<boolean>;
  /**
   * Up to `max` members of the swarm other than `exclude`: those with the fewest bytes left
   * first (seeders before leechers), ties in random order, so that replies spread load
   * instead of sending every peer to the same few.
   */
  pickPeers(contentId: string, exclude: string, max: number): Promise<PeerInfo[]>;
  swarmSize(contentId: string): Promise<number>;
  /** Removes and returns every member whose `lastSeen` is before `before`. */
  expire(before: number): Promise<SwarmMember[]>;
  stats(): Promise<SwarmStats>;
}

interface Entry {
  report: Report;
  lastSeen: number;
}

function shuffleInPlace<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

/** The in-memory registry: one Map of peers per content. */
export class MemorySwarmRegistry implements SwarmRegistry {
  readonly #swarms = new Map<string, Map<string, Entry>>();

  async upsert(contentId: string, peerId: string, report: Report, lastSeen: number): Promise<void> {
    let swarm = this.#swarms.get(contentId);
    if (swarm === undefined) {
      swarm = new Map();
      this.#swarms.set(contentId, swarm);
    }
    swarm.set(peerId, { report, lastSeen });
  }

  async remove(contentId: string, peerId: string): Promise<boolean> {
    const swarm = this.#swarms.get(contentId);
    if (swarm === undefined) return false;
    const removed = swarm.delete(peerId);
    if (swarm.size === 0) this.#swarms.delete(contentId);
    return removed;
  }

  async has(contentId: string, peerId: string): Promise<boolean> {
    return this.#swarms.get(contentId)?.has(peerId) ?? false;
  }

  async pickPeers(contentId: string, exclude: string, max: number): Promise<PeerInfo[]> {
    const swarm = this.#swarms.get(contentId);
    if (swarm === undefined || max <= 0) return [];
    const candidates: PeerInfo[] = [];
    for (const [peerId, entry] of swarm) {
      if (peerId !== exclude) candidates.push({ peerId, left: entry.report.left });
    }
    // Shuffle, then a stable sort by `left`: seeders first, ties in random order.
    return shuffleInPlace(candidates)
      .sort((a, b) => a.left - b.left)
      .slice(0, max);
  }

  async swarmSize(contentId: string): Promise<number> {
    return this.#swarms.get(contentId)?.size ?? 0;
  }

  async expire(before: number): Promise<SwarmMember[]> {
    const removed: SwarmMember[] = [];
    for (const [contentId, swarm] of this.#swarms) {
      for (const [peerId, entry] of swarm) {
        if (entry.lastSeen < before) {
          swarm.delete(peerId);
          removed.push({ contentId, peerId });
        }
      }
      if (swarm.size === 0) this.#swarms.delete(contentId);
    }
    return removed;
  }

  async stats(): Promise<SwarmStats> {
    let peers = 0;
    for (const swarm of this.#swarms.values()) peers += swarm.size;
    return { swarms: this.#swarms.size, peers };
  }
}
