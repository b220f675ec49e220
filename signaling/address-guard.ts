/**
 * Liars pay per person, not per peer ID: what the Arrays service keeps per remote address
 * (an IPv4 address or an IPv6 /64, `addressBucketOf`) so that a peer banned by others cannot
 * simply come back under a new peer ID.
 *
 * - **New peer IDs per address and content** go through a token bucket
 *   (`newPeerIdsBurst`, refilled at `newPeerIdsPerMinute`). A peer ID seen from that address
 *   for that content lately (a tab whose socket dropped, reclaiming its ID) is not new.
 * - **Ban reports are aggregated** by the banned peer's address: when peers from at least
 *   `quarantineReporters` addresses other than that one have banned at least
 *   `quarantineBannedIds` peer IDs that announced from that address for one content, within
 *   `quarantineMs`, the address is **quarantined** for that content for `quarantineMs`: its
 *   peers are listed to no one and their signals relayed to no one. One reporter cannot
 *   quarantine anybody, and an honest peer behind a shared address has one ID, never banned.
 *
 * Every table is bounded (oldest entries forgotten first), so a client cannot grow it without
 * bound by inventing addresses, contents or IDs.
 */
import type { ServerConfig } from './config.js';
import { TokenBucket } from '../src/protocol/token-bucket.js';

export type AddressGuardConfig = Pick<ServerConfig, 'newPeerIdsPerMinute' | 'newPeerIdsBurst' | 'quarantineBannedIds' | 'quarantineReporters' | 'quarantineMs'>;

/** Entries kept per table; the oldest go first beyond it. */
const MAX_ENTRIES = 100_000;
/** IDs remembered per address and content (for "not new" and for the quarantine's list). */
const MAX_IDS_PER_ENTRY = 256;

interface Evidence {
  ids: Set<string>;
  reporters: Set<string>;
  since: number;
}

interface Quarantine {
  until: number;
  ids: Set<string>;
}

/** A Map used as a bounded LRU: `touch` moves a key to the young end, `trim` drops the old end. */
function touch<K, V>(map: Map<K, V>, key: K, value: V): V {
  map.delete(key);
  map.set(key, value);
  while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value!);
  return value;
}

function addBounded(set: Set<string>, id: string): void {
  if (set.size < MAX_IDS_PER_ENTRY) set.add(id);
}

export class AddressGuard {
  /** The address each recently bound peer ID announced from. */
  private readonly addressOf = new Map<string, string>();
  private readonly newIds = new Map<string, { bucket: TokenBucket; ids: Set<string> }>();
  private readonly evidence = new Map<string, Evidence>();
  /** Per content, the quarantined addresses. */
  private readonly quarantined = new Map<string, Map<string, Quarantine>>();
  /** Quarantines begun so far (for metrics and logs). */
  quarantines = 0;

  constructor(private readonly config: AddressGuardConfig) {}

  /**
   * Whether `peerId`, announcing from `address`, may join the swarm of `contentId` now: false
   * when it is a new ID and the address is over its rate of new IDs for that content.
   */
  admit(contentId: string, address: string, peerId: string, now: number): boolean {
    const key = `${contentId}|${address}`;
    const entry = this.newIds.get(key) ?? { bucket: new TokenBucket(this.config.newPeerIdsPerMinute / 60, this.config.newPeerIdsBurst, now), ids: new Set<string>() };
    touch(this.newIds, key, entry);
    touch(this.addressOf, peerId, address);
    if (entry.ids.has(peerId)) return true;
    if (!entry.bucket.take(now)) return false;
    addBounded(entry.ids, peerId);
    const q = this.quarantineOf(contentId, address, now);
    if (q) addBounded(q.ids, peerId);
    return true;
  }

  /**
   * `reporter` (announcing from `reporterAddress`) banned `banned` for `contentId`. Returns the
   * banned peer's address when this report starts a quarantine of it.
   */
  reportBan(contentId: string, reporterAddress: string, banned: string, now: number): string | undefined {
    const address = this.addressOf.get(banned);
    if (address === undefined || address === reporterAddress) return undefined;
    const key = `${contentId}|${address}`;
    let e = this.evidence.get(key);
    if (!e || now - e.since > this.config.quarantineMs) e = { ids: new Set(), reporters: new Set(), since: now };
    touch(this.evidence, key, e);
    addBounded(e.ids, banned);
    addBounded(e.reporters, reporterAddress);
    if (e.ids.size < this.config.quarantineBannedIds || e.reporters.size < this.config.quarantineReporters) return undefined;
    if (this.quarantineOf(contentId, address, now)) return undefined;
    let byAddress = this.quarantined.get(contentId);
    if (!byAddress) byAddress = touch(this.quarantined, contentId, new Map());
    const ids = new Set(this.newIds.get(key)?.ids ?? []);
    for (const id of e.ids) addBounded(ids, id);
    touch(byAddress, address, { until: now + this.config.quarantineMs, ids });
    this.evidence.delete(key);
    this.quarantines++;
    return address;
  }

  /** The address bucket `peerId` last joined a swarm from, if it is still remembered. */
  addressOfPeer(peerId: string): string | undefined {
    return this.addressOf.get(peerId);
  }

  /** Whether peers announcing from `address` are quarantined for `contentId`. */
  isQuarantined(contentId: string, address: string, now: number): boolean {
    return this.quarantineOf(contentId, address, now) !== undefined;
  }

  /** Whether `peerId` is one of a quarantined address's peers for `contentId`. */
  isQuarantinedPeer(contentId: string, peerId: string, now: number): boolean {
    const address = this.addressOf.get(peerId);
    return address !== undefined && this.isQuarantined(contentId, address, now);
  }

  /** The peer IDs quarantined for `contentId` (to leave out of peer lists); empty when none. */
  quarantinedPeers(contentId: string, now: number): Set<string> {
    const byAddress = this.quarantined.get(contentId);
    const out = new Set<string>();
    if (!byAddress) return out;
    for (const [address, q] of byAddress) {
      if (q.until <= now) byAddress.delete(address);
      else for (const id of q.ids) out.add(id);
    }
    if (byAddress.size === 0) this.quarantined.delete(contentId);
    return out;
  }

  private quarantineOf(contentId: string, address: string, now: number): Quarantine | undefined {
    const byAddress = this.quarantined.get(contentId);
    const q = byAddress?.get(address);
    if (!q) return undefined;
    if (q.until > now) return q;
    byAddress!.delete(address);
    if (byAddress!.size === 0) this.quarantined.delete(contentId);
    return undefined;
  }
}
