/**
 * Server configuration: one default object, merged from a `Partial<ServerConfig>` given by the
 * caller (tests) or read from `TABSWARM_*` environment variables (the run command).
 * Each component takes only the `Pick<ServerConfig, ...>` it uses.
 */
import { randomBytes } from 'node:crypto';
import { iceServersSchema, INSTANCE_ID_RE, type IceServer } from '../src/protocol/bootstrap.js';
import { LIMITS } from '../src/protocol/limits.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ServerConfig {
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
   * Announces one socket may send per second (a token bucket refilled at this rate); more get
   * `error` `rate-limited` and a strike. A client announces every `announceIntervalMs`, plus a
   * few times when it starts.
   * @default 10
   */
  announceRatePerSec: number;
  /**
   * Announces one socket may send at once before the rate applies (the bucket's size).
   * @default 20
   */
  announceBurst: number;
  /**
   * Signals one socket may send per second (token bucket); more get `rate-limited` and a
   * strike. A WebRTC link costs an offer or answer and a handful of candidates.
   * @default 50
   */
  signalRatePerSec: number;
  /**
   * Signals one socket may send at once before the rate applies.
   * @default 100
   */
  signalBurst: number;
  /**
   * Open Arrays sockets per remote address (IPv4 address, or IPv6 /64); the upgrade of one
   * more is refused with HTTP 429. Tests and benchmarks open their browser contexts from
   * 127.0.0.1, a few tens at most.
   * @default 64
   */
  maxSocketsPerAddress: number;
  /**
   * An `answer` is relayed only to a peer whose `offer` the server relayed to the answering
   * peer within this time (ms); candidates only between peers with an offer relayed either
   * way within it.
   * @default 30000
   */
  offerTtlMs: number;
  /**
   * New peer IDs one remote address (IPv4 address or IPv6 /64) may bring into one content's
   * swarm per minute (a token bucket refilled at this rate; `TABSWARM_NEW_PEER_IDS_RATE`);
   * past it the announce gets `error` `too-many-peer-ids` and the peer stays out of the swarm.
   * A tab that reconnects with its own ID is not new. A class of 30 behind one NAT fits in
   * the burst.
   * @default 30
   */
  newPeerIdsPerMinute: number;
  /**
   * New peer IDs one address may bring into one swarm at once (`TABSWARM_NEW_PEER_IDS_BURST`).
   * @default 64
   */
  newPeerIdsBurst: number;
  /**
   * An address is quarantined for a content (its peers listed to no one, their signals relayed
   * to no one) when this many distinct peer IDs that announced from it were banned for that
   * content by peers of `quarantineReporters` other addresses, within `quarantineMs`
   * (`TABSWARM_QUARANTINE_BANNED_IDS`).
   * @default 3
   */
  quarantineBannedIds: number;
  /** Distinct reporting addresses needed for a quarantine (`TABSWARM_QUARANTINE_REPORTERS`). @default 2 */
  quarantineReporters: number;
  /**
   * How long a quarantine lasts, and the window over which ban reports add up
   * (`TABSWARM_QUARANTINE_MS`).
   * @default 1800000 (30 min)
   */
  quarantineMs: number;
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
   * Classroom sharing (`POST /api/share`, signaling/share-api.ts): shares one remote address may
   * make per minute (a token bucket refilled at this rate; `TABSWARM_SHARE_RATE`). More get 429.
   * @default 10
   */
  shareRatePerMinute: number;
  /**
   * Shares one remote address may make at once before the rate applies (`TABSWARM_SHARE_BURST`).
   * @default 10
   */
  shareBurst: number;
  /**
   * How long a join code resolves after it was made (ms; `TABSWARM_JOIN_CODE_TTL_MS`). The long
   * link of a share keeps working after that; only the short code and `/j/<code>` expire.
   * @default 86400000 (24 h)
   */
  joinCodeTtlMs: number;
  /**
   * Resource limits against anonymous clients (docs/security.md, "Limits"). Each is per remote
   * address (an IPv4 address or an IPv6 /64) and/or in total; past it that client is refused
   * and everyone else keeps being served.
   *
   * HTTP: time to receive a request's headers (`TABSWARM_HTTP_HEADERS_TIMEOUT_MS`); a slower
   * client's connection is closed (408).
   * @default 10000
   */
  httpHeadersTimeoutMs: number;
  /** Time to receive a whole request, body included (`TABSWARM_HTTP_REQUEST_TIMEOUT_MS`). @default 60000 */
  httpRequestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (`TABSWARM_HTTP_KEEPALIVE_TIMEOUT_MS`). @default 5000 */
  httpKeepAliveTimeoutMs: number;
  /**
   * A response (a /cdn download, say) whose reader takes nothing for this long is closed, as
   * nginx's `send_timeout` (`TABSWARM_HTTP_SEND_TIMEOUT_MS`).
   * @default 30000
   */
  httpSendTimeoutMs: number;
  /**
   * Open TCP connections from one address on the HTTP port, WebSocket ones included
   * (`TABSWARM_MAX_CONNECTIONS_PER_ADDRESS`); past it a new connection is closed at once. A
   * class of 30 browsers behind one NAT needs about 7 each.
   * @default 256
   */
  maxConnectionsPerAddress: number;
  /**
   * Open TCP connections on the HTTP port in total (`TABSWARM_MAX_CONNECTIONS`); lowered at
   * start to half the process's file-descriptor limit less a headroom of 256 (a download holds
   * its socket and its file), so that the server never runs out of descriptors.
   * @default 10000
   */
  maxConnections: number;
  /**
   * Responses the built-in CDN origin streams at once to one address bucket
   * (`TABSWARM_CDN_STREAMS_PER_ADDRESS`); past it 429. A browser asks 4-6 ranges at a time, so
   * a class behind one NAT needs a few dozen.
   * @default 64
   */
  cdnStreamsPerAddress: number;
  /**
   * Responses the built-in CDN origin streams at once in total (`TABSWARM_CDN_MAX_STREAMS`);
   * past it 503. Each one may hold up to the kernel's largest TCP send buffer (`tcp_wmem`'s
   * maximum, 4 MiB on Linux by default) whether its reader reads or not, so on Linux it is
   * lowered at start until those buffers fit in half of the kernel's TCP memory-pressure
   * threshold (`tcp_mem`): past that threshold every connection of the machine slows, the
   * legitimate ones too (cdn-streams.ts).
   * @default 256
   */
  cdnMaxStreams: number;
  /**
   * Open Arrays WebSockets in total, both transports (`TABSWARM_MAX_ARRAYS_SOCKETS`); past it
   * an upgrade is refused (HTTP 503).
   * @default 50000
   */
  maxArraysSockets: number;
  /**
   * `ban` messages one socket may send per second once its burst is spent
   * (`TABSWARM_BAN_RATE`); past it a ban is ignored and answered `rate-limited` (no strike: a
   * tab tells a restarted service all its bans at once).
   * @default 2
   */
  banRatePerSec: number;
  /** `ban` messages one socket may send at once (`TABSWARM_BAN_BURST`). @default 64 */
  banBurst: number;
  /**
   * The bearer token that `/metrics` and `/api/swarms` ask for (`TABSWARM_METRICS_TOKEN`).
   * Unset: they answer only clients on this machine (loopback socket address, and never
   * behind `trustProxy`), 404 to anyone else.
   * @default undefined
   */
  metricsToken: string | undefined;
  /**
   * Contents with series of their own in a scrape (`TABSWARM_METRICS_TOP_CONTENTS`), the
   * largest swarms; the rest are summed under `content_id="other"`, so a scrape stays small
   * whatever the number of swarms. Unlisted classroom shares never get a series of their own.
   * @default 50
   */
  metricsTopContents: number;
  /**
   * The largest metadata file `POST /api/share` accepts (`TABSWARM_SHARE_MAX_METADATA_BYTES`):
   * sized for a 64 GiB file in 1 MiB pieces. Larger gets 413.
   * @default 6291456 (6 MiB)
   */
  shareMaxMetadataBytes: number;
  /** Live shares in total (`TABSWARM_SHARE_MAX_TOTAL`); past it a new share gets 503, no one's is evicted. @default 10000 */
  shareMaxTotal: number;
  /** Bytes of share metadata on disk in total (`TABSWARM_SHARE_MAX_TOTAL_BYTES`); past it 503. @default 1073741824 (1 GiB) */
  shareMaxTotalBytes: number;
  /** Live shares of one address (`TABSWARM_SHARE_MAX_PER_ADDRESS`); past it 429. @default 20 */
  shareMaxPerAddress: number;
  /** Bytes of share metadata of one address (`TABSWARM_SHARE_MAX_BYTES_PER_ADDRESS`); past it 429. @default 67108864 (64 MiB) */
  shareMaxBytesPerAddress: number;
  /**
   * How long a share lives (`TABSWARM_SHARE_TTL_MS`): its metadata is deleted after it, or
   * earlier by its sharer (`DELETE /api/share/<contentId>` with the secret it got).
   * @default 86400000 (24 h)
   */
  shareTtlMs: number;
  /** Join-code lookups one address may make per minute once its burst is spent (`TABSWARM_JOIN_RATE`). @default 10 */
  joinRatePerMinute: number;
  /** Join-code lookups one address may make at once (`TABSWARM_JOIN_BURST`). @default 20 */
  joinBurst: number;
  /**
   * Failed join-code lookups per minute from all addresses together (`TABSWARM_JOIN_FAILURES_PER_MINUTE`);
   * past it lookups get 429 until the minute's budget refills (guessing from many addresses).
   * @default 600
   */
  joinFailuresPerMinute: number;
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
}

export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = Object.freeze({
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
  announceRatePerSec: 10,
  announceBurst: 20,
  signalRatePerSec: 50,
  signalBurst: 100,
  maxSocketsPerAddress: 64,
  offerTtlMs: 30_000,
  newPeerIdsPerMinute: 30,
  newPeerIdsBurst: 64,
  quarantineBannedIds: 3,
  quarantineReporters: 2,
  quarantineMs: 30 * 60 * 1000,
  trustProxy: false,
  logLevel: 'info',
  iceServers: [],
  publicUrl: undefined,
  instanceId: randomBytes(8).toString('hex'),
  redisUrl: undefined,
  redisKeyPrefix: 'tabswarm:',
  shareRatePerMinute: 10,
  shareBurst: 10,
  joinCodeTtlMs: 24 * 3600 * 1000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 60_000,
  httpKeepAliveTimeoutMs: 5_000,
  httpSendTimeoutMs: 30_000,
  maxConnectionsPerAddress: 256,
  maxConnections: 10_000,
  cdnStreamsPerAddress: 64,
  cdnMaxStreams: 256,
  maxArraysSockets: 50_000,
  banRatePerSec: 2,
  banBurst: 64,
  metricsToken: undefined,
  metricsTopContents: 50,
  shareMaxMetadataBytes: 6 * 1024 * 1024,
  shareMaxTotal: 10_000,
  shareMaxTotalBytes: 1024 * 1024 * 1024,
  shareMaxPerAddress: 20,
  shareMaxBytesPerAddress: 64 * 1024 * 1024,
  shareTtlMs: 24 * 3600 * 1000,
  joinRatePerMinute: 10,
  joinBurst: 20,
  joinFailuresPerMinute: 600,
  tlsAuto: false,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
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
  ] as const) {
    if (!Number.isFinite(c[key]) || c[key] <= 0) throw new ConfigError(`${key} must be positive, got ${c[key]}`);
  }
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

/** `TABSWARM_TLS`: auto (or on, true, 1) makes a certificate; off (false, 0) or unset: none. */
function tlsAutoFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const raw = env.TABSWARM_TLS?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'auto' || raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new ConfigError(`TABSWARM_TLS must be auto or off, got "${raw}"`);
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

function boolFromEnv(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ConfigError(`${name} must be true, false, 1 or 0, got "${raw}"`);
}

function jsonFromEnv(env: NodeJS.ProcessEnv, name: string): unknown {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw new ConfigError(`${name} must be JSON, got "${raw.slice(0, 80)}": ${(e as Error).message}`);
  }
}

function stringFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

/**
 * Reads the `TABSWARM_*` variables: PORT, HOST, ARRAYS_PORT, CONTENT_DIR, CDN_BASE_URL, DEMO_SIZE, APP_DIR,
 * ANNOUNCE_INTERVAL_MS, PEER_EXPIRY_MS, MAX_PEERS_PER_REPLY, ANNOUNCE_RATE, ANNOUNCE_BURST,
 * SIGNAL_RATE, SIGNAL_BURST, MAX_SOCKETS_PER_ADDRESS, OFFER_TTL_MS, NEW_PEER_IDS_RATE,
 * NEW_PEER_IDS_BURST, QUARANTINE_BANNED_IDS, QUARANTINE_REPORTERS, QUARANTINE_MS, TRUST_PROXY, LOG_LEVEL,
 * ICE_SERVERS (JSON), PUBLIC_URL, INSTANCE_ID, REDIS_URL, REDIS_PREFIX, SHARE_RATE, SHARE_BURST,
 * JOIN_CODE_TTL_MS, HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEPALIVE_TIMEOUT_MS,
 * HTTP_SEND_TIMEOUT_MS, MAX_CONNECTIONS_PER_ADDRESS, MAX_CONNECTIONS, MAX_ARRAYS_SOCKETS, BAN_RATE,
 * BAN_BURST, METRICS_TOKEN, METRICS_TOP_CONTENTS, SHARE_MAX_METADATA_BYTES, SHARE_MAX_TOTAL,
 * SHARE_MAX_TOTAL_BYTES, SHARE_MAX_PER_ADDRESS, SHARE_MAX_BYTES_PER_ADDRESS, SHARE_TTL_MS, JOIN_RATE,
 * JOIN_BURST, JOIN_FAILURES_PER_MINUTE, TLS (auto|off), TLS_CERT, TLS_KEY. Unset or empty
 * variables are left out, so `resolveConfig(configFromEnv())` falls back to the defaults.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<ServerConfig> {
  const logLevel = stringFromEnv(env, 'TABSWARM_LOG_LEVEL');
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new ConfigError(`TABSWARM_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    port: intFromEnv(env, 'TABSWARM_PORT'),
    host: stringFromEnv(env, 'TABSWARM_HOST'),
    arraysPort: intFromEnv(env, 'TABSWARM_ARRAYS_PORT'),
    contentDir: stringFromEnv(env, 'TABSWARM_CONTENT_DIR'),
    cdnBaseUrl: stringFromEnv(env, 'TABSWARM_CDN_BASE_URL'),
    cdnRateBytesPerSec: intFromEnv(env, 'TABSWARM_CDN_RATE'),
    demoSize: intFromEnv(env, 'TABSWARM_DEMO_SIZE'),
    appDir: stringFromEnv(env, 'TABSWARM_APP_DIR'),
    libDir: stringFromEnv(env, 'TABSWARM_LIB_DIR'),
    examplesDir: stringFromEnv(env, 'TABSWARM_EXAMPLES_DIR'),
    announceIntervalMs: intFromEnv(env, 'TABSWARM_ANNOUNCE_INTERVAL_MS'),
    peerExpiryMs: intFromEnv(env, 'TABSWARM_PEER_EXPIRY_MS'),
    maxPeersPerReply: intFromEnv(env, 'TABSWARM_MAX_PEERS_PER_REPLY'),
    announceRatePerSec: intFromEnv(env, 'TABSWARM_ANNOUNCE_RATE'),
    announceBurst: intFromEnv(env, 'TABSWARM_ANNOUNCE_BURST'),
    signalRatePerSec: intFromEnv(env, 'TABSWARM_SIGNAL_RATE'),
    signalBurst: intFromEnv(env, 'TABSWARM_SIGNAL_BURST'),
    maxSocketsPerAddress: intFromEnv(env, 'TABSWARM_MAX_SOCKETS_PER_ADDRESS'),
    offerTtlMs: intFromEnv(env, 'TABSWARM_OFFER_TTL_MS'),
    newPeerIdsPerMinute: intFromEnv(env, 'TABSWARM_NEW_PEER_IDS_RATE'),
    newPeerIdsBurst: intFromEnv(env, 'TABSWARM_NEW_PEER_IDS_BURST'),
    quarantineBannedIds: intFromEnv(env, 'TABSWARM_QUARANTINE_BANNED_IDS'),
    quarantineReporters: intFromEnv(env, 'TABSWARM_QUARANTINE_REPORTERS'),
    quarantineMs: intFromEnv(env, 'TABSWARM_QUARANTINE_MS'),
    trustProxy: boolFromEnv(env, 'TABSWARM_TRUST_PROXY'),
    logLevel: logLevel as LogLevel | undefined,
    // Checked against iceServersSchema by resolveConfig.
    iceServers: jsonFromEnv(env, 'TABSWARM_ICE_SERVERS') as IceServer[] | undefined,
    publicUrl: stringFromEnv(env, 'TABSWARM_PUBLIC_URL'),
    instanceId: stringFromEnv(env, 'TABSWARM_INSTANCE_ID'),
    redisUrl: stringFromEnv(env, 'TABSWARM_REDIS_URL'),
    redisKeyPrefix: stringFromEnv(env, 'TABSWARM_REDIS_PREFIX'),
    shareRatePerMinute: intFromEnv(env, 'TABSWARM_SHARE_RATE'),
    shareBurst: intFromEnv(env, 'TABSWARM_SHARE_BURST'),
    joinCodeTtlMs: intFromEnv(env, 'TABSWARM_JOIN_CODE_TTL_MS'),
    httpHeadersTimeoutMs: intFromEnv(env, 'TABSWARM_HTTP_HEADERS_TIMEOUT_MS'),
    httpRequestTimeoutMs: intFromEnv(env, 'TABSWARM_HTTP_REQUEST_TIMEOUT_MS'),
    httpKeepAliveTimeoutMs: intFromEnv(env, 'TABSWARM_HTTP_KEEPALIVE_TIMEOUT_MS'),
    httpSendTimeoutMs: intFromEnv(env, 'TABSWARM_HTTP_SEND_TIMEOUT_MS'),
    maxConnectionsPerAddress: intFromEnv(env, 'TABSWARM_MAX_CONNECTIONS_PER_ADDRESS'),
    maxConnections: intFromEnv(env, 'TABSWARM_MAX_CONNECTIONS'),
    cdnStreamsPerAddress: intFromEnv(env, 'TABSWARM_CDN_STREAMS_PER_ADDRESS'),
    cdnMaxStreams: intFromEnv(env, 'TABSWARM_CDN_MAX_STREAMS'),
    maxArraysSockets: intFromEnv(env, 'TABSWARM_MAX_ARRAYS_SOCKETS'),
    banRatePerSec: intFromEnv(env, 'TABSWARM_BAN_RATE'),
    banBurst: intFromEnv(env, 'TABSWARM_BAN_BURST'),
    metricsToken: stringFromEnv(env, 'TABSWARM_METRICS_TOKEN'),
    metricsTopContents: intFromEnv(env, 'TABSWARM_METRICS_TOP_CONTENTS'),
    shareMaxMetadataBytes: intFromEnv(env, 'TABSWARM_SHARE_MAX_METADATA_BYTES'),
    shareMaxTotal: intFromEnv(env, 'TABSWARM_SHARE_MAX_TOTAL'),
    shareMaxTotalBytes: intFromEnv(env, 'TABSWARM_SHARE_MAX_TOTAL_BYTES'),
    shareMaxPerAddress: intFromEnv(env, 'TABSWARM_SHARE_MAX_PER_ADDRESS'),
    shareMaxBytesPerAddress: intFromEnv(env, 'TABSWARM_SHARE_MAX_BYTES_PER_ADDRESS'),
    shareTtlMs: intFromEnv(env, 'TABSWARM_SHARE_TTL_MS'),
    joinRatePerMinute: intFromEnv(env, 'TABSWARM_JOIN_RATE'),
    joinBurst: intFromEnv(env, 'TABSWARM_JOIN_BURST'),
    joinFailuresPerMinute: intFromEnv(env, 'TABSWARM_JOIN_FAILURES_PER_MINUTE'),
    tlsAuto: tlsAutoFromEnv(env),
    tlsCertFile: stringFromEnv(env, 'TABSWARM_TLS_CERT'),
    tlsKeyFile: stringFromEnv(env, 'TABSWARM_TLS_KEY'),
  };
}
