/**
 * The Arrays service (DO's peer list), plus the WebRTC signaling relay, on WebSocket `/arrays`.
 *
 * Four parts, composed here: connections (arrays-connections.ts: admission, queues, hello,
 * heartbeats), membership (arrays-announce.ts: announce, ban, leave), the signal relay
 * (arrays-relay.ts, one rule for local and cross-instance targets: relay-rule.ts) and cache
 * nodes (arrays-cache-nodes.ts: the cache key in hello, watch, wanted).
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
 * - Cache nodes (docs/cache-node.md): a hello with a configured `cacheKey` makes the socket a
 *   cache node (`welcome` `cache: true`; listed first and flagged in `peers`; it may `watch`
 *   scopes and is sent `wanted` when a peer newly joins a swarm there); a key that is not
 *   configured is `cache-key-refused` and the socket closed. The rules: arrays-cache-nodes.ts.
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
import type { ClientMessage, DownloadMode, SignalData } from '../src/protocol/arrays-messages.js';
import { AddressGuard } from './address-guard.js';
import { createAnnounce } from './arrays-announce.js';
import { CacheNodes } from './arrays-cache-nodes.js';
import { Connections, sendError, type Connection } from './arrays-connections.js';
import { createSignalRelay } from './arrays-relay.js';
import type { ArraysDoor, UpgradeRequest } from './arrays-socket.js';
import { createWsTransport } from './arrays-ws.js';
import type { ServerConfig } from './config.js';
import type { ContentReport } from './content-report.js';
import { remoteAddressOf } from './lan-key.js';
import { OfferTracker } from './offer-tracker.js';
import { originTagger } from './origin-tag.js';
import { MemorySwarmRegistry, type SwarmRegistry, type SwarmStats } from './swarm-registry.js';

export { CLOSE_REPLACED, MAX_STRIKES } from './arrays-connections.js';
export { MAX_SWARMS_PER_SOCKET } from './arrays-announce.js';

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
  | 'cacheNodeKeys'
  | 'maxCacheNodes'
  | 'maxWatchesPerCacheNode'
  | 'cacheWantedRepeatMs'
  | 'maxSwarmsPerCacheNode'
>;

export interface ArraysService extends ArraysDoor {
  /** Completes a WebSocket upgrade for `/arrays` with `ws` (the caller checks the path). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Members of the swarm of `contentId`. */
  swarmSize(contentId: string): Promise<number>;
  /** Open WebSocket connections. */
  readonly connections: number;
  /** Open cache-node sockets (arrays-cache-nodes.ts). */
  readonly cacheNodes: number;
  /** `wanted` messages sent to cache nodes since this service started. */
  readonly wantedSent: number;
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
 * A peer newly joined partition `scopeKey` of `contentId` (mode and group as it announced):
 * what the instances with a cache node watching that scope are told (arrays-cache-nodes.ts).
 */
export interface WantedEnvelope {
  contentId: string;
  scopeKey: string;
  mode: DownloadMode;
  group?: string;
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
  listen(handler: (env: RelayEnvelope) => void, resync?: () => void, wanted?: (env: WantedEnvelope) => void): () => void;
  /** A cache node on this instance now watches `scopeKey` (true), or the last one stopped (false). */
  watching(scopeKey: string, on: boolean): void;
  /** The live instances (this one included, if so) with a cache node watching `scopeKey`. */
  watchersOf(scopeKey: string): Promise<string[]>;
  /** Tells that instance of a join in a scope its cache nodes watch. */
  publishWanted(instanceId: string, env: WantedEnvelope): Promise<void>;
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
  const offers = new OfferTracker(config.offerTtlMs);
  const guard = new AddressGuard(config);
  const originOf = originTagger(deps.relay?.originKey);
  const connections: Connections = new Connections({
    config,
    log,
    now,
    addressOf: deps.addressOf ?? ((req: UpgradeRequest) => remoteAddressOf(req, config.trustProxy)),
    handle,
    closed: (conn) => membership.forget(conn),
    cacheNodes: { admit: (conn, key, replacing) => cacheNodes.admit(conn, key, replacing), release: (conn) => cacheNodes.release(conn) },
  });
  const cacheNodes = new CacheNodes({ config, log, now, connections, relay: deps.relay });
  const common = { log, now, registry, guard, connections, originOf };
  const membership = createAnnounce({
    ...common,
    config,
    isPeerable: deps.isPeerable ?? (async () => true),
    keepLastAnnounce: deps.relay !== undefined,
    joined: (contentId, scopeKey, report) => cacheNodes.joined(contentId, scopeKey, report),
  });
  const relay = createSignalRelay({ ...common, config, offers, relay: deps.relay, cacheNodes });
  const stopListening = relay.listen();

  async function handle(conn: Connection, msg: Exclude<ClientMessage, { type: 'hello' }>): Promise<void> {
    try {
      switch (msg.type) {
        case 'announce':
          return await membership.announce(conn, msg);
        case 'signal':
          return await relay.signal(conn, msg);
        case 'leave':
          return await membership.leave(conn, msg);
        case 'ban':
          return membership.ban(conn, msg);
        case 'watch':
          return cacheNodes.watch(conn, msg);
      }
    } catch (err) {
      // The registry (or the relay) failed: a shared store is down. Not the client's fault: no strike.
      log.warn({ err: (err as Error).message, peerId: conn.peerId, type: msg.type }, 'registry unavailable');
      sendError(conn, 'unavailable', 'the swarm registry is unavailable; try again later', msg);
    }
  }

  const ws = createWsTransport({ admit: connections.admit, attach: connections.attach }, log);

  async function sweep(): Promise<void> {
    const removed = await membership.expire(now() - config.peerExpiryMs);
    if (removed > 0) log.debug({ removed }, 'expired silent peers');
    offers.sweep(now());
  }

  const sweepTimer = setInterval(() => {
    sweep().catch((err: unknown) => log.error({ err }, 'sweep failed'));
  }, Math.min(5000, Math.max(20, Math.floor(config.peerExpiryMs / 4))));
  sweepTimer.unref();
  const heartbeatTimer = setInterval(() => connections.heartbeat(), Math.max(1000, config.peerExpiryMs));
  heartbeatTimer.unref();

  return {
    handleUpgrade: ws.handleUpgrade,
    admit: connections.admit,
    attach: connections.attach,
    swarmSize: (contentId) => registry.swarmSize(contentId),
    get connections() {
      return connections.size;
    },
    get cacheNodes() {
      return cacheNodes.size;
    },
    get wantedSent() {
      return cacheNodes.wantedSent;
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
      await connections.closeAll();
      await ws.close();
    },
  };
}
