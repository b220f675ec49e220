/**
 * Relaying `signal` messages (the WebRTC handshake) between members of a swarm: to a socket on
 * this instance, or through the target's instance when the server is scaled out (an
 * ArraysRelay, redis-scale-out.ts). Every path applies the one relay rule (relay-rule.ts).
 * Quarantined peers' signals go nowhere and none go to them.
 */
import type { Logger } from 'pino';
import type { ClientMessage } from '../src/protocol/arrays-messages.js';
import type { AddressGuard } from './address-guard.js';
import type { CacheNodes } from './arrays-cache-nodes.js';
import { send, sendError, type Connection, type Connections } from './arrays-connections.js';
import type { ArraysRelay, RelayEnvelope } from './arrays.js';
import type { ServerConfig } from './config.js';
import type { OfferTracker } from './offer-tracker.js';
import { relayVerdict, type RelayRefusal } from './relay-rule.js';
import type { SwarmRegistry } from './swarm-registry.js';

export interface SignalRelayDeps {
  config: Pick<ServerConfig, 'signalRatePerSec'>;
  log: Logger;
  now: () => number;
  registry: SwarmRegistry;
  guard: AddressGuard;
  connections: Connections;
  offers: OfferTracker;
  originOf: (contentId: string, addressBucket: string) => string;
  relay: ArraysRelay | undefined;
  /** Where `wanted` events from other instances go. */
  cacheNodes: Pick<CacheNodes, 'deliver'>;
}

type SignalMsg = Extract<ClientMessage, { type: 'signal' }>;

export function createSignalRelay(d: SignalRelayDeps) {
  const { registry, guard, connections, offers } = d;

  /** Tells the sender why its signal was refused: an answer no offer asked for is a strike. */
  function refuse(conn: Connection, why: RelayRefusal, msg: SignalMsg): void {
    if (why === 'unsolicited-answer') return connections.strike(conn, why, 'answer only an offer this peer sent you', msg);
    const text = {
      'unknown-peer': 'no such peer in this swarm',
      'unsolicited-signal': 'candidates go only to a peer with an offer in flight',
      'peer-busy': 'the peer is not reading its messages',
    }[why];
    sendError(conn, why, text, msg);
  }

  async function signal(conn: Connection, msg: SignalMsg): Promise<void> {
    if (!conn.signals.take(d.now())) return connections.strike(conn, 'rate-limited', `at most ${d.config.signalRatePerSec} signals per second`, msg);
    const from = conn.peerId;
    const fromScope = from === undefined || !conn.swarms.has(msg.contentId) ? undefined : await registry.scopeOf(msg.contentId, from);
    if (from === undefined || fromScope === undefined) return sendError(conn, 'not-in-swarm', 'announce this content before signaling in its swarm', msg);
    // A quarantined peer's signals go nowhere, and no signal goes to one: as if it did not exist.
    const t0 = d.now();
    if (guard.isQuarantined(msg.contentId, conn.addressBucket, t0) || guard.isQuarantinedPeer(msg.contentId, msg.to, t0)) return refuse(conn, 'unknown-peer', msg);
    const target = connections.byPeerId.get(msg.to);
    const here = target !== undefined && !target.closed;
    if (!here && d.relay !== undefined) return relayRemote(conn, msg, from, fromScope, d.relay);
    const targetScope = !here || target === conn ? undefined : await registry.scopeOf(msg.contentId, msg.to);
    const base = { contentId: msg.contentId, from, to: msg.to, kind: msg.data.type, fromScope, targetScope };
    const why = relayVerdict(offers, { ...base, targetBanned: target?.bans.get(msg.contentId)?.has(from) ?? false, targetBuffered: target?.socket.bufferedAmount ?? 0 }, d.now());
    if (why !== undefined) return refuse(conn, why, msg);
    send(target!, { type: 'signal', contentId: msg.contentId, from, data: msg.data, origin: d.originOf(msg.contentId, conn.addressBucket) });
  }

  /**
   * `signal` for a target with no socket here: through the target's instance. This side checks
   * the sender's half of the rule (the partition, answers and candidates against its own offer
   * tracker, which records the offer before publishing: the answer may come back before the
   * publish's reply); the target's instance checks the rest as it delivers.
   */
  async function relayRemote(conn: Connection, msg: SignalMsg, from: string, fromScope: string, relay: ArraysRelay): Promise<void> {
    const where = await relay.locate(msg.contentId, msg.to);
    const targetScope = where === undefined || where.instanceId === relay.instanceId ? undefined : where.scopeKey;
    const why = relayVerdict(offers, { contentId: msg.contentId, from, to: msg.to, kind: msg.data.type, fromScope, targetScope, targetBanned: false, targetBuffered: 0 }, d.now());
    if (why !== undefined) return refuse(conn, why, msg);
    const origin = d.originOf(msg.contentId, conn.addressBucket);
    const delivered = await relay.publish(where!.instanceId, { contentId: msg.contentId, from, to: msg.to, fromScope, data: msg.data, origin });
    if (!delivered) refuse(conn, 'unknown-peer', msg);
  }

  /**
   * A signal from another instance for a local socket: the sender's instance checked the
   * sender; this side applies the rule with the target's state. What fails is dropped (the
   * sender's instance cannot be told in time).
   */
  async function deliverRemote(target: Connection, env: RelayEnvelope): Promise<void> {
    const drop = (why: string): void => d.log.debug({ from: env.from, to: env.to, why }, 'relayed signal dropped');
    if (target.closed || target.peerId !== env.to || !target.swarms.has(env.contentId)) return drop('not here');
    const targetScope = await registry.scopeOf(env.contentId, env.to);
    const c = { contentId: env.contentId, from: env.from, to: env.to, kind: env.data.type, fromScope: env.fromScope, targetScope };
    const why = relayVerdict(offers, { ...c, targetBanned: target.bans.get(env.contentId)?.has(env.from) ?? false, targetBuffered: target.socket.bufferedAmount }, d.now());
    if (why !== undefined) return drop(why);
    send(target, { type: 'signal', contentId: env.contentId, from: env.from, data: env.data, origin: env.origin });
  }

  /**
   * The shared registry is reachable again (it may have restarted empty): put this instance's
   * members back with their last announce, so that swarms come back at once rather than at
   * each peer's next announce. Bounded by sockets x MAX_SWARMS_PER_SOCKET.
   */
  function resync(): void {
    for (const conn of connections.all) {
      if (conn.peerId === undefined || conn.closed) continue;
      const peer = conn.peerId;
      connections.enqueue(conn, async () => {
        for (const [contentId, { scopeKey, report }] of conn.lastAnnounce) {
          if (conn.closed || !conn.swarms.has(contentId)) continue;
          await registry.upsert(contentId, scopeKey, peer, report, d.now(), conn.cache !== undefined);
        }
      });
    }
  }

  /** Listens to the other instances (signals, and joins their cache nodes want to hear of); returns the function that stops it. */
  function listen(): (() => void) | undefined {
    return d.relay?.listen(
      (env) => {
        const target = connections.byPeerId.get(env.to);
        if (target === undefined || target.closed) return;
        // On the target's queue: in order with its own frames and with earlier relayed signals.
        connections.enqueue(target, () => deliverRemote(target, env));
      },
      resync,
      (env) => d.cacheNodes.deliver(env),
    );
  }

  return { signal, listen };
}
