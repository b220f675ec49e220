/**
 * The Arrays service (DO's peer list), plus the WebRTC signaling relay, on WebSocket `/arrays`.
 *
 * Contracts (docs/protocol.md has the messages):
 * - Every text frame is parsed with `parseClientMessage`; binary, malformed or invalid frames
 *   get `error` `bad-message` and a strike; at `MAX_STRIKES` the socket is closed (1008).
 *   Frames over LIMITS.maxSignalingMessageBytes are refused by the transport (arrays-socket.ts).
 * - Transports (arrays-socket.ts): `ws` on the HTTP server's port (`handleUpgrade`, built in
 *   here), and any other that calls `admit` and `attach` (uWebSockets on a port of its own,
 *   arrays-uws.ts). All sockets of every transport share one set of swarms.
 * - A socket's first message is `hello` with the peer's secret; the peer ID derived from it
 *   (src/protocol/peer-identity.ts) is bound to the socket and answered with `welcome`. Anything
 *   else first is `hello-first`, a second hello `hello-again`, an announce for another ID
 *   `peer-id-mismatch` (each a strike). Only the secret's holder can have the ID: a socket that
 *   presents the secret of an ID bound elsewhere takes it over at once (the tab reconnected;
 *   the old socket is closed with 4001). So `from` in a relayed `signal` cannot be spoofed.
 * - Per remote address (signaling/address-guard.ts): new peer IDs per content are rate limited
 *   (`too-many-peer-ids`), and an address whose peer IDs others keep banning is quarantined for
 *   that content: its peers are listed to no one and their signals relayed to no one.
 * - Swarms exist only for content this server publishes for peering (`unknown-content`).
 * - Scopes (DO's download modes): each announce names a mode; the member joins the partition
 *   of its content keyed by `scopeKeyOf` (`lan:<lanKey of its address>`, `group:<id>`,
 *   `internet`). `peers` replies list only members of the asker's partition, and `signal` is
 *   relayed only between two members of the same partition: a target in another partition
 *   gets the same `unknown-peer` as a target that does not exist, so that its existence is
 *   not revealed across scopes.
 * - `signal` is relayed only between two members of the same swarm (`not-in-swarm` if the
 *   sender has not announced that content, `unknown-peer` if the target is not in it or not
 *   in its scope). An `answer` is relayed only to a peer whose `offer` this service relayed to
 *   the answerer within `offerTtlMs` (`unsolicited-answer`, a strike); candidates and
 *   renegotiation requests only between two peers with an offer relayed either way within it
 *   (`unsolicited-signal`, no strike: a late candidate can be innocent).
 * - Limits per socket: announces and signals each through a token bucket (`rate-limited`, a
 *   strike); sockets per remote address (`maxSocketsPerAddress`; the upgrade is refused
 *   with HTTP 429).
 * - A member is removed by `leave`, by its socket closing, or after `peerExpiryMs` without an
 *   announce. Sockets that stop answering pings are terminated.
 * - Frames of one socket are handled one at a time, in order; nothing a client sends can throw
 *   out of a handler.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import {
  parseClientMessage,
  type ClientMessage,
  type InReplyTo,
  type PeerInfo,
  type ServerMessage,
  type Report,
  type SignalData,
} from '../src/protocol/arrays-messages.js';
import { LIMITS } from '../src/protocol/limits.js';
import type { Admission, ArraysDoor, ArraysSocket, ArraysSocketHandlers, UpgradeRequest } from './arrays-socket.js';
import { createWsTransport } from './arrays-ws.js';
import type { ServerConfig } from './config.js';
import type { ContentReport } from './content-report.js';
import { addressBucketOf, lanKeyOf, remoteAddressOf } from './lan-key.js';
import { OfferTracker } from './offer-tracker.js';
import { MemorySwarmRegistry, scopeKeyOf, type SwarmRegistry, type SwarmStats } from './swarm-registry.js';
import { AddressGuard } from './address-guard.js';
import { originTagger } from './origin-tag.js';
import { peerIdOfSecret } from '../src/protocol/peer-identity.js';
import { TokenBucket } from '../src/protocol/token-bucket.js';

/** Bad frames tolerated on one socket before it is closed. */
export const MAX_STRIKES = 10;
/** Swarms one socket may be in at once (DO peers 4 files at a time). */
export const MAX_SWARMS_PER_SOCKET = 32;
/** Frames of one socket waiting to be handled before the socket is closed as a flood. */
const MAX_PENDING_FRAMES = 256;
/** A relay target with more than this queued for sending is skipped (`peer-busy`). */
const MAX_TARGET_BUFFERED_BYTES = 4 * 1024 * 1024;
/** WebSocket close code for a policy violation. */
const CLOSE_POLICY = 1008;
const CLOSE_GOING_AWAY = 1001;
/** WebSocket close code of a socket whose peer ID a newer socket of the same peer took over. */
export const CLOSE_REPLACED = 4001;
/** How long `close()` waits for clients to complete the closing handshake. */
const CLOSE_GRACE_MS = 250;

export type ArraysConfig = Pick<
  ServerConfig,
  | 'announceIntervalMs'
  | 'peerExpiryMs'
  | 'maxPeersPerReply'
  | 'announceRatePerSec'
  | 'announceBurst'
  | 'signalRatePerSec'
  | 'signalBurst'
  | 'maxSocketsPerAddress'
  | 'offerTtlMs'
  | 'trustProxy'
  | 'newPeerIdsPerMinute'
  | 'newPeerIdsBurst'
  | 'quarantineBannedIds'
  | 'quarantineReporters'
  | 'quarantineMs'
  | 'maxArraysSockets'
  | 'banRatePerSec'
  | 'banBurst'
>;

export interface ArraysService extends ArraysDoor {
  /** Completes a WebSocket upgrade for `/arrays` with `ws` (the caller checks the path). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Members of the swarm of `contentId`. */
  swarmSize(contentId: string): Promise<number>;
  /** Open WebSocket connections. */
  readonly connections: number;
  stats(): Promise<SwarmStats & { connections: number }>;
  /** The members' last reports aggregated per content (every scope partition summed). */
  contentReports(): Promise<ContentReport[]>;
  /** One content's report (every partition), or undefined when nobody is in its swarm. */
  contentReport(contentId: string): Promise<ContentReport | undefined>;
  /** Terminates every socket and stops the timers. */
  close(): Promise<void>;
}

/** A `signal` on its way to a peer whose socket is on another instance (scale-out). */
export interface RelayEnvelope {
  contentId: string;
  /** The sender's peer ID, as bound on its own instance. */
  from: string;
  to: string;
  /** The sender's scope partition, as the sender's instance read it. */
  fromScope: string;
  data: SignalData;
  /** The sender's origin tag for this content, as its instance computed it (origin-tag.ts). */
  origin?: string;
}

/**
 * Relay between server instances sharing one registry (signaling/redis-scale-out.ts). Without
 * it, every peer is local and a target with no local socket is `unknown-peer`.
 */
export interface ArraysRelay {
  readonly instanceId: string;
  /** The origin-tag key every instance shares (origin-tag.ts); undefined: this instance's own. */
  readonly originKey?: Uint8Array;
  /** The member's partition and the instance its socket announced through, or undefined. */
  locate(contentId: string, peerId: string): Promise<{ scopeKey: string; instanceId: string } | undefined>;
  /** Sends to that instance; false if nothing listens there (the instance is gone). */
  publish(instanceId: string, env: RelayEnvelope): Promise<boolean>;
  /**
   * Delivers what other instances send to this one to `handler`, and calls `resync` when the
   * shared store is back after a loss of connection (it may have restarted empty), until the
   * returned function is called.
   */
  listen(handler: (env: RelayEnvelope) => void, resync?: () => void): () => void;
}

interface Connection {
  socket: ArraysSocket;
  /** The client's LAN (signaling/lan-key.ts), for LAN-mode scope. */
  lanKey: string;
  /** What this socket counts against in the per-address cap and the address guard. */
  addressBucket: string;
  announces: TokenBucket;
  signals: TokenBucket;
  /** `ban` messages that are new (a repeat costs nothing); past it they are ignored. */
  banReports: TokenBucket;
  peerId: string | undefined;
  swarms: Set<string>;
  /** The last announce per swarm (scope and report), to put the member back into a restarted shared registry. */
  lastAnnounce: Map<string, { scopeKey: string; report: Report }>;
  /** Peers this socket's peer banned, per content: never listed to it, their signals not relayed to it. */
  bans: Map<string, Set<string>>;
  strikes: number;
  /** Tail of this socket's frame queue. */
  queue: Promise<void>;
  pending: number;
  closed: boolean;
  /** Answered the last ping (or sent something) since the last heartbeat. */
  alive: boolean;
  /** Called when the transport reports the socket closed (see `close()`). */
  onClosed: (() => void) | undefined;
}

export function createArraysService(deps: {
  config: ArraysConfig;
  logger: Logger;
  registry?: SwarmRegistry;
  /** Whether peers may form a swarm for this content (published, policy `peering: true`). @default any */
  isPeerable?: (contentId: string) => Promise<boolean>;
  /**
   * The client address of an upgrade request, for LAN scope and the per-address cap. Tests
   * inject addresses here. @default the socket's remote address (the last X-Forwarded-For
   * entry if `config.trustProxy`)
   */
  addressOf?: (req: UpgradeRequest) => string;
  /** Relay to peers on other instances (scale-out on Redis). @default none: every peer is local */
  relay?: ArraysRelay;
  now?: () => number;
}): ArraysService {
  const { config } = deps;
  const log = deps.logger.child({ component: 'arrays' });
  const now = deps.now ?? Date.now;
  const registry = deps.registry ?? new MemorySwarmRegistry({ handOutWindowMs: config.announceIntervalMs, now });
  const addressOf = deps.addressOf ?? ((req: UpgradeRequest) => remoteAddressOf(req, config.trustProxy));
  const offers = new OfferTracker(config.offerTtlMs);
  /** Open sockets per address bucket. */
  const perAddress = new Map<string, number>();
  const isPeerable = deps.isPeerable ?? (async () => true);
  const connections = new Set<Connection>();
  const byPeerId = new Map<string, Connection>();
  const guard = new AddressGuard(config);
  const originOf = originTagger(deps.relay?.originKey);

  /** A listed peer with its origin tag, when this instance knows the address it announced from. */
  function withOrigin(contentId: string, p: PeerInfo): PeerInfo {
    const address = guard.addressOfPeer(p.peerId);
    return address === undefined ? p : { ...p, origin: originOf(contentId, address) };
  }

  function send(conn: Connection, msg: ServerMessage): void {
    if (!conn.closed) conn.socket.send(JSON.stringify(msg));
  }

  /** What an error answers, from the message that caused it. */
  function replyTo(msg: ClientMessage | undefined): InReplyTo {
    if (!msg) return { type: 'unknown' };
    switch (msg.type) {
      case 'hello':
        return { type: 'hello' };
      case 'announce':
        return { type: 'announce', contentId: msg.contentId, peerId: msg.peerId };
      case 'signal':
        return { type: 'signal', contentId: msg.contentId, peerId: msg.to };
      case 'leave':
        return { type: 'leave', contentId: msg.contentId };
      case 'ban':
        return { type: 'ban', contentId: msg.contentId, peerId: msg.peerId };
    }
  }

  function sendError(conn: Connection, code: string, message: string, msg?: ClientMessage): void {
    send(conn, { type: 'error', code, message: message.slice(0, 1024), inReplyTo: replyTo(msg) });
  }

  function strike(conn: Connection, code: string, message: string, msg?: ClientMessage): void {
    sendError(conn, code, message, msg);
    conn.strikes++;
    if (conn.strikes >= MAX_STRIKES && !conn.closed) {
      log.debug({ peerId: conn.peerId, strikes: conn.strikes }, 'closing socket: too many bad messages');
      conn.socket.close(CLOSE_POLICY, 'too many bad messages');
    }
  }

  /**
   * Binds the peer ID of the hello's secret to this socket. A socket already holding it (the
   * same tab on a socket the server has not yet noticed is dead) is closed: the ID is the
   * secret holder's, and the secret holder is here.
   */
  function onHello(conn: Connection, msg: Extract<ClientMessage, { type: 'hello' }>): void {
    if (conn.peerId !== undefined) return strike(conn, 'hello-again', 'a connection says hello once', msg);
    const peerId = peerIdOfSecret(msg.secret)!;
    const holder = byPeerId.get(peerId);
    if (holder !== undefined && holder !== conn && !holder.closed) {
      log.debug({ peerId }, 'peer reconnected: its old socket is replaced');
      holder.socket.close(CLOSE_REPLACED, 'replaced by a newer connection of this peer');
    }
    conn.peerId = peerId;
    byPeerId.set(peerId, conn);
    send(conn, { type: 'welcome', peerId });
  }

  async function onAnnounce(conn: Connection, msg: Extract<ClientMessage, { type: 'announce' }>): Promise<void> {
    if (!conn.announces.take(now())) {
      strike(conn, 'rate-limited', `at most ${config.announceRatePerSec} announces per second`, msg);
      return;
    }
    if (conn.peerId !== msg.peerId) {
      strike(conn, 'peer-id-mismatch', "announce with the peer ID of this connection's hello", msg);
      return;
    }
    if (!conn.swarms.has(msg.contentId)) {
      if (conn.swarms.size >= MAX_SWARMS_PER_SOCKET) {
        sendError(conn, 'too-many-swarms', `at most ${MAX_SWARMS_PER_SOCKET} contents per connection; leave one first`, msg);
        return;
      }
      if (!(await isPeerable(msg.contentId))) {
        sendError(conn, 'unknown-content', 'this server has no peerable content with this ID', msg);
        return;
      }
      if (conn.closed) return;
      if (!guard.admit(msg.contentId, conn.addressBucket, msg.peerId, now())) {
        sendError(conn, 'too-many-peer-ids', `at most ${config.newPeerIdsPerMinute} new peer IDs per minute from one address for one content`, msg);
        return;
      }
    }
    conn.swarms.add(msg.contentId);
    const scopeKey = scopeKeyOf(msg.report, conn.lanKey);
    if (deps.relay !== undefined) conn.lastAnnounce.set(msg.contentId, { scopeKey, report: msg.report });
    await registry.upsert(msg.contentId, scopeKey, msg.peerId, msg.report, now());
    const t = now();
    // A quarantined address's peers get nobody, and nobody gets them.
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
    send(conn, { type: 'peers', contentId: msg.contentId, peers, intervalMs: config.announceIntervalMs, origin: originOf(msg.contentId, conn.addressBucket) });
  }

  async function onSignal(conn: Connection, msg: Extract<ClientMessage, { type: 'signal' }>): Promise<void> {
    if (!conn.signals.take(now())) {
      strike(conn, 'rate-limited', `at most ${config.signalRatePerSec} signals per second`, msg);
      return;
    }
    const from = conn.peerId;
    const fromScope = from === undefined || !conn.swarms.has(msg.contentId) ? undefined : await registry.scopeOf(msg.contentId, from);
    if (from === undefined || fromScope === undefined) {
      sendError(conn, 'not-in-swarm', 'announce this content before signaling in its swarm', msg);
      return;
    }
    // A quarantined peer's signals go nowhere, and no signal goes to one: as if it did not exist.
    const t0 = now();
    if (guard.isQuarantined(msg.contentId, conn.addressBucket, t0) || guard.isQuarantinedPeer(msg.contentId, msg.to, t0)) {
      sendError(conn, 'unknown-peer', 'no such peer in this swarm', msg);
      return;
    }
    const target = byPeerId.get(msg.to);
    if ((target === undefined || target.closed) && deps.relay !== undefined) return relayRemote(conn, msg, from, fromScope, deps.relay);
    // A peer of another scope is answered exactly like a peer that does not exist.
    if (target === undefined || target.closed || target === conn || (await registry.scopeOf(msg.contentId, msg.to)) !== fromScope) {
      sendError(conn, 'unknown-peer', 'no such peer in this swarm', msg);
      return;
    }
    if (target.bans.get(msg.contentId)?.has(from)) {
      // The target banned the sender: it must not hear from it again through us.
      sendError(conn, 'unknown-peer', 'no such peer in this swarm', msg);
      return;
    }
    const t = now();
    if (!pairedOrRefused(conn, msg, from, t)) return;
    if (target.socket.bufferedAmount > MAX_TARGET_BUFFERED_BYTES) {
      sendError(conn, 'peer-busy', 'the peer is not reading its messages', msg);
      return;
    }
    if (msg.data.type === 'offer') offers.offered(from, msg.to, msg.contentId, t);
    send(target, { type: 'signal', contentId: msg.contentId, from, data: msg.data, origin: originOf(msg.contentId, conn.addressBucket) });
  }

  /**
   * The sender's side of the offer rule: an answer only to a peer whose offer we relayed to the
   * sender (a strike otherwise), candidates only within such a pair. False (and the sender told)
   * when refused.
   */
  function pairedOrRefused(conn: Connection, msg: Extract<ClientMessage, { type: 'signal' }>, from: string, t: number): boolean {
    const kind = msg.data.type;
    if (kind === 'answer' && !offers.mayAnswer(from, msg.to, msg.contentId, t)) {
      strike(conn, 'unsolicited-answer', 'answer only an offer this peer sent you', msg);
      return false;
    }
    if ((kind === 'candidate' || kind === 'renegotiate') && !offers.paired(from, msg.to, msg.contentId, t)) {
      sendError(conn, 'unsolicited-signal', 'candidates go only to a peer with an offer in flight', msg);
      return false;
    }
    return true;
  }

  /** `onSignal` for a target with no socket here: through the target's instance, same checks. */
  async function relayRemote(
    conn: Connection,
    msg: Extract<ClientMessage, { type: 'signal' }>,
    from: string,
    fromScope: string,
    relay: ArraysRelay,
  ): Promise<void> {
    const where = await relay.locate(msg.contentId, msg.to);
    if (where === undefined || where.instanceId === relay.instanceId || where.scopeKey !== fromScope) {
      sendError(conn, 'unknown-peer', 'no such peer in this swarm', msg);
      return;
    }
    const t = now();
    // The target's instance recorded the offer when it delivered it, this one when it sent it:
    // each side checks answers and candidates against its own tracker.
    if (!pairedOrRefused(conn, msg, from, t)) return;
    // Recorded before publishing: the answer may come back before the publish's reply.
    if (msg.data.type === 'offer') offers.offered(from, msg.to, msg.contentId, t);
    const origin = originOf(msg.contentId, conn.addressBucket);
    const delivered = await relay.publish(where.instanceId, { contentId: msg.contentId, from, to: msg.to, fromScope, data: msg.data, origin });
    if (!delivered) sendError(conn, 'unknown-peer', 'no such peer in this swarm', msg);
  }

  /**
   * A signal from another instance for a local socket: the sender's instance checked the
   * sender; this side checks the target as a local relay does (member of that content in the
   * sender's partition, has not banned the sender, answers and candidates paired with an
   * offer, not busy). What fails is dropped (the sender's instance cannot be told in time).
   */
  async function deliverRemote(target: Connection, env: RelayEnvelope): Promise<void> {
    const drop = (why: string): void => log.debug({ from: env.from, to: env.to, why }, 'relayed signal dropped');
    if (target.closed || target.peerId !== env.to || !target.swarms.has(env.contentId)) return drop('not here');
    if ((await registry.scopeOf(env.contentId, env.to)) !== env.fromScope) return drop('scope');
    if (target.bans.get(env.contentId)?.has(env.from)) return drop('banned');
    const t = now();
    const kind = env.data.type;
    if (kind === 'answer' && !offers.mayAnswer(env.from, env.to, env.contentId, t)) return drop('unsolicited answer');
    if ((kind === 'candidate' || kind === 'renegotiate') && !offers.paired(env.from, env.to, env.contentId, t)) return drop('unsolicited');
    if (target.socket.bufferedAmount > MAX_TARGET_BUFFERED_BYTES) return drop('busy');
    if (kind === 'offer') offers.offered(env.from, env.to, env.contentId, t);
    send(target, { type: 'signal', contentId: env.contentId, from: env.from, data: env.data, origin: env.origin });
  }

  const stopListening = deps.relay?.listen((env) => {
    const target = byPeerId.get(env.to);
    if (target === undefined || target.closed) return;
    // On the target's queue: in order with its own frames and with earlier relayed signals.
    enqueue(target, () => deliverRemote(target, env));
  }, resync);

  /**
   * The shared registry is reachable again (it may have restarted empty): put this instance's
   * members back with their last announce, so that swarms come back at once rather than at
   * each peer's next announce. Bounded by sockets x MAX_SWARMS_PER_SOCKET.
   */
  function resync(): void {
    for (const conn of connections) {
      if (conn.peerId === undefined || conn.closed) continue;
      const peer = conn.peerId;
      enqueue(conn, async () => {
        for (const [contentId, { scopeKey, report }] of conn.lastAnnounce) {
          if (conn.closed || !conn.swarms.has(contentId)) continue;
          await registry.upsert(contentId, scopeKey, peer, report, now());
        }
      });
    }
  }

  function onBan(conn: Connection, msg: Extract<ClientMessage, { type: 'ban' }>): void {
    if (conn.peerId === undefined || !conn.swarms.has(msg.contentId)) {
      sendError(conn, 'not-in-swarm', 'announce this content before reporting bans in its swarm', msg);
      return;
    }
    let set = conn.bans.get(msg.contentId);
    if (set?.has(msg.peerId) === true || (set?.size ?? 0) >= LIMITS.maxBansPerSwarm) return;
    // Not a strike: a tab tells a restarted service every ban it holds at once.
    if (!conn.banReports.take(now())) return sendError(conn, 'rate-limited', `at most ${config.banRatePerSec} new bans per second`, msg);
    if (set === undefined) conn.bans.set(msg.contentId, (set = new Set()));
    set.add(msg.peerId);
    log.debug({ contentId: msg.contentId, by: conn.peerId, banned: msg.peerId }, 'peer banned by a peer');
    const quarantined = guard.reportBan(msg.contentId, conn.addressBucket, msg.peerId, now());
    if (quarantined !== undefined) log.info({ contentId: msg.contentId, address: quarantined }, 'address quarantined for a content: its peer IDs were banned by peers of other addresses');
  }

  async function onLeave(conn: Connection, msg: Extract<ClientMessage, { type: 'leave' }>): Promise<void> {
    if (conn.peerId === undefined || !conn.swarms.delete(msg.contentId)) return;
    conn.lastAnnounce.delete(msg.contentId);
    // Its bans for that swarm go with it (it tells them again if it comes back).
    conn.bans.delete(msg.contentId);
    await registry.remove(msg.contentId, conn.peerId);
  }

  async function handleFrame(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    if (conn.closed) return;
    if (isBinary) {
      strike(conn, 'bad-message', 'binary frames are not accepted; send JSON text');
      return;
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      strike(conn, 'bad-message', parsed.reason);
      return;
    }
    const msg = parsed.value;
    if (msg.type !== 'hello' && conn.peerId === undefined) return strike(conn, 'hello-first', 'say hello (with your peer secret) first', msg);
    try {
      switch (msg.type) {
        case 'hello':
          return onHello(conn, msg);
        case 'announce':
          return await onAnnounce(conn, msg);
        case 'signal':
          return await onSignal(conn, msg);
        case 'leave':
          return await onLeave(conn, msg);
        case 'ban':
          return onBan(conn, msg);
      }
    } catch (err) {
      // The registry (or the relay) failed: a shared store is down. Not the client's fault: no strike.
      log.warn({ err: (err as Error).message, peerId: conn.peerId, type: msg.type }, 'registry unavailable');
      sendError(conn, 'unavailable', 'the swarm registry is unavailable; try again later', msg);
    }
  }

  async function cleanup(conn: Connection): Promise<void> {
    const { peerId } = conn;
    if (peerId === undefined) return;
    const holder = byPeerId.get(peerId);
    if (holder === conn) byPeerId.delete(peerId);
    for (const contentId of conn.swarms) {
      // The peer reconnected and announced this content on its new socket: that entry is its now.
      if (holder !== undefined && holder !== conn && holder.swarms.has(contentId)) continue;
      await registry.remove(contentId, peerId);
    }
    conn.swarms.clear();
  }

  /** Runs `task` after every earlier task of this socket; logs (never rethrows) failures. */
  function enqueue(conn: Connection, task: () => Promise<void>): void {
    conn.pending++;
    conn.queue = conn.queue
      .then(task)
      .catch((err: unknown) => log.error({ err, peerId: conn.peerId }, 'arrays handler failed'))
      .finally(() => {
        conn.pending--;
      });
  }

  /** Serves one upgraded socket (any transport); the handlers are the transport's to call. */
  function attach(socket: ArraysSocket, address: string): ArraysSocketHandlers {
    const t = now();
    const conn: Connection = {
      socket,
      lanKey: lanKeyOf(address),
      addressBucket: addressBucketOf(address),
      announces: new TokenBucket(config.announceRatePerSec, config.announceBurst, t),
      signals: new TokenBucket(config.signalRatePerSec, config.signalBurst, t),
      banReports: new TokenBucket(config.banRatePerSec, config.banBurst, t),
      peerId: undefined,
      swarms: new Set(),
      lastAnnounce: new Map(),
      bans: new Map(),
      strikes: 0,
      queue: Promise.resolve(),
      pending: 0,
      closed: false,
      alive: true,
      onClosed: undefined,
    };
    connections.add(conn);
    perAddress.set(conn.addressBucket, (perAddress.get(conn.addressBucket) ?? 0) + 1);
    log.debug({ remote: address, lanKey: conn.lanKey, connections: connections.size }, 'connected');

    return {
      message(data, isBinary) {
        if (conn.closed) return;
        conn.alive = true;
        if (conn.pending >= MAX_PENDING_FRAMES) {
          conn.socket.close(CLOSE_POLICY, 'too many messages');
          return;
        }
        enqueue(conn, () => handleFrame(conn, data, isBinary));
      },
      pong() {
        conn.alive = true;
      },
      close() {
        if (conn.closed) return;
        conn.closed = true;
        connections.delete(conn);
        const open = (perAddress.get(conn.addressBucket) ?? 1) - 1;
        if (open > 0) perAddress.set(conn.addressBucket, open);
        else perAddress.delete(conn.addressBucket);
        enqueue(conn, () => cleanup(conn));
        conn.onClosed?.();
        log.debug({ peerId: conn.peerId, connections: connections.size }, 'disconnected');
      },
    };
  }

  function admit(req: UpgradeRequest): Admission {
    const address = addressOf(req);
    if (connections.size >= config.maxArraysSockets) {
      log.debug({ connections: connections.size }, 'refused: the Arrays service is full');
      return { ok: false, status: 503 };
    }
    if ((perAddress.get(addressBucketOf(address)) ?? 0) >= config.maxSocketsPerAddress) {
      log.debug({ remote: address }, 'refused: too many sockets from this address');
      return { ok: false, status: 429 };
    }
    return { ok: true, address };
  }

  const ws = createWsTransport({ admit, attach }, log);

  async function sweep(): Promise<void> {
    const removed = await registry.expire(now() - config.peerExpiryMs);
    for (const { contentId, peerId } of removed) {
      const conn = byPeerId.get(peerId);
      conn?.swarms.delete(contentId);
      conn?.bans.delete(contentId);
    }
    if (removed.length > 0) log.debug({ removed: removed.length }, 'expired silent peers');
    offers.sweep(now());
  }

  function heartbeat(): void {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }

  const sweepTimer = setInterval(() => {
    sweep().catch((err: unknown) => log.error({ err }, 'sweep failed'));
  }, Math.min(5000, Math.max(20, Math.floor(config.peerExpiryMs / 4))));
  sweepTimer.unref();
  const heartbeatTimer = setInterval(heartbeat, Math.max(1000, config.peerExpiryMs));
  heartbeatTimer.unref();

  return {
    handleUpgrade: ws.handleUpgrade,
    admit,
    attach,
    swarmSize: (contentId) => registry.swarmSize(contentId),
    get connections() {
      return connections.size;
    },
    async stats() {
      return { ...(await registry.stats()), connections: connections.size };
    },
    contentReports: () => registry.contentReports(),
    contentReport: (contentId) => registry.contentReport(contentId),
    async close() {
      stopListening?.();
      clearInterval(sweepTimer);
      clearInterval(heartbeatTimer);
      // Say goodbye (1001 tells clients to reconnect elsewhere or later), then cut the stragglers.
      const closing = [...connections].map(
        (conn) =>
          new Promise<void>((resolve) => {
            if (conn.closed) return resolve();
            conn.onClosed = resolve;
            conn.socket.close(CLOSE_GOING_AWAY, 'server shutting down');
          }),
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closing), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      for (const conn of connections) conn.socket.terminate();
      await ws.close();
    },
  };
}
