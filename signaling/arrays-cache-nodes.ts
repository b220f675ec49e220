/**
 * Cache nodes in the Arrays service (docs/cache-node.md; DO's Connected Cache): long-running
 * peers that join swarms their LAN or group announces, fill from peers and the CDN, and serve.
 *
 * - A `hello` with a `cacheKey` is compared in constant time (SHA-256 digests, timingSafeEqual
 *   against every configured key, no early exit) with `cacheNodeKeys`. A match makes the
 *   socket a cache node: `welcome` says `cache: true`, its members are listed first and
 *   flagged (swarm-registry.ts), its rates and swarm cap are those of a node holding
 *   `maxSwarmsPerCacheNode` swarms (config-limits.ts). No match (or no keys configured):
 *   `error` `cache-key-refused` and the socket is closed (1008); the refusal draws on the
 *   address's budget of CACHE_KEY_REFUSALS_PER_MINUTE, and while that is spent every cache
 *   hello from that address is refused without a comparison. A key is never logged.
 * - At most `maxCacheNodes` cache sockets at once (`too-many-cache-nodes`, closed 1008).
 * - `watch` (cache sockets only; from another, a strike): the socket is told of the contents
 *   peers newly join in that scope (`lan` is its own address's LAN). At most
 *   `maxWatchesPerCacheNode` scopes (`too-many-watches`); a repeat is one watch.
 * - `wanted`: when a non-cache peer's announce makes it a new member of a partition (content
 *   X, scope key S), each cache socket watching S that is not itself in that partition gets
 *   `wanted`, at most once per (socket, X, S) per `cacheWantedRepeatMs`. Watchers are indexed
 *   by scope key, so the cost is the number of watchers of S, never the number of sockets.
 *   With a relay (Redis scale-out), the instances where a cache node watches S are told too
 *   (redis-scale-out.ts), and deliver it under the same rule.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClientMessage, Report } from '../src/protocol/arrays-messages.js';
import { TokenBucket } from '../src/protocol/token-bucket.js';
import { MAX_SWARMS_PER_SOCKET } from './arrays-announce.js';
import { send, sendError, type Connection, type Connections } from './arrays-connections.js';
import type { ArraysRelay, WantedEnvelope } from './arrays.js';
import type { ServerConfig } from './config.js';
import { MAX_TARGET_BUFFERED_BYTES } from './relay-rule.js';
import { scopeKeyOf } from './swarm-registry.js';

/** Refused cache keys one address bucket may present per minute (and at once) before every cache hello from it is refused. */
export const CACHE_KEY_REFUSALS_PER_MINUTE = 10;
/** Address buckets whose refusals are remembered; the oldest are forgotten past it. */
const MAX_REFUSING_ADDRESSES = 10_000;
/** (content, scope) pairs one cache socket is remembered to have been told of; the oldest go first past it. */
export const MAX_WANTED_REMEMBERED = 4096;

export type CacheNodesConfig = Pick<
  ServerConfig,
  | 'cacheNodeKeys'
  | 'maxCacheNodes'
  | 'maxWatchesPerCacheNode'
  | 'cacheWantedRepeatMs'
  | 'maxSwarmsPerCacheNode'
  | 'announceRatePerSec'
  | 'announceBurst'
  | 'signalRatePerSec'
  | 'signalBurst'
  | 'banRatePerSec'
  | 'banBurst'
>;

/** What a cache socket holds besides a socket's usual state. */
export interface CacheNodeState {
  /** The scope keys it watches. */
  watches: Set<string>;
  /** When it was last told of each `contentId|scopeKey`, oldest first. */
  told: Map<string, number>;
}

export interface CacheNodesDeps {
  config: CacheNodesConfig;
  log: Logger;
  now: () => number;
  connections: Connections;
  relay: ArraysRelay | undefined;
}

/** Why a cache hello is refused: the error's code and text. */
export interface CacheRefusal {
  code: 'cache-key-refused' | 'too-many-cache-nodes';
  message: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export class CacheNodes {
  readonly #keys: Buffer[];
  /** Open cache sockets. */
  readonly #sockets = new Set<Connection>();
  /** Scope key → the cache sockets of this instance watching it. */
  readonly #watchers = new Map<string, Set<Connection>>();
  readonly #refusals = new Map<string, TokenBucket>();
  /** `wanted` messages sent so far (for metrics). */
  wantedSent = 0;

  constructor(private readonly d: CacheNodesDeps) {
    this.#keys = d.config.cacheNodeKeys.map(digest);
  }

  /** Cache sockets open now. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Whether `key` is one of the configured keys, in time independent of which one and where they differ. */
  #matches(key: string): boolean {
    const d = digest(key);
    let matched = false;
    for (const k of this.#keys) matched = timingSafeEqual(d, k) || matched;
    return matched;
  }

  /**
   * A hello's cache key: undefined if `conn` is now a cache node, else why not (the caller
   * answers and closes). `replacing`: the socket this hello takes the peer ID from, if any
   * (a cache node reconnecting: its old socket does not count against the cap).
   */
  admit(conn: Connection, key: string, replacing: Connection | undefined): CacheRefusal | undefined {
    const t = this.d.now();
    const budget = this.#refusalBudget(conn.addressBucket, t);
    if (!budget.hasToken(t) || !this.#matches(key)) {
      budget.take(t);
      this.d.log.debug({ address: conn.addressBucket }, 'cache key refused');
      return { code: 'cache-key-refused', message: 'this key does not make a cache node here' };
    }
    const open = this.#sockets.size - (replacing !== undefined && this.#sockets.has(replacing) ? 1 : 0);
    if (open >= this.d.config.maxCacheNodes) {
      return { code: 'too-many-cache-nodes', message: `at most ${this.d.config.maxCacheNodes} cache nodes at once; try again later` };
    }
    const c = this.d.config;
    // It holds as many swarms as `k` tabs' sockets: their rates, and a burst that lets it
    // re-announce every swarm at once when it reconnects.
    const k = Math.max(1, c.maxSwarmsPerCacheNode / MAX_SWARMS_PER_SOCKET);
    conn.announces = new TokenBucket(c.announceRatePerSec * k, c.announceBurst + c.maxSwarmsPerCacheNode, t);
    conn.signals = new TokenBucket(c.signalRatePerSec * k, c.signalBurst * k, t);
    conn.banReports = new TokenBucket(c.banRatePerSec * k, c.banBurst * k, t);
    conn.maxPending += c.maxSwarmsPerCacheNode;
    conn.cache = { watches: new Set(), told: new Map() };
    this.#sockets.add(conn);
    this.d.log.info({ peerId: conn.peerId, address: conn.addressBucket, cacheNodes: this.#sockets.size }, 'cache node connected');
    return undefined;
  }

  #refusalBudget(address: string, t: number): TokenBucket {
    let b = this.#refusals.get(address);
    if (b === undefined) b = new TokenBucket(CACHE_KEY_REFUSALS_PER_MINUTE / 60, CACHE_KEY_REFUSALS_PER_MINUTE, t);
    else this.#refusals.delete(address);
    this.#refusals.set(address, b);
    while (this.#refusals.size > MAX_REFUSING_ADDRESSES) this.#refusals.delete(this.#refusals.keys().next().value!);
    return b;
  }

  /** A cache socket closed: its watches and its place under the cap go at once. */
  release(conn: Connection): void {
    if (conn.cache === undefined || !this.#sockets.delete(conn)) return;
    for (const scopeKey of conn.cache.watches) {
      const set = this.#watchers.get(scopeKey);
      set?.delete(conn);
      if (set?.size === 0) {
        this.#watchers.delete(scopeKey);
        this.d.relay?.watching(scopeKey, false);
      }
    }
    conn.cache.watches.clear();
    conn.cache.told.clear();
    this.d.log.info({ peerId: conn.peerId, cacheNodes: this.#sockets.size }, 'cache node disconnected');
  }

  watch(conn: Connection, msg: Extract<ClientMessage, { type: 'watch' }>): void {
    if (conn.cache === undefined) {
      return this.d.connections.strike(conn, 'not-a-cache-node', 'only a cache node (a hello with a configured cacheKey) may watch', msg);
    }
    const scopeKey = scopeKeyOf(msg, conn.lanKey);
    if (conn.cache.watches.has(scopeKey)) return;
    if (conn.cache.watches.size >= this.d.config.maxWatchesPerCacheNode) {
      return sendError(conn, 'too-many-watches', `at most ${this.d.config.maxWatchesPerCacheNode} watches per cache node`, msg);
    }
    conn.cache.watches.add(scopeKey);
    let set = this.#watchers.get(scopeKey);
    if (set === undefined) {
      this.#watchers.set(scopeKey, (set = new Set()));
      this.d.relay?.watching(scopeKey, true);
    }
    set.add(conn);
  }

  /**
   * A non-cache peer became a member of partition `scopeKey` of `contentId`: its watchers here
   * are told, and (scale-out) the other instances with watchers of that scope. Never throws;
   * the other instances are told in the background.
   */
  joined(contentId: string, scopeKey: string, report: Pick<Report, 'mode' | 'group'>): void {
    const env: WantedEnvelope = { contentId, scopeKey, mode: report.mode, ...(report.group !== undefined ? { group: report.group } : {}) };
    this.deliver(env);
    const relay = this.d.relay;
    if (relay === undefined) return;
    void (async () => {
      for (const instanceId of await relay.watchersOf(scopeKey)) {
        if (instanceId !== relay.instanceId) await relay.publishWanted(instanceId, env);
      }
    })().catch((err: unknown) => this.d.log.debug({ err: (err as Error).message, scopeKey }, 'wanted not relayed to other instances'));
  }

  /** Tells this instance's watchers of `env.scopeKey` that are not in that partition, under the repeat rule. */
  deliver(env: WantedEnvelope): void {
    const watchers = this.#watchers.get(env.scopeKey);
    if (watchers === undefined) return;
    const t = this.d.now();
    const key = `${env.contentId}|${env.scopeKey}`;
    for (const conn of watchers) {
      const state = conn.cache;
      if (conn.closed || state === undefined) continue;
      if (conn.swarms.has(env.contentId) && conn.scopes.get(env.contentId) === env.scopeKey) continue;
      const last = state.told.get(key);
      if (last !== undefined && t - last < this.d.config.cacheWantedRepeatMs) continue;
      // Not reading its messages: skipped, and told again at the next join.
      if (conn.socket.bufferedAmount > MAX_TARGET_BUFFERED_BYTES) continue;
      state.told.delete(key);
      state.told.set(key, t);
      while (state.told.size > MAX_WANTED_REMEMBERED) state.told.delete(state.told.keys().next().value!);
      send(conn, { type: 'wanted', contentId: env.contentId, mode: env.mode, ...(env.group !== undefined ? { group: env.group } : {}) });
      this.wantedSent++;
    }
  }
}
