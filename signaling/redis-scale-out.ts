/**
 * Scale-out on Redis: several server processes share the swarm registry (redis-swarm-registry.ts)
 * and relay `signal` messages to each other over Redis pub/sub.
 *
 * - Two connections per process: one for commands (offline queue off and one retry, so that
 *   while Redis is down a command fails at once and the Arrays service answers `unavailable`
 *   instead of hanging), one subscribed to this instance's channel `P relay:<instanceId>`
 *   (ioredis reconnects and resubscribes by itself).
 * - The instance map: `P instances` (zset, instanceId scored by its last heartbeat, ms) and
 *   `P instance-info` (hash, instanceId -> JSON `{publicUrl, startedAt}`), refreshed every
 *   `heartbeatMs`; an instance is live while its heartbeat is younger than `instanceTtlMs`.
 * - The origin-tag key (origin-tag.ts) is `P origin-key`, written once by the first instance
 *   (SET NX) and read by every other, so one address has one tag on every instance. An
 *   instance that cannot reach Redis at start uses a key of its own (logged): its tags then
 *   match only its own peers'.
 * - Cache nodes (arrays-cache-nodes.ts): `P watch:<scopeKey>` names the instances with a cache
 *   node watching that scope (redis-cache-watches.ts). A new member of partition S is told,
 *   as a `wanted` message on their relay channels, to the instances named for S (one
 *   ZRANGEBYSCORE per new membership, in the background), which deliver it to their own
 *   watchers.
 * - Messages on the bus are JSON parsed with `relayEnvelopeSchema` or `wantedEnvelopeSchema`;
 *   anything else is logged and dropped.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DOWNLOAD_MODES, groupIdSchema, originTagSchema, refineModeGroup, signalDataSchema } from '../src/protocol/arrays-messages.js';
import { instanceIdSchema } from '../src/protocol/bootstrap.js';
import { PEER_ID_HEX, SHA256_HEX } from '../src/protocol/hex.js';
import type { ArraysRelay, RelayEnvelope, WantedEnvelope } from './arrays.js';
import { ORIGIN_KEY_BYTES } from './origin-tag.js';
import { RedisCacheWatches } from './redis-cache-watches.js';
import { DEFAULT_REDIS_KEY_PREFIX, RedisSwarmRegistry } from './redis-swarm-registry.js';

/** A `signal` crossing from the sender's instance to the target's. */
export const relayEnvelopeSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('signal'),
    fromInstance: instanceIdSchema,
    contentId: z.string().regex(SHA256_HEX),
    from: z.string().regex(PEER_ID_HEX),
    to: z.string().regex(PEER_ID_HEX),
    /** The sender's partition, as its instance read it from the registry. */
    fromScope: z.string().min(1).max(256),
    data: signalDataSchema,
    origin: originTagSchema.optional(),
  })
  .strict();

/** A join in a scope that a cache node of the receiving instance watches. */
export const wantedEnvelopeSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('wanted'),
    fromInstance: instanceIdSchema,
    contentId: z.string().regex(SHA256_HEX),
    /** The partition, as the sender's instance computed it (`lan:<lanKey>`, `group:<id>`, `internet`). */
    scopeKey: z.string().min(1).max(256),
    mode: z.enum(DOWNLOAD_MODES),
    group: groupIdSchema.optional(),
  })
  .strict()
  .superRefine(refineModeGroup)
  .refine((w) => (w.mode === 'lan' ? w.scopeKey.startsWith('lan:') : w.scopeKey === (w.mode === 'group' ? `group:${w.group}` : 'internet')), {
    message: 'scopeKey does not match mode and group',
  });

export interface LiveInstance {
  instanceId: string;
  publicUrl: string | undefined;
  lastHeartbeat: number;
}

export interface RedisScaleOutOptions {
  url: string;
  /** @default 'tabswarm:' */
  prefix?: string;
  instanceId: string;
  publicUrl?: string;
  logger: Logger;
  /** @default 15000 */
  handOutWindowMs?: number;
  /** @default 5000 */
  heartbeatMs?: number;
  /** @default 3 * heartbeatMs */
  instanceTtlMs?: number;
  /** How long `createRedisScaleOut` waits for Redis before going on without it (it keeps retrying). @default 5000 */
  readyTimeoutMs?: number;
}

export interface RedisScaleOut {
  registry: RedisSwarmRegistry;
  relay: ArraysRelay;
  /** Instances with a recent heartbeat. */
  liveInstances(): Promise<LiveInstance[]>;
  /**
   * The instance that serves the swarm of (contentId, scopeKey), for Discovery: the live
   * instance with the most members of that partition in a bounded sample, else (empty swarm)
   * a rendezvous hash of the partition over the live instances, so that every instance
   * sends a new swarm's first peers to the same place. Undefined if none is live (Redis down).
   */
  instanceFor(contentId: string, scopeKey: string): Promise<LiveInstance | undefined>;
  close(): Promise<void>;
}

function connectionOptions(): RedisOptions {
  return {
    // Reconnect forever, quickly: 100 ms, 200 ms, ... at most 500 ms apart, so that a restarted
    // Redis is in use again well within one announce interval.
    retryStrategy: (times) => Math.min(times * 100, 500),
    connectTimeout: 2000,
    lazyConnect: false,
  };
}

/** Logs a connection's errors at most once per `ms` (a down Redis fails every retry). */
function errorLogger(log: Logger, what: string, ms = 5000): (err: Error) => void {
  let last = 0;
  return (err) => {
    const t = Date.now();
    if (t - last < ms) return;
    last = t;
    log.warn({ err: err.message, connection: what }, 'redis connection error');
  };
}

function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

/** A relay message from another instance, parsed; undefined (and a warning) if it is not one. */
function parseRelayMessage(text: string, log: Logger): { signal: RelayEnvelope } | { wanted: WantedEnvelope } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const isWanted = (json as { type?: unknown } | null)?.type === 'wanted';
  const parsed = isWanted ? wantedEnvelopeSchema.safeParse(json) : relayEnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    log.warn({ reason: parsed.error.issues[0]?.message ?? 'not JSON', bytes: text.length }, 'malformed relay message dropped');
    return undefined;
  }
  if (parsed.data.type === 'wanted') {
    const { contentId, scopeKey, mode, group } = parsed.data;
    return { wanted: { contentId, scopeKey, mode, ...(group !== undefined ? { group } : {}) } };
  }
  const { contentId, from, to, fromScope, data, origin } = parsed.data;
  return { signal: { contentId, from, to, fromScope, data, origin } };
}

function rendezvous(key: string, instanceId: string): string {
  return createHash('sha256').update(`${key}\n${instanceId}`).digest('hex');
}

export async function createRedisScaleOut(options: RedisScaleOutOptions): Promise<RedisScaleOut> {
  const prefix = options.prefix ?? DEFAULT_REDIS_KEY_PREFIX;
  const { instanceId } = options;
  const log = options.logger.child({ component: 'redis', instanceId });
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const instanceTtlMs = options.instanceTtlMs ?? 3 * heartbeatMs;
  const channel = `${prefix}relay:${instanceId}`;
  const instancesKey = `${prefix}instances`;
  const infoKey = `${prefix}instance-info`;

  // Commands fail at once while disconnected (no offline queue), after at most one retry.
  const redis = new Redis(options.url, { ...connectionOptions(), enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const sub = new Redis(options.url, { ...connectionOptions(), maxRetriesPerRequest: null });
  redis.on('error', errorLogger(log, 'commands'));
  sub.on('error', errorLogger(log, 'subscriber'));
  redis.on('ready', () => log.info('redis ready'));

  let handler: ((env: RelayEnvelope) => void) | undefined;
  let resync: (() => void) | undefined;
  let onWanted: ((env: WantedEnvelope) => void) | undefined;
  sub.on('message', (ch: string, text: string) => {
    if (ch !== channel) return;
    const msg = parseRelayMessage(text, log);
    if (msg === undefined) return;
    if ('wanted' in msg) onWanted?.(msg.wanted);
    else handler?.(msg.signal);
  });
  const watches = new RedisCacheWatches(redis, prefix, instanceId, instanceTtlMs, log);

  const registry = new RedisSwarmRegistry(redis, { prefix, instanceId, handOutWindowMs: options.handOutWindowMs });
  const info = JSON.stringify({ publicUrl: options.publicUrl ?? null, startedAt: Date.now() });

  async function heartbeat(): Promise<void> {
    const t = Date.now();
    const multi = redis
      .multi()
      .zadd(instancesKey, t, instanceId)
      .hset(infoKey, instanceId, info)
      // Forget instances dead for long (their members expire through the registry).
      .zremrangebyscore(instancesKey, '-inf', t - 10 * instanceTtlMs);
    watches.refresh(multi, t);
    await multi.exec();
  }

  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  const [ready] = await Promise.all([waitReady(redis, readyTimeoutMs), waitReady(sub, readyTimeoutMs)]);
  if (!ready) log.warn({ url: options.url.replace(/\/\/[^@]*@/, '//***@') }, 'redis not reachable yet; retrying in the background');
  sub.subscribe(channel).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'subscribe failed; retried on reconnect'));
  await heartbeat().catch(() => undefined);
  const originKey = await sharedOriginKey().catch((err: unknown) => {
    log.warn({ err: (err as Error).message }, 'origin-tag key not shared (redis unreachable): this instance uses its own');
    return randomBytes(ORIGIN_KEY_BYTES);
  });
  const heartbeatTimer = setInterval(() => {
    heartbeat().catch(() => undefined); // logged by the connection's error listener
  }, heartbeatMs);
  heartbeatTimer.unref();
  // After a lost connection (Redis may have restarted empty): register at once rather than at
  // the next beat, and have the Arrays service put its members back.
  redis.on('ready', () => {
    heartbeat().catch(() => undefined);
    resync?.();
  });

  /** The key every instance tags origins with: the first instance's, kept in Redis. */
  async function sharedOriginKey(): Promise<Uint8Array> {
    const key = `${prefix}origin-key`;
    await redis.set(key, randomBytes(ORIGIN_KEY_BYTES).toString('hex'), 'NX');
    const hex = await redis.get(key);
    if (hex === null || !/^[0-9a-f]+$/.test(hex) || hex.length < 2 * ORIGIN_KEY_BYTES) throw new Error(`${key} is not ${ORIGIN_KEY_BYTES} bytes of hex`);
    return Buffer.from(hex, 'hex');
  }

  async function liveInstances(): Promise<LiveInstance[]> {
    const t = Date.now();
    const flat = await redis.zrangebyscore(instancesKey, t - instanceTtlMs, '+inf', 'WITHSCORES');
    const ids: Array<{ id: string; at: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) ids.push({ id: flat[i]!, at: Number(flat[i + 1]) });
    if (ids.length === 0) return [];
    const infos = await redis.hmget(infoKey, ...ids.map((x) => x.id));
    return ids.map(({ id, at }, i) => {
      let publicUrl: string | undefined;
      try {
        const parsed = JSON.parse(infos[i] ?? 'null') as { publicUrl?: unknown } | null;
        publicUrl = typeof parsed?.publicUrl === 'string' ? parsed.publicUrl : undefined;
      } catch {
        publicUrl = undefined;
      }
      return { instanceId: id, publicUrl, lastHeartbeat: at };
    });
  }

  const relay: ArraysRelay = {
    instanceId,
    originKey,
    locate: (contentId, peerId) => registry.locate(contentId, peerId),
    async publish(target, env) {
      const message = JSON.stringify({ v: 1, type: 'signal', fromInstance: instanceId, ...env });
      return (await redis.publish(`${prefix}relay:${target}`, message)) > 0;
    },
    listen(h, r, w) {
      handler = h;
      resync = r;
      onWanted = w;
      return () => {
        if (handler === h) [handler, resync, onWanted] = [undefined, undefined, undefined];
      };
    },
    watching: (scopeKey, on) => watches.watching(scopeKey, on),
    watchersOf: (scopeKey) => watches.watchersOf(scopeKey),
    async publishWanted(target, env) {
      await redis.publish(`${prefix}relay:${target}`, JSON.stringify({ v: 1, type: 'wanted', fromInstance: instanceId, ...env }));
    },
  };

  let closing: Promise<void> | undefined;
  return {
    registry,
    relay,
    liveInstances,
    async instanceFor(contentId, scopeKey) {
      const live = await liveInstances();
      if (live.length === 0) return undefined;
      const counts = await registry.instancesOf(contentId, scopeKey);
      let best: LiveInstance | undefined;
      let bestCount = 0;
      for (const inst of live) {
        const n = counts.get(inst.instanceId) ?? 0;
        if (n > bestCount) [best, bestCount] = [inst, n];
      }
      if (best !== undefined) return best;
      const key = `${contentId}|${scopeKey}`;
      return live.reduce((a, b) => (rendezvous(key, b.instanceId) > rendezvous(key, a.instanceId) ? b : a));
    },
    close() {
      closing ??= (async () => {
        clearInterval(heartbeatTimer);
        [handler, resync, onWanted] = [undefined, undefined, undefined];
        if (redis.status === 'ready') {
          const multi = redis.multi().zrem(instancesKey, instanceId).hdel(infoKey, instanceId);
          watches.unregister(multi);
          await multi.exec().catch(() => undefined);
        }
        sub.disconnect();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
