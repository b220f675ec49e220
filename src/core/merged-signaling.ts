/**
 * One Signaling over several Arrays connections: the main one (the instance Discovery names)
 * and one per cache node named by address in the bootstrap document (`cacheNodes`: each cache
 * node's own Arrays service). A download's Swarm sees one service; this file decides what goes
 * where. DOM-free: the browser's peering adapters and the Node client both use it.
 *
 * - `announce`, `leave` and `ban` go to every connection.
 * - `peers`: each reply is emitted as it comes, as the union of the replies to the latest
 *   announce of that content from every connection (a peer in several: flagged a cache node if
 *   any says so, `left` from the newest). The Swarm treats a reply as the whole swarm (the CDN
 *   share among downloading tabs, the death recheck of core/swarm/death-watch.ts), so a reply
 *   of one connection must not hide the peers another listed; and a list older than the latest
 *   announce is left out, so that a peer that has left since (a closed page) is not "listed
 *   again" by a stale list and struck for its dead channel.
 * - `signal` to a peer goes to the connection it was heard from: the one whose signal came
 *   last, else the one that listed it first (a later list from another connection does not move
 *   it while the first still lists it: an offer and its candidates must cross one service, whose
 *   relay rules pair them); the main connection when none, or when that one is down.
 * - Origin tags (docs/protocol.md §3.7) are kept from the main connection only: each service
 *   keys its tags with its own secret, so a tag from a cache node's service cannot be compared
 *   with the main one's, and the asker's own tag from one would hide its own tag from the
 *   other (an honest tab behind our NAT could then be refused for a banned liar there).
 * - `open`, `closed` and `welcome` are the main connection's. When a cache node's connection
 *   (re)opens, this file sends it the latest announce of every content and their bans itself.
 *
 * `close` unsubscribes from the connections; it does not close them (they are shared).
 */
import type { PeerInfo, Report, SignalData } from '../protocol/arrays-messages.js';
import { systemClock, type Clock } from './clock.js';
import { Emitter } from './emitter.js';
import type { Signaling, SignalingEvents } from './ports.js';

export interface MergedSignaling extends Signaling {
  close(): void;
}

/** Routes kept per content; bans re-sent per content (the service keeps 256): oldest dropped beyond. */
const MAX_ROUTES = 1024;
const MAX_BANS = 256;

type Peers = SignalingEvents['peers'];

interface ContentState {
  /** When this content was last announced, and what was sent (re-sent to a cache node that reconnects). */
  announcedAt: number;
  announce: { peerId: string; report: Report } | undefined;
  /** The latest reply of each connection, with when it came. */
  replies: Map<Signaling, { at: number; m: Peers }>;
  /** Peer → the connection to signal it over. */
  routes: Map<string, Signaling>;
  bans: Set<string>;
}

/** `clock`: when replies and announces happened (which reply is stale). */
export function mergeSignalings(main: Signaling, cacheNodes: readonly Signaling[], clock: Clock = systemClock): MergedSignaling {
  const all = [main, ...cacheNodes.filter((s) => s !== main)];
  const events = new Emitter<SignalingEvents>();
  const contents = new Map<string, ContentState>();
  /** Connections whose last word was `closed`. */
  const down = new Set<Signaling>();
  const offs: Array<() => void> = [];

  const stateOf = (contentId: string): ContentState => {
    let s = contents.get(contentId);
    if (!s) contents.set(contentId, (s = { announcedAt: 0, announce: undefined, replies: new Map(), routes: new Map(), bans: new Set() }));
    return s;
  };

  const route = (s: ContentState, peerId: string, via: Signaling): void => {
    s.routes.delete(peerId);
    s.routes.set(peerId, via);
    while (s.routes.size > MAX_ROUTES) s.routes.delete(s.routes.keys().next().value!);
  };

  function onPeers(via: Signaling, m: Peers): void {
    const s = contents.get(m.contentId);
    // A reply for a content this merge never announced (or left): not ours to pass on.
    if (!s) return;
    const kept: Peers = via === main ? m : { contentId: m.contentId, peers: m.peers.map(withoutOrigin), intervalMs: m.intervalMs };
    s.replies.set(via, { at: clock.now(), m: kept });
    for (const p of m.peers) {
      const current = s.routes.get(p.peerId);
      const stillListed = current !== undefined && s.replies.get(current)?.m.peers.some((q) => q.peerId === p.peerId) === true;
      if (!stillListed) route(s, p.peerId, via);
    }
    events.emit('peers', union(s, via));
  }

  /** The replies to the latest announce, the one from `latest` last (its entries win). */
  function union(s: ContentState, latest: Signaling): Peers {
    const fresh = [...s.replies].filter(([c, r]) => c !== latest && r.at >= s.announcedAt).map(([, r]) => r.m);
    fresh.push(s.replies.get(latest)!.m);
    const peers = new Map<string, PeerInfo>();
    for (const m of fresh) {
      for (const p of m.peers) {
        const was = peers.get(p.peerId);
        const merged: PeerInfo = { ...p };
        if (p.origin === undefined && was?.origin !== undefined) merged.origin = was.origin;
        if (was?.cache === true) merged.cache = true;
        peers.set(p.peerId, merged);
      }
    }
    const origin = fresh.find((m) => m.origin !== undefined)?.origin;
    // Only the main service counts the whole swarm; a cache node's own count is not the slot.
    const cdnSlot = s.replies.get(main)?.m.cdnSlot;
    return {
      contentId: fresh[0]!.contentId,
      peers: [...peers.values()],
      // Announce often enough for every service (each expires a silent peer).
      intervalMs: Math.min(...fresh.map((m) => m.intervalMs)),
      ...(origin !== undefined ? { origin } : {}),
      ...(cdnSlot !== undefined ? { cdnSlot } : {}),
    };
  }

  for (const via of all) {
    const isMain = via === main;
    offs.push(
      via.on('peers', (m) => onPeers(via, m)),
      via.on('signal', (m) => {
        const s = contents.get(m.contentId);
        if (s) route(s, m.from, via);
        events.emit('signal', isMain ? m : { contentId: m.contentId, from: m.from, data: m.data });
      }),
      via.on('error', (e) => events.emit('error', e)),
      via.on('wanted', (w) => events.emit('wanted', w)),
      via.on('open', () => {
        down.delete(via);
        if (isMain) return events.emit('open', undefined);
        // A cache node's service forgot us: tell it again what the Swarm told the others.
        for (const [contentId, s] of contents) {
          if (s.announce) via.announce(contentId, s.announce.peerId, s.announce.report);
          for (const id of s.bans) via.ban(contentId, id);
        }
      }),
      via.on('closed', (c) => {
        down.add(via);
        for (const s of contents.values()) s.replies.delete(via);
        if (isMain) events.emit('closed', c);
      }),
    );
    if (isMain) offs.push(via.on('welcome', (w) => events.emit('welcome', w)));
  }

  return {
    announce(contentId, peerId, report, cdnPieces) {
      const s = stateOf(contentId);
      s.announcedAt = clock.now();
      // Claims are not kept for a reconnect: one that is lost costs a second copy of a piece, no more.
      s.announce = { peerId, report };
      for (const c of all) c.announce(contentId, peerId, report, cdnPieces);
    },
    signal(contentId: string, to: string, data: SignalData) {
      const via = contents.get(contentId)?.routes.get(to);
      (via !== undefined && !down.has(via) ? via : main).signal(contentId, to, data);
    },
    leave(contentId) {
      contents.delete(contentId);
      for (const c of all) c.leave(contentId);
    },
    ban(contentId, peerId) {
      const bans = stateOf(contentId).bans;
      bans.add(peerId);
      while (bans.size > MAX_BANS) bans.delete(bans.values().next().value!);
      for (const c of all) c.ban(contentId, peerId);
    },
    on: (event, listener) => events.on(event, listener),
    close() {
      for (const off of offs.splice(0)) off();
      contents.clear();
    },
  };
}

function withoutOrigin(p: PeerInfo): PeerInfo {
  const { origin: _origin, ...rest } = p;
  return rest;
}
