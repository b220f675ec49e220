/**
 * The server's configuration from `TABSWARM_*` environment variables (the run command): each
 * variable read, parsed and handed to `resolveConfig` (config.ts), which checks the values.
 * An unset or empty variable keeps the default.
 */
import type { IceServer } from '../src/protocol/bootstrap.js';
import { ConfigError, LOG_LEVELS, type LogLevel, type ServerConfig } from './config.js';

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

/** A comma-separated list (blanks around items and empty items dropped); resolveConfig checks the items. */
function listFromEnv(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Reads the `TABSWARM_*` variables: PORT, HOST, ARRAYS_PORT, CONTENT_DIR, CDN_BASE_URL, DEMO_SIZE, APP_DIR,
 * ANNOUNCE_INTERVAL_MS, PEER_EXPIRY_MS, MAX_PEERS_PER_REPLY, ANNOUNCE_RATE, ANNOUNCE_BURST,
 * SIGNAL_RATE, SIGNAL_BURST, MAX_SOCKETS_PER_ADDRESS, OFFER_TTL_MS, NEW_PEER_IDS_RATE,
 * NEW_PEER_IDS_BURST, QUARANTINE_BANNED_IDS, QUARANTINE_REPORTERS, QUARANTINE_MS, TRUST_PROXY, LOG_LEVEL,
 * ICE_SERVERS (JSON), ICE_TRANSPORT_POLICY (all|relay), PUBLIC_URL, INSTANCE_ID, REDIS_URL, REDIS_PREFIX, SHARE_RATE, SHARE_BURST,
 * JOIN_CODE_TTL_MS, HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEPALIVE_TIMEOUT_MS,
 * HTTP_SEND_TIMEOUT_MS, MAX_CONNECTIONS_PER_ADDRESS, MAX_CONNECTIONS, MAX_ARRAYS_SOCKETS, BAN_RATE,
 * BAN_BURST, METRICS_TOKEN, METRICS_TOP_CONTENTS, SHARE_MAX_METADATA_BYTES, SHARE_MAX_TOTAL,
 * SHARE_MAX_TOTAL_BYTES, SHARE_MAX_PER_ADDRESS, SHARE_MAX_BYTES_PER_ADDRESS, SHARE_TTL_MS, JOIN_RATE,
 * JOIN_BURST, JOIN_FAILURES_PER_MINUTE, TLS (auto|off), TLS_CERT, TLS_KEY, CACHE_NODE_KEYS (comma-separated),
 * CACHE_NODES (comma-separated), MAX_CACHE_NODES, MAX_WATCHES_PER_CACHE_NODE, CACHE_WANTED_REPEAT_MS,
 * MAX_SWARMS_PER_CACHE_NODE. Unset or empty
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
    iceTransportPolicy: stringFromEnv(env, 'TABSWARM_ICE_TRANSPORT_POLICY') as ServerConfig['iceTransportPolicy'] | undefined,
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
    cacheNodeKeys: listFromEnv(env, 'TABSWARM_CACHE_NODE_KEYS'),
    cacheNodes: listFromEnv(env, 'TABSWARM_CACHE_NODES'),
    maxCacheNodes: intFromEnv(env, 'TABSWARM_MAX_CACHE_NODES'),
    maxWatchesPerCacheNode: intFromEnv(env, 'TABSWARM_MAX_WATCHES_PER_CACHE_NODE'),
    cacheWantedRepeatMs: intFromEnv(env, 'TABSWARM_CACHE_WANTED_REPEAT_MS'),
    maxSwarmsPerCacheNode: intFromEnv(env, 'TABSWARM_MAX_SWARMS_PER_CACHE_NODE'),
  };
}
