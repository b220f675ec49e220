/**
 * The swarm registry in Redis, shared by several server processes (scale-out). Same contract
 * as `MemorySwarmRegistry` (signaling/swarm-registry.ts): scope partitions, selection whose
 * cost is bounded whatever the swarm's size, expiry by `lastSeen`, aggregated reports.
 *
 * Keys (P = the prefix, `tabswarm:` by default; C = a content ID):
 *   P c:C:m                  hash   peerId -> "scopeKey\ninstanceId\nleft\nreportJSON"
 *   P c:C:p:<scopeKey>:s     set    the partition's seeders (left = 0)
 *   P c:C:p:<scopeKey>:o     set    the partition's other members
 *   P c:C:p:<scopeKey>:c     set    the partition's cache nodes (in this set only, whatever they hold)
 *   P c:C:agg                hash   the content's report counters (see below)
 *   P c:C:h:<epoch>          hash   peerId -> times handed out in that hand-out window (PX TTL: 2 windows)
 *   P seen                   zset   "C|peerId" scored by lastSeen (expiry)
 *   P contents               set    content IDs with at least one member
 *   P totals                 hash   peers: members over every content
 *
 * Every write runs in one Lua script (atomic, one round trip; redis-scripts.ts). The scripts
 * build their keys from the prefix, so they suit one Redis (or a replicated primary), not
 * Redis Cluster.
 *
 * contentReports: each content keeps exact counters (members, seeders, members per scope kind,
 * and the sums of the report fields), updated by the upsert/remove scripts as "subtract the
 * member's old report, add the new one". Reading them costs one HGETALL per content, whatever
 * the swarm's size; nothing is sampled, so the figures are exact.
 *
 * Selection: SRANDMEMBER with a count (distinct members, O(count)) on the asker's partition's
 * cache-node set (listed first, flagged `cache: true`), seeder set and other set, one HMGET of those candidates' records and hand-out counters,
 * scored as in the memory registry (seeders, then holds more than the asker, then the rest;
 * within a tier the least handed out; the counters of the previous window count half).
 */
import { Redis } from 'ioredis';
import type { PeerInfo, Report } from '../src/protocol/arrays-messages.js';
import type { ContentReport } from './content-report.js';
import { SCRIPTS, type Script } from './redis-scripts.js';
import { MAX_CACHE_SAMPLE, SAMPLE_PER_WANTED, TIER_WEIGHT, type SelectRequest, type SwarmMember, type SwarmRegistry, type SwarmStats } from './swarm-registry.js';

export const DEFAULT_REDIS_KEY_PREFIX = 'tabswarm:';

/** Members expired per script call (the sweep loops until fewer come back). */
const EXPIRE_BATCH = 500;

/** Where a member's socket is: its partition and the instance it announced through. */
export interface MemberLocation {
  scopeKey: string;
  instanceId: string;
}

export interface RedisSwarmRegistryOptions {
  /** Key prefix. @default 'tabswarm:' */
  prefix?: string;
  /** Recorded with every member this process upserts: the instance its socket is on. */
  instanceId: string;
  /** The hand-out counters halve after each window (ms). @default 15000 */
  handOutWindowMs?: number;
  /** Clock for the hand-out windows (ms). @default Date.now */
  now?: () => number;
}

/** Parses a member record `scopeKey\ninstanceId\nleft\nreportJSON`. */
function parseRecord(rec: string): { scopeKey: string; instanceId: string; left: number } | undefined {
  const [scopeKey, instanceId, left] = rec.split('\n', 3);
  if (scopeKey === undefined || instanceId === undefined || left === undefined) return undefined;
  return { scopeKey, instanceId, left: Number(left) };
}

export class RedisSwarmRegistry implements SwarmRegistry {
  readonly prefix: string;
  readonly instanceId: string;
  readonly #redis: Redis;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Candidates the last `selectPeers` call sampled (instrumentation: the bound is tested). */
  lastSelectionCost = 0;

  constructor(redis: Redis, options: RedisSwarmRegistryOptions) {
    this.#redis = redis;
    this.prefix = options.prefix ?? DEFAULT_REDIS_KEY_PREFIX;
    this.instanceId = options.instanceId;
    this.#windowMs = Math.max(1, options.handOutWindowMs ?? 15_000);
    this.#now = options.now ?? Date.now;
  }

  #key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** EVALSHA, loading the script on NOSCRIPT (after a Redis restart, or the first call). */
  async #run(s: Script, args: Array<string | number>): Promise<unknown> {
    const argv = [this.prefix, ...args.map(String)];
    try {
      return await this.#redis.evalsha(s.sha, 0, ...argv);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return this.#redis.eval(s.src, 0, ...argv);
    }
  }

  async upsert(contentId: string, scopeKey: string, peerId: string, report: Report, lastSeen: number, cache = false): Promise<void> {
    await this.#run(SCRIPTS.upsert, [contentId, scopeKey, peerId, report.left, JSON.stringify(report), lastSeen, this.instanceId, cache ? '1' : '0']);
  }

  async remove(contentId: string, peerId: string): Promise<boolean> {
    return (await this.#run(SCRIPTS.remove, [contentId, peerId])) === 1;
  }

  async scopeOf(contentId: string, peerId: string): Promise<string | undefined> {
    return (await this.locate(contentId, peerId))?.scopeKey;
  }

  /** The member's partition and the instance its socket announced through, or undefined. */
  async locate(contentId: string, peerId: string): Promise<MemberLocation | undefined> {
    const rec = await this.#redis.hget(this.#key('c', contentId, 'm'), peerId);
    if (rec === null) return undefined;
    const r = parseRecord(rec);
    return r === undefined ? undefined : { scopeKey: r.scopeKey, instanceId: r.instanceId };
  }

  async selectPeers(req: SelectRequest): Promise<PeerInfo[]> {
    this.lastSelectionCost = 0;
    if (req.max <= 0) return [];
    const exclude = [...(req.exclude ?? [])];
    const n = SAMPLE_PER_WANTED * req.max + exclude.length + 1;
    const epoch = Math.floor(this.#now() / this.#windowMs);
    const seed = Math.floor(Math.random() * 2 ** 31);
    const out = (await this.#run(SCRIPTS.select, [
      req.contentId,
      req.peerId,
      req.left,
      req.max,
      epoch,
      2 * this.#windowMs,
      n,
      seed,
      TIER_WEIGHT,
      MAX_CACHE_SAMPLE,
      ...exclude,
    ])) as Array<string | number>;
    this.lastSelectionCost = Number(out[0] ?? 0);
    const peers: PeerInfo[] = [];
    for (let i = 1; i + 2 < out.length; i += 3) {
      peers.push({ peerId: String(out[i]), left: Number(out[i + 1]), ...(String(out[i + 2]) === '1' ? { cache: true as const } : {}) });
    }
    return peers;
  }

  async swarmSize(contentId: string): Promise<number> {
    return this.#redis.hlen(this.#key('c', contentId, 'm'));
  }

  async expire(before: number): Promise<SwarmMember[]> {
    const removed: SwarmMember[] = [];
    for (;;) {
      const out = (await this.#run(SCRIPTS.expire, [Math.floor(before), EXPIRE_BATCH])) as string[];
      for (let i = 0; i + 1 < out.length; i += 2) removed.push({ contentId: out[i]!, peerId: out[i + 1]! });
      if (out.length / 2 < EXPIRE_BATCH) return removed;
    }
  }

  async stats(): Promise<SwarmStats> {
    const [swarms, peers] = await Promise.all([
      this.#redis.scard(this.#key('contents')),
      this.#redis.hget(this.#key('totals'), 'peers'),
    ]);
    return { swarms, peers: Math.max(0, Number(peers ?? 0)) };
  }

  async contentReport(contentId: string): Promise<ContentReport | undefined> {
    const h = await this.#redis.hgetall(this.#key('c', contentId, 'agg'));
    const num = (f: string): number => Number(h[f] ?? 0);
    if (num('peers') <= 0) return undefined;
    return {
      contentId,
      peers: num('peers'),
      seeders: num('seeders'),
      peersByScope: { lan: num('k:lan'), group: num('k:group'), internet: num('k:internet') },
      uploaded: num('uploaded'),
      downloaded: num('downloaded'),
      downloadedCdn: num('downloadedCdn'),
      left: num('left'),
      uploadedBps: num('uploadedBps'),
      downloadBps: num('downloadBps'),
    };
  }

  async contentReports(): Promise<ContentReport[]> {
    const ids = await this.#redis.smembers(this.#key('contents'));
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#key('c', id, 'agg'));
    const results = (await pipeline.exec()) ?? [];
    const out: ContentReport[] = [];
    ids.forEach((contentId, i) => {
      const [err, raw] = results[i] ?? [null, {}];
      if (err) throw err;
      const h = raw as Record<string, string>;
      const num = (f: string): number => Number(h[f] ?? 0);
      if (num('peers') <= 0) return;
      out.push({
        contentId,
        peers: num('peers'),
        seeders: num('seeders'),
        peersByScope: { lan: num('k:lan'), group: num('k:group'), internet: num('k:internet') },
        uploaded: num('uploaded'),
        downloaded: num('downloaded'),
        downloadedCdn: num('downloadedCdn'),
        left: num('left'),
        uploadedBps: num('uploadedBps'),
        downloadBps: num('downloadBps'),
      });
    });
    return out;
  }

  /**
   * Members of the partition sampled (at most `sample`), counted by the instance they are on:
   * for Discovery (which instance serves this swarm). Bounded like selection.
   */
  async instancesOf(contentId: string, scopeKey: string, sample = 64): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const ids = (
      await Promise.all(
        (['c', 's', 'o'] as const).map((half) => this.#redis.srandmember(this.#key('c', contentId, 'p', scopeKey, half), sample)),
      )
    ).flat();
    if (ids.length === 0) return counts;
    const recs = await this.#redis.hmget(this.#key('c', contentId, 'm'), ...ids);
    for (const rec of recs) {
      const r = rec === null ? undefined : parseRecord(rec);
      if (r !== undefined && r.scopeKey === scopeKey) counts.set(r.instanceId, (counts.get(r.instanceId) ?? 0) + 1);
    }
    return counts;
  }
}
