import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/protocol/limits.js';
import { ConfigError, DEFAULT_SERVER_CONFIG, resolveConfig } from '../../signaling/config.js';
import { configFromEnv } from '../../signaling/config-env.js';

describe('server config', () => {
  it('has the documented defaults', () => {
    expect(resolveConfig()).toEqual({
      port: 8080,
      host: '0.0.0.0',
      contentDir: './content',
      cdnBaseUrl: undefined,
      cdnRateBytesPerSec: 0,
      demoSize: 64 * 1024 * 1024,
      appDir: './dist/app',
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
      quarantineMs: 1_800_000,
      trustProxy: false,
      logLevel: 'info',
      iceServers: [],
      iceTransportPolicy: 'all',
      publicUrl: undefined,
      instanceId: expect.stringMatching(/^[0-9a-f]{16}$/),
      redisUrl: undefined,
      redisKeyPrefix: 'tabswarm:',
      arraysPort: undefined,
      libDir: './dist/lib',
      examplesDir: './examples',
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
      cacheNodeKeys: [],
      cacheNodes: [],
      maxCacheNodes: 64,
      maxWatchesPerCacheNode: 16,
      cacheWantedRepeatMs: 30_000,
      maxSwarmsPerCacheNode: 1024,
    });
    expect(resolveConfig({ port: undefined })).toEqual(resolveConfig());
  });

  it('reads TABSWARM_* variables', () => {
    const env = {
      TABSWARM_PORT: '0',
      TABSWARM_HOST: '127.0.0.1',
      TABSWARM_CONTENT_DIR: '/srv/c',
      TABSWARM_CDN_BASE_URL: 'https://cdn.example/x/',
      TABSWARM_DEMO_SIZE: '1048576',
      TABSWARM_APP_DIR: '/srv/app',
      TABSWARM_LOG_LEVEL: 'debug',
      TABSWARM_MAX_PEERS_PER_REPLY: '500',
    };
    const c = resolveConfig(configFromEnv(env));
    expect(c).toMatchObject({ port: 0, host: '127.0.0.1', contentDir: '/srv/c', demoSize: 1048576, appDir: '/srv/app', logLevel: 'debug' });
    expect(c.cdnBaseUrl).toBe('https://cdn.example/x');
    expect(c.maxPeersPerReply).toBe(LIMITS.maxPeersPerReply);
    expect(resolveConfig(configFromEnv({}))).toEqual(resolveConfig(DEFAULT_SERVER_CONFIG));
  });

  it('refuses values that cannot work', () => {
    expect(() => configFromEnv({ TABSWARM_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => configFromEnv({ TABSWARM_LOG_LEVEL: 'loud' })).toThrow(/TABSWARM_LOG_LEVEL/);
    expect(() => resolveConfig({ port: 70000 })).toThrow(ConfigError);
    expect(() => resolveConfig({ peerExpiryMs: 0 })).toThrow(ConfigError);
    expect(resolveConfig({ announceIntervalMs: 10 }).announceIntervalMs).toBe(1000);
  });

  it('reads the cache-node settings, and refuses a bad key without echoing it', () => {
    const key1 = 'k'.repeat(16);
    const key2 = 'Another_cache-key-0123456789';
    const c = resolveConfig(
      configFromEnv({
        TABSWARM_CACHE_NODE_KEYS: ` ${key1} , ${key2},,${key1}`,
        TABSWARM_CACHE_NODES: 'ws://10.0.0.5:8080/arrays, wss://cache.school.example/arrays',
        TABSWARM_MAX_CACHE_NODES: '3',
        TABSWARM_MAX_WATCHES_PER_CACHE_NODE: '4',
        TABSWARM_CACHE_WANTED_REPEAT_MS: '500',
        TABSWARM_MAX_SWARMS_PER_CACHE_NODE: '100',
      }),
    );
    // Blanks and empty items dropped, a repeated key kept once.
    expect(c.cacheNodeKeys).toEqual([key1, key2]);
    expect(c.cacheNodes).toEqual(['ws://10.0.0.5:8080/arrays', 'wss://cache.school.example/arrays']);
    expect(c).toMatchObject({ maxCacheNodes: 3, maxWatchesPerCacheNode: 4, cacheWantedRepeatMs: 500, maxSwarmsPerCacheNode: 100 });

    const secret = 'short-secret';
    let thrown: unknown;
    try {
      resolveConfig(configFromEnv({ TABSWARM_CACHE_NODE_KEYS: `${key1},${secret}` }));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(/cache node key 2 of 2 \(TABSWARM_CACHE_NODE_KEYS\)/);
    expect((thrown as Error).message).not.toContain(secret);
    expect(() => resolveConfig({ cacheNodeKeys: ['a'.repeat(129)] })).toThrow(ConfigError);
    expect(() => resolveConfig({ cacheNodeKeys: ['has space in it, sixteen+'] })).toThrow(ConfigError);
    expect(() => resolveConfig(configFromEnv({ TABSWARM_CACHE_NODES: 'http://cache.example/arrays' }))).toThrow(/TABSWARM_CACHE_NODES/);
    expect(() => resolveConfig({ cacheNodes: Array.from({ length: 9 }, (_, i) => `ws://10.0.0.${i}/arrays`) })).toThrow(/at most 8/);
    expect(() => resolveConfig({ maxCacheNodes: 0 })).toThrow(ConfigError);
    expect(() => configFromEnv({ TABSWARM_MAX_WATCHES_PER_CACHE_NODE: 'many' })).toThrow(ConfigError);
  });
});
