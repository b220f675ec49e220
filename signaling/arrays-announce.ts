/**
 * Membership in the Arrays service's swarms: `announce` (join or refresh, and the `peers`
 * reply: members of the asker's partition, not those it banned, not quarantined ones, each
 * with its origin tag; cache nodes first, as the registry ranks them; a downloader's CDN slot,
 * with the pieces its partition fetched from the CDN, and those of its announce's `cdnPieces` it
 * may fetch), `ban` (a peer tells
 * which peers it banned) and `leave`. A non-cache peer's announce that makes it a new member of
 * a partition is reported to `joined` (cache nodes watching that scope are told: arrays-cache-nodes.ts).
 */
import type { Logger } from 'pino';
import type { ClientMessage, PeerInfo, Report } from '../src/protocol/arrays-messages.js';
import { LIMITS } from '../src/protocol/limits.js';
import type { AddressGuard } from './address-guard.js';
import { send, sendError, type Connection, type Connections } from './arrays-connections.js';
import type { ServerConfig } from './config.js';
import { scopeKeyOf, type SwarmRegistry } from './swarm-registry.js';

/** Swarms one socket may be in at once (DO peers 4 files at a time); a cache node's: `maxSwarmsPerCacheNode`. */
export const MAX_SWARMS_PER_SOCKET = 32;

export type AnnounceConfig = Pick<
  ServerConfig,
  'announceIntervalMs' | 'maxPeersPerReply' | 'announceRatePerSec' | 'newPeerIdsPerMinute' | 'banRatePerSec' | 'maxSwarmsPerCacheNode'
>;

export interface AnnounceDeps {
  config: AnnounceConfig;
  log: Logger;
  now: () => number;
  registry: SwarmRegistry;
  guard: AddressGuard;
  connections: Connections;
  isPeerable: (contentId: string) => Promise<boolean>;
  /** The origin tag of an address bucket for a content (origin-tag.ts). */
  originOf: (contentId: string, addressBucket: string) => string;
  /** Keep each socket's last announce (to put it back into a restarted shared registry). */
  keepLastAnnounce: boolean;
  /** A non-cache peer became a member of partition `scopeKey` of `contentId` (a join, or a move from another scope). */
  joined: (contentId: string, scopeKey: string, report: Report) => void;
}

type Msg<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

export function createAnnounce(d: AnnounceDeps) {
  const { config, registry, guard, connections } = d;

  /** A listed peer with its origin tag, when this instance knows the address it announced from. */
  function withOrigin(contentId: string, p: PeerInfo): PeerInfo {
    const address = guard.addressOfPeer(p.peerId);
    return address === undefined ? p : { ...p, origin: d.originOf(contentId, address) };
  }

  /** Whether a socket not yet in the swarm of `msg.contentId` may join it (answered if not). */
  async function mayJoin(conn: Connection, msg: Msg<'announce'>): Promise<boolean> {
    const cap = conn.cache !== undefined ? config.maxSwarmsPerCacheNode : MAX_SWARMS_PER_SOCKET;
    if (conn.swarms.size >= cap) {
      sendError(conn, 'too-many-swarms', `at most ${cap} contents per connection; leave one first`, msg);
      return false;
    }
    if (!(await d.isPeerable(msg.contentId))) {
      sendError(conn, 'unknown-content', 'this server has no peerable content with this ID', msg);
      return false;
    }
    if (conn.closed) return false;
    if (!guard.admit(msg.contentId, conn.addressBucket, msg.peerId, d.now())) {
      sendError(conn, 'too-many-peer-ids', `at most ${config.newPeerIdsPerMinute} new peer IDs per minute from one address for one content`, msg);
      return false;
    }
    return true;
  }

  async function announce(conn: Connection, msg: Msg<'announce'>): Promise<void> {
    if (!conn.announces.take(d.now())) return connections.strike(conn, 'rate-limited', `at most ${config.announceRatePerSec} announces per second`, msg);
    if (conn.peerId !== msg.peerId) return connections.strike(conn, 'peer-id-mismatch', "announce with the peer ID of this connection's hello", msg);
    if (!conn.swarms.has(msg.contentId) && !(await mayJoin(conn, msg))) return;
    const scopeKey = scopeKeyOf(msg.report, conn.lanKey);
    const isNew = !conn.swarms.has(msg.contentId) || conn.scopes.get(msg.contentId) !== scopeKey;
    conn.swarms.add(msg.contentId);
    conn.scopes.set(msg.contentId, scopeKey);
    if (d.keepLastAnnounce) conn.lastAnnounce.set(msg.contentId, { scopeKey, report: msg.report });
    await registry.upsert(msg.contentId, scopeKey, msg.peerId, msg.report, d.now(), conn.cache !== undefined);
    const asked = msg.cdnPieces !== undefined && msg.cdnPieces.length > 0 && conn.cache === undefined;
    const granted = asked ? await registry.claimCdnPieces?.(msg.contentId, msg.peerId, msg.cdnPieces!) : undefined;
    const t = d.now();
    // A quarantined address's peers get nobody, and nobody gets them (nor hears of them).
    if (guard.isQuarantined(msg.contentId, conn.addressBucket, t)) {
      send(conn, { type: 'peers', contentId: msg.contentId, peers: [], intervalMs: config.announceIntervalMs });
      return;
    }
    const max = Math.min(msg.report.peersWanted, config.maxPeersPerReply);
    const quarantined = guard.quarantinedPeers(msg.contentId, t);
    const banned = conn.bans.get(msg.contentId);
    const exclude = quarantined.size === 0 ? banned : new Set([...(banned ?? []), ...quarantined]);
    // The registry samples extra candidates for the excluded ones; the filter below is a second guard.
    const peers = (await registry.selectPeers({ contentId: msg.contentId, peerId: msg.peerId, left: msg.report.left, max, exclude }))
      .filter((p) => p.peerId !== msg.peerId && !exclude?.has(p.peerId))
      .slice(0, max)
      .map((p) => withOrigin(msg.contentId, p));
    const cdnSlot = conn.cache === undefined ? await registry.cdnSlot?.(msg.contentId, msg.peerId) : undefined;
    send(conn, {
      type: 'peers',
      contentId: msg.contentId,
      peers,
      intervalMs: config.announceIntervalMs,
      origin: d.originOf(msg.contentId, conn.addressBucket),
      ...(cdnSlot !== undefined ? { cdnSlot: granted !== undefined ? { ...cdnSlot, granted } : cdnSlot } : {}),
    });
    if (isNew && conn.cache === undefined) d.joined(msg.contentId, scopeKey, msg.report);
  }

  function ban(conn: Connection, msg: Msg<'ban'>): void {
    if (conn.peerId === undefined || !conn.swarms.has(msg.contentId)) {
      sendError(conn, 'not-in-swarm', 'announce this content before reporting bans in its swarm', msg);
      return;
    }
    let set = conn.bans.get(msg.contentId);
    if (set?.has(msg.peerId) === true || (set?.size ?? 0) >= LIMITS.maxBansPerSwarm) return;
    // Not a strike: a tab tells a restarted service every ban it holds at once.
    if (!conn.banReports.take(d.now())) return sendError(conn, 'rate-limited', `at most ${config.banRatePerSec} new bans per second`, msg);
    if (set === undefined) conn.bans.set(msg.contentId, (set = new Set()));
    set.add(msg.peerId);
    d.log.debug({ contentId: msg.contentId, by: conn.peerId, banned: msg.peerId }, 'peer banned by a peer');
    const quarantined = guard.reportBan(msg.contentId, conn.addressBucket, msg.peerId, d.now());
    if (quarantined !== undefined) d.log.info({ contentId: msg.contentId, address: quarantined }, 'address quarantined for a content: its peer IDs were banned by peers of other addresses');
  }

  async function leave(conn: Connection, msg: Msg<'leave'>): Promise<void> {
    if (conn.peerId === undefined || !conn.swarms.delete(msg.contentId)) return;
    conn.scopes.delete(msg.contentId);
    conn.lastAnnounce.delete(msg.contentId);
    // Its bans for that swarm go with it (it tells them again if it comes back).
    conn.bans.delete(msg.contentId);
    await registry.remove(msg.contentId, conn.peerId);
  }

  /** A closed socket's memberships go, but for those its peer's newer socket holds now. */
  async function forget(conn: Connection): Promise<void> {
    const peerId = conn.peerId!;
    const holder = connections.byPeerId.get(peerId);
    for (const contentId of conn.swarms) {
      // The peer reconnected and announced this content on its new socket: that entry is its now.
      if (holder !== undefined && holder !== conn && holder.swarms.has(contentId)) continue;
      await registry.remove(contentId, peerId);
    }
    conn.swarms.clear();
    conn.scopes.clear();
  }

  /** Members the registry expired: their sockets are no longer in those swarms. */
  async function expire(olderThan: number): Promise<number> {
    const removed = await registry.expire(olderThan);
    for (const { contentId, peerId } of removed) {
      const conn = connections.byPeerId.get(peerId);
      conn?.swarms.delete(contentId);
      conn?.scopes.delete(contentId);
      conn?.bans.delete(contentId);
    }
    return removed.length;
  }

  return { announce, ban, leave, forget, expire };
}
