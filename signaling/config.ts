/**
 * Server configuration: one default object, merged from a `Partial<ServerConfig>` given by the
 * caller (tests) or read from `TABSWARM_*` environment variables (the run command).
 * Each component takes only the `Pick<ServerConfig, ...>` it uses.
 */
import { randomBytes } from 'node:crypto';
import { CACHE_KEY_RE } from '../src/protocol/arrays-messages.js';
import { ICE_TRANSPORT_POLICIES, iceServersSchema, INSTANCE_ID_RE, MAX_CACHE_NODES, type IceServer, type IceTransportPolicy } from '../src/protocol/bootstrap.js';
import { LIMITS } from '../src/protocol/limits.js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './config-limits.js';

export { DEFAULT_SERVER_LIMITS, type ServerLimits } from './config-limits.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ServerConfig extends ServerLimits {
  /**
   * TCP port of the HTTP + WebSocket server; 0 picks a free port (read it from the handle).
   * @default 8080
   */
  port: number;
  /**
   * Address to bind.
   * @default '0.0.0.0'
   */
  host: string;
  /**
   * A port of its own for the Arrays service on uWebSockets (signaling/arrays-uws.ts), for
   * many thousands of peers per instance: about 0.5 KiB of server memory per connected peer
   * instead of about 8 KiB with `ws` on the HTTP port. Plain-HTTP clients are sent there by
   * Bootstrap and Discovery; `/arrays` on `port` keeps working. 0 picks a free port
   * (`TABSWARM_ARRAYS_PORT`).
   * @default undefined (the Arrays service only on `port`, with `ws`)
   */
  arraysPort: number | undefined;
  /**
   * Published content: `meta/<contentId>.json` and `files/<contentId>`.
   * @default './content'
   */
  contentDir: string;
  /**
   * Base URL of the CDN origin put in content policies (`<base>/<contentId>/<name>`).
   * Unset means this server's own `/cdn`, given as a relative URL.
   * @default undefined
   */
  cdnBaseUrl: string | undefined;
  /**
   * Size in bytes of the demo file written when the content directory holds no valid content.
   * 0 disables the demo.
   * @default 67108864 (64 MiB)
   */
  demoSize: number;
  /**
   * The built web app (`vite build` output), served as a single-page app.
   * @default './dist/app'
   */
  appDir: string;
  /**
   * The built library (`npm run build:lib`: tabswarm.js, its workers and types), served at
   * `/lib/`, so that pages (the embedding example at `/examples/`) import it as a site would.
   * @default './dist/lib'
   */
  libDir: string;
  /**
   * Example pages of the embeddable library, served at `/examples/` (`examples/embed.html`).
   * @default './examples'
   */
  examplesDir: string;
  /**
   * How often clients are told to announce again (ms); sent as `intervalMs` in `peers` replies.
   * @default 15000
   */
  announceIntervalMs: number;
  /**
   * A peer that has not announced for this long is dropped from its swarm (ms).
   * @default 45000 (three missed announces)
   */
  peerExpiryMs: number;
  /**
   * Most peers in one `peers` reply; capped at `LIMITS.maxPeersPerReply`.
   * @default 20
   */
  maxPeersPerReply: number;
  /**
   * Whether the server sits behind a trusted reverse proxy: if true, the client address (for
   * LAN scope and the per-address cap) is the last `X-Forwarded-For` entry, else the socket's.
   * @default false
   */
  trustProxy: boolean;
  /**
   * Bytes per second each CDN response is limited to; 0 means unlimited. For benchmarks and
   * demos that show a slow CDN (`TABSWARM_CDN_RATE`).
   * @default 0
   */
  cdnRateBytesPerSec: number;
  /**
   * Pino log level.
   * @default 'info'
   */
  logLevel: LogLevel;
  /**
   * STUN/TURN servers handed to clients by `GET /api/bootstrap` (`TABSWARM_ICE_SERVERS`, a JSON
   * array of RTCIceServer). None are needed on one LAN.
   * @default []
   */
  iceServers: IceServer[];
  /**
   * Handed to clients with the ICE servers (`TABSWARM_ICE_TRANSPORT_POLICY`): 'relay' makes
   * every peer connection use TURN-relayed candidates only, so peers never see each other's
   * addresses and all peer traffic crosses your TURN server (its bandwidth is then the swarm's).
   * 'relay' needs a turn: or turns: server in `iceServers`. A page's own `iceTransportPolicy`
   * client option wins over it.
   * @default 'all'
   */
  iceTransportPolicy: IceTransportPolicy;
  /**
   * The server's public base URL (`https://swarm.example.com`), for the Arrays URL in Discovery
   * replies. Unset means derived from each request's Host header (`TABSWARM_PUBLIC_URL`).
   * @default undefined
   */
  publicUrl: string | undefined;
  /**
   * This instance's ID in bootstrap and Discovery replies (`TABSWARM_INSTANCE_ID`).
   * @default random per process
   */
  instanceId: string;
  /**
   * Redis URL (`redis://host:6379/0`) for scale-out: several instances share the swarm
   * registry and relay signals through Redis pub/sub (`TABSWARM_REDIS_URL`). Unset keeps the
   * registry in memory (one process).
   * @default undefined
   */
  redisUrl: string | undefined;
  /**
   * Prefix of every Redis key and channel (`TABSWARM_REDIS_PREFIX`); tests use their own.
   * @default 'tabswarm:'
   */
  redisKeyPrefix: string;
  /**
   * The bearer token that `/metrics` and `/api/swarms` ask for (`TABSWARM_METRICS_TOKEN`).
   * Unset: they answer only clients on this machine (loopback socket address, and never
   * behind `trustProxy`), 404 to anyone else.
   * @default undefined
   */
  metricsToken: string | undefined;
  /**
   * Serve HTTPS with a certificate the server makes for itself (`TABSWARM_TLS=auto`): self-signed,
   * for `localhost`, this machine's name, 127.0.0.1, ::1 and its LAN addresses, kept in
   * `<contentDir>/tls/` so its fingerprint stays the same across restarts (a new one is made
   * when the LAN addresses change or it is within 30 days of expiry). Browsers warn once per
   * device; after that the page is a secure context (WebCrypto, which every check needs).
   * @default false
   */
  tlsAuto: boolean;
  /**
   * Serve HTTPS with this PEM certificate (chain) and `tlsKeyFile` (`TABSWARM_TLS_CERT`,
   * `TABSWARM_TLS_KEY`): both or neither, and not with `tlsAuto`.
   * @default undefined (plain HTTP, unless `tlsAuto`)
   */
  tlsCertFile: string | undefined;
  /** The PEM private key of `tlsCertFile`. @default undefined */
  tlsKeyFile: string | undefined;
  /**
   * The keys that make an Arrays socket a cache node (docs/cache-node.md) when its `hello`
   * carries one (`TABSWARM_CACHE_NODE_KEYS`, comma-separated; each 16-128 of [A-Za-z0-9_-],
   * CACHE_KEY_RE). A cache node is listed to peers first and with `cache: true`, and may
   * `watch` scopes to be told of the contents peers announce there. Secrets: never logged.
   * @default [] (no socket can be a cache node)
   */
  cacheNodeKeys: string[];
  /**
   * Cache nodes named by address (`TABSWARM_CACHE_NODES`, comma-separated ws: or wss: URLs of
   * their Arrays services, at most MAX_CACHE_NODES), handed to clients in `GET /api/bootstrap`
   * as `cacheNodes`.
   * @default [] (the bootstrap document names none)
   */
  cacheNodes: string[];
}

export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = Object.freeze({
  ...DEFAULT_SERVER_LIMITS,
  port: 8080,
  host: '0.0.0.0',
  arraysPort: undefined,
  contentDir: './content',
  cdnBaseUrl: undefined,
  cdnRateBytesPerSec: 0,
  demoSize: 64 * 1024 * 1024,
  appDir: './dist/app',
  libDir: './dist/lib',
  examplesDir: './examples',
  announceIntervalMs: 15_000,
  peerExpiryMs: 45_000,
  maxPeersPerReply: 20,
  trustProxy: false,
  logLevel: 'info',
  iceServers: [],
  iceTransportPolicy: 'all',
  publicUrl: undefined,
  instanceId: randomBytes(8).toString('hex'),
  redisUrl: undefined,
  redisKeyPrefix: 'tabswarm:',
  metricsToken: undefined,
  tlsAuto: false,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  cacheNodeKeys: [],
  cacheNodes: [],
});

/** Bounds of `intervalMs` in the `peers` message schema. */
const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 3_600_000;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Merges `overrides` over the defaults and checks the result. `undefined` values in
 * `overrides` keep the default. Throws `ConfigError` for values that cannot work.
 */
export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const c: ServerConfig = { ...DEFAULT_SERVER_CONFIG, ...defined };
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) throw new ConfigError(`port must be 0-65535, got ${c.port}`);
  if (c.arraysPort !== undefined && (!Number.isInteger(c.arraysPort) || c.arraysPort < 0 || c.arraysPort > 65535)) {
    throw new ConfigError(`arraysPort (TABSWARM_ARRAYS_PORT) must be 0-65535, got ${c.arraysPort}`);
  }
  if (!Number.isSafeInteger(c.demoSize) || c.demoSize < 0 || c.demoSize > LIMITS.maxFileSize) {
    throw new ConfigError(`demoSize must be 0-${LIMITS.maxFileSize} bytes, got ${c.demoSize}`);
  }
  if (!Number.isFinite(c.announceIntervalMs) || c.announceIntervalMs <= 0) {
    throw new ConfigError(`announceIntervalMs must be positive, got ${c.announceIntervalMs}`);
  }
  c.announceIntervalMs = Math.round(Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, c.announceIntervalMs)));
  if (!Number.isFinite(c.peerExpiryMs) || c.peerExpiryMs <= 0) throw new ConfigError(`peerExpiryMs must be positive, got ${c.peerExpiryMs}`);
  if (!Number.isInteger(c.maxPeersPerReply) || c.maxPeersPerReply < 0) {
    throw new ConfigError(`maxPeersPerReply must be a non-negative integer, got ${c.maxPeersPerReply}`);
  }
  c.maxPeersPerReply = Math.min(c.maxPeersPerReply, LIMITS.maxPeersPerReply);
  for (const key of [
    'announceRatePerSec',
    'announceBurst',
    'signalRatePerSec',
    'signalBurst',
    'maxSocketsPerAddress',
    'offerTtlMs',
    'newPeerIdsPerMinute',
    'newPeerIdsBurst',
    'quarantineBannedIds',
    'quarantineReporters',
    'quarantineMs',
  ] as const) {
    if (!Number.isFinite(c[key]) || c[key] <= 0) throw new ConfigError(`${key} must be positive, got ${c[key]}`);
  }
  if (typeof c.trustProxy !== 'boolean') throw new ConfigError(`trustProxy must be a boolean, got ${String(c.trustProxy)}`);
  if (!LOG_LEVELS.includes(c.logLevel)) throw new ConfigError(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${String(c.logLevel)}`);
  if (!Number.isFinite(c.cdnRateBytesPerSec) || c.cdnRateBytesPerSec < 0) {
    throw new ConfigError(`cdnRateBytesPerSec must be a non-negative number, got ${c.cdnRateBytesPerSec}`);
  }
  if (c.cdnBaseUrl !== undefined) c.cdnBaseUrl = c.cdnBaseUrl.replace(/\/+$/, '');
  const ice = iceServersSchema.safeParse(c.iceServers);
  if (!ice.success) {
    const issue = ice.error.issues[0];
    throw new ConfigError(`iceServers (TABSWARM_ICE_SERVERS) is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'bad value'}`);
  }
  c.iceServers = ice.data;
  if (!ICE_TRANSPORT_POLICIES.includes(c.iceTransportPolicy)) {
    throw new ConfigError(`iceTransportPolicy (TABSWARM_ICE_TRANSPORT_POLICY) must be ${ICE_TRANSPORT_POLICIES.join(' or ')}, got "${String(c.iceTransportPolicy)}"`);
  }
  if (c.iceTransportPolicy === 'relay' && !c.iceServers.some((s) => (typeof s.urls === 'string' ? [s.urls] : s.urls).some((u) => u.startsWith('turn')))) {
    throw new ConfigError('iceTransportPolicy relay (TABSWARM_ICE_TRANSPORT_POLICY) needs a turn: or turns: server in TABSWARM_ICE_SERVERS: peers could never connect');
  }
  if (c.publicUrl !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(c.publicUrl);
    } catch {
      u = undefined;
    }
    if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '' || u.hash !== '') {
      throw new ConfigError(`publicUrl (TABSWARM_PUBLIC_URL) must be an http: or https: URL without query, got "${c.publicUrl}"`);
    }
    c.publicUrl = c.publicUrl.replace(/\/+$/, '');
  }
  if (typeof c.instanceId !== 'string' || !INSTANCE_ID_RE.test(c.instanceId)) {
    throw new ConfigError(`instanceId (TABSWARM_INSTANCE_ID) must be 1-64 of [A-Za-z0-9_.-], got "${String(c.instanceId)}"`);
  }
  if (c.redisUrl !== undefined && !/^rediss?:\/\//.test(c.redisUrl)) {
    throw new ConfigError(`redisUrl (TABSWARM_REDIS_URL) must be a redis:// or rediss:// URL, got "${c.redisUrl.replace(/\/\/[^@]*@/, '//***@')}"`);
  }
  if (typeof c.redisKeyPrefix !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(c.redisKeyPrefix)) {
    throw new ConfigError(`redisKeyPrefix (TABSWARM_REDIS_PREFIX) must be 1-64 of [A-Za-z0-9_.:-], got "${String(c.redisKeyPrefix)}"`);
  }
  for (const key of [
    'shareRatePerMinute',
    'shareBurst',
    'joinCodeTtlMs',
    'httpHeadersTimeoutMs',
    'httpRequestTimeoutMs',
    'httpKeepAliveTimeoutMs',
    'httpSendTimeoutMs',
    'maxConnectionsPerAddress',
    'maxConnections',
    'cdnStreamsPerAddress',
    'cdnMaxStreams',
    'maxArraysSockets',
    'banRatePerSec',
    'banBurst',
    'metricsTopContents',
    'shareMaxMetadataBytes',
    'shareMaxTotal',
    'shareMaxTotalBytes',
    'shareMaxPerAddress',
    'shareMaxBytesPerAddress',
    'shareTtlMs',
    'joinRatePerMinute',
    'joinBurst',
    'joinFailuresPerMinute',
    'maxCacheNodes',
    'maxWatchesPerCacheNode',
    'cacheWantedRepeatMs',
    'maxSwarmsPerCacheNode',
  ] as const) {
    if (!Number.isFinite(c[key]) || c[key] <= 0) throw new ConfigError(`${key} must be positive, got ${c[key]}`);
  }
  checkCacheNodes(c);
  if (c.shareMaxMetadataBytes > LIMITS.maxMetadataBytes) {
    throw new ConfigError(`shareMaxMetadataBytes must be at most ${LIMITS.maxMetadataBytes}, got ${c.shareMaxMetadataBytes}`);
  }
  if (c.metricsToken !== undefined && (typeof c.metricsToken !== 'string' || c.metricsToken.length < 16)) {
    throw new ConfigError('metricsToken (TABSWARM_METRICS_TOKEN) must be at least 16 characters');
  }
  if (typeof c.tlsAuto !== 'boolean') throw new ConfigError(`tlsAuto must be a boolean, got ${String(c.tlsAuto)}`);
  if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) {
    throw new ConfigError('TABSWARM_TLS_CERT and TABSWARM_TLS_KEY go together: set both (PEM files) or neither');
  }
  if (c.tlsAuto && c.tlsCertFile !== undefined) {
    throw new ConfigError('set either TABSWARM_TLS=auto (a self-signed certificate) or TABSWARM_TLS_CERT and TABSWARM_TLS_KEY (your own), not both');
  }
  return c;
}

/** Checks the cache-node keys (never echoed: they are secrets) and the cache nodes' URLs. */
function checkCacheNodes(c: ServerConfig): void {
  if (!Array.isArray(c.cacheNodeKeys)) throw new ConfigError('cacheNodeKeys (TABSWARM_CACHE_NODE_KEYS) must be a list of keys');
  c.cacheNodeKeys.forEach((key, i) => {
    if (typeof key !== 'string' || !CACHE_KEY_RE.test(key)) {
      throw new ConfigError(`cache node key ${i + 1} of ${c.cacheNodeKeys.length} (TABSWARM_CACHE_NODE_KEYS) must be 16-128 of [A-Za-z0-9_-]`);
    }
  });
  c.cacheNodeKeys = [...new Set(c.cacheNodeKeys)];
  if (!Array.isArray(c.cacheNodes)) throw new ConfigError('cacheNodes (TABSWARM_CACHE_NODES) must be a list of URLs');
  if (c.cacheNodes.length > MAX_CACHE_NODES) throw new ConfigError(`cacheNodes (TABSWARM_CACHE_NODES) names at most ${MAX_CACHE_NODES} cache nodes, got ${c.cacheNodes.length}`);
  for (const url of c.cacheNodes) {
    let u: URL | undefined;
    try {
      u = typeof url === 'string' && url.length <= 2048 ? new URL(url) : undefined;
    } catch {
      u = undefined;
    }
    if (u === undefined || (u.protocol !== 'ws:' && u.protocol !== 'wss:') || !/^wss?:\/\//.test(url)) {
      throw new ConfigError(`cacheNodes (TABSWARM_CACHE_NODES) must be ws: or wss: URLs (a cache node's Arrays service), got "${String(url).slice(0, 200)}"`);
    }
  }
}

/** `TABSWARM_TLS`: auto (or on, true, 1) makes a certificate; off (false, 0) or unset: none. */
