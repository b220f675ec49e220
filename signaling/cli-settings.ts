/**
 * Every server setting as the `tabswarm serve` command takes it: a flag for each `TABSWARM_*`
 * variable (config-env.ts reads the variables, config.ts holds the defaults and checks the
 * values; this table only names them for the command line and its --help). A flag wins over
 * its variable. test/server/cli-settings.test.ts keeps the table and config-env.ts in step.
 */
import type { ServerConfig } from './config.js';

/** How a value is written: a number, a word, JSON, or a switch that takes no value. */
export type SettingKind = 'int' | 'string' | 'json' | 'switch';

export interface ServerSetting {
  /** The variable's name after `TABSWARM_`; the flag is its kebab-case (`ARRAYS_PORT` → `--arrays-port`). */
  name: string;
  /** The setting in ServerConfig whose default --help shows; undefined for the command's own (LOG_FORMAT). */
  key: keyof ServerConfig | undefined;
  kind: SettingKind;
  help: string;
}

const s = (name: string, key: keyof ServerConfig | undefined, kind: SettingKind, help: string): ServerSetting => ({ name, key, kind, help });

export const SERVER_SETTINGS: readonly ServerSetting[] = [
  // Where and what it serves.
  s('PORT', 'port', 'int', 'HTTP(S) port: the app, the API, the CDN origin and /arrays'),
  s('HOST', 'host', 'string', 'address to bind (0.0.0.0: every interface; 127.0.0.1 behind a proxy)'),
  s('CONTENT_DIR', 'contentDir', 'string', 'published contents (also the first argument of `serve`)'),
  s('DEMO_SIZE', 'demoSize', 'int', 'bytes of the demo file published into an empty content dir (0: none)'),
  s('APP_DIR', 'appDir', 'string', 'the built web app (default: the one in this package)'),
  s('LIB_DIR', 'libDir', 'string', 'the built library served at /lib (default: the one in this package)'),
  s('EXAMPLES_DIR', 'examplesDir', 'string', 'the example pages served at /examples (default: the ones in this package)'),
  s('CDN_BASE_URL', 'cdnBaseUrl', 'string', 'an external CDN that holds the same files (default: this server serves /cdn)'),
  s('CDN_RATE', 'cdnRateBytesPerSec', 'int', 'cap on /cdn bytes per second per response, for demos (0: none)'),
  s('PUBLIC_URL', 'publicUrl', 'string', 'the URL clients reach this instance at (default: from each request)'),
  s('TLS', 'tlsAuto', 'string', 'auto: HTTPS with a self-signed certificate made for this machine; off'),
  s('TLS_CERT', 'tlsCertFile', 'string', 'HTTPS with this PEM certificate (chain)'),
  s('TLS_KEY', 'tlsKeyFile', 'string', 'the PEM private key of --tls-cert'),
  s('TRUST_PROXY', 'trustProxy', 'switch', 'take the client address from X-Forwarded-For (only behind your proxy: docs/deploy.md)'),
  s('LOG_LEVEL', 'logLevel', 'string', 'fatal, error, warn, info, debug, trace or silent'),
  s('LOG_FORMAT', undefined, 'string', 'pretty or json (default: pretty on a terminal, json otherwise)'),
  // Peers and WebRTC.
  s('ICE_SERVERS', 'iceServers', 'json', 'STUN/TURN servers for clients, JSON: [{"urls":"turn:…","username":…,"credential":…}]'),
  s('ICE_TRANSPORT_POLICY', 'iceTransportPolicy', 'string', 'all, or relay: peers connect only through TURN'),
  s('ANNOUNCE_INTERVAL_MS', 'announceIntervalMs', 'int', 'how often peers announce'),
  s('PEER_EXPIRY_MS', 'peerExpiryMs', 'int', 'a peer that stops announcing is dropped after this'),
  s('MAX_PEERS_PER_REPLY', 'maxPeersPerReply', 'int', 'peers handed out per announce'),
  s('ARRAYS_PORT', 'arraysPort', 'int', 'a port of its own for the Arrays service on uWebSockets (Node 20 only: docs/services.md)'),
  // Cache nodes (docs/cache-node.md).
  s('CACHE_NODE_KEYS', 'cacheNodeKeys', 'string', 'keys that make a socket a cache node, comma-separated (secrets: prefer the variable to the flag)'),
  s('CACHE_NODES', 'cacheNodes', 'string', "cache nodes' Arrays URLs (ws:, wss:) named to clients by bootstrap, comma-separated"),
  s('MAX_CACHE_NODES', 'maxCacheNodes', 'int', 'cache nodes connected at once'),
  s('MAX_WATCHES_PER_CACHE_NODE', 'maxWatchesPerCacheNode', 'int', 'scopes one cache node may watch'),
  s('CACHE_WANTED_REPEAT_MS', 'cacheWantedRepeatMs', 'int', 'a cache node is told of one content in one scope at most once per this'),
  s('MAX_SWARMS_PER_CACHE_NODE', 'maxSwarmsPerCacheNode', 'int', "swarms one cache node's socket may be in (other sockets: 32)"),
  // Several instances.
  s('REDIS_URL', 'redisUrl', 'string', 'share swarms between instances through Redis (redis:// or rediss://)'),
  s('REDIS_PREFIX', 'redisKeyPrefix', 'string', 'prefix of every Redis key and channel'),
  s('INSTANCE_ID', 'instanceId', 'string', "this instance's ID (default: random at each start)"),
  s('METRICS_TOKEN', 'metricsToken', 'string', 'bearer token for /metrics and /api/swarms (at least 16 characters; unset: closed)'),
  s('METRICS_TOP_CONTENTS', 'metricsTopContents', 'int', 'contents with a metric series of their own'),
  // What one client may hold (docs/security.md).
  s('ANNOUNCE_RATE', 'announceRatePerSec', 'int', 'announces per second per socket'),
  s('ANNOUNCE_BURST', 'announceBurst', 'int', 'announce burst per socket'),
  s('SIGNAL_RATE', 'signalRatePerSec', 'int', 'WebRTC signals per second per socket'),
  s('SIGNAL_BURST', 'signalBurst', 'int', 'signal burst per socket'),
  s('MAX_SOCKETS_PER_ADDRESS', 'maxSocketsPerAddress', 'int', 'Arrays sockets per client address'),
  s('MAX_ARRAYS_SOCKETS', 'maxArraysSockets', 'int', 'Arrays sockets in all'),
  s('OFFER_TTL_MS', 'offerTtlMs', 'int', 'an unanswered WebRTC offer is forgotten after this'),
  s('NEW_PEER_IDS_RATE', 'newPeerIdsPerMinute', 'int', 'new peer IDs per minute per address'),
  s('NEW_PEER_IDS_BURST', 'newPeerIdsBurst', 'int', 'new peer ID burst per address'),
  s('QUARANTINE_BANNED_IDS', 'quarantineBannedIds', 'int', 'banned peer IDs of one address before it is quarantined'),
  s('QUARANTINE_REPORTERS', 'quarantineReporters', 'int', 'distinct reporters a ban needs to count'),
  s('QUARANTINE_MS', 'quarantineMs', 'int', 'how long a quarantine lasts'),
  s('BAN_RATE', 'banRatePerSec', 'int', 'ban reports per second per socket'),
  s('BAN_BURST', 'banBurst', 'int', 'ban report burst per socket'),
  s('MAX_CONNECTIONS_PER_ADDRESS', 'maxConnectionsPerAddress', 'int', 'HTTP connections per client address'),
  s('MAX_CONNECTIONS', 'maxConnections', 'int', 'HTTP connections in all'),
  s('CDN_STREAMS_PER_ADDRESS', 'cdnStreamsPerAddress', 'int', '/cdn responses at once per client address'),
  s('CDN_MAX_STREAMS', 'cdnMaxStreams', 'int', '/cdn responses at once in all'),
  s('HTTP_HEADERS_TIMEOUT_MS', 'httpHeadersTimeoutMs', 'int', 'time to send a request head'),
  s('HTTP_REQUEST_TIMEOUT_MS', 'httpRequestTimeoutMs', 'int', 'time to send a whole request'),
  s('HTTP_KEEPALIVE_TIMEOUT_MS', 'httpKeepAliveTimeoutMs', 'int', 'an idle kept-alive connection is closed after this'),
  s('HTTP_SEND_TIMEOUT_MS', 'httpSendTimeoutMs', 'int', 'a response the client stops reading is dropped after this'),
  // Classroom sharing (docs/classroom.md).
  s('SHARE_RATE', 'shareRatePerMinute', 'int', 'shares per minute per address'),
  s('SHARE_BURST', 'shareBurst', 'int', 'share burst per address'),
  s('SHARE_MAX_METADATA_BYTES', 'shareMaxMetadataBytes', 'int', 'largest metadata a share may post'),
  s('SHARE_MAX_TOTAL', 'shareMaxTotal', 'int', 'shares kept in all'),
  s('SHARE_MAX_TOTAL_BYTES', 'shareMaxTotalBytes', 'int', 'metadata bytes of shares kept in all'),
  s('SHARE_MAX_PER_ADDRESS', 'shareMaxPerAddress', 'int', 'shares kept per address'),
  s('SHARE_MAX_BYTES_PER_ADDRESS', 'shareMaxBytesPerAddress', 'int', 'metadata bytes of shares kept per address'),
  s('SHARE_TTL_MS', 'shareTtlMs', 'int', 'a share is removed after this'),
  s('JOIN_CODE_TTL_MS', 'joinCodeTtlMs', 'int', 'a join code expires after this'),
  s('JOIN_RATE', 'joinRatePerMinute', 'int', 'join-code lookups per minute per address'),
  s('JOIN_BURST', 'joinBurst', 'int', 'join-code lookup burst per address'),
  s('JOIN_FAILURES_PER_MINUTE', 'joinFailuresPerMinute', 'int', 'wrong join codes per minute per address before it is refused'),
];

/** `ARRAYS_PORT` → `arrays-port`. */
export function flagOf(setting: Pick<ServerSetting, 'name'>): string {
  return setting.name.toLowerCase().replaceAll('_', '-');
}
