/**
 * The swarm registry in Redis, shared by several server processes (scale-out). Same contract
 * as `MemorySwarmRegistry` (signaling/swarm-registry.ts): scope partitions, selection whose
 * cost is bounded whatever the swarm's size, expiry by `lastSeen`, aggregated reports.
 *
 * Keys (P = the prefix, `tabswarm:` by default; C = a content ID):
 *   P c:C:m                  hash   peerId -> "scopeKey\ninstanceId\nleft\nreportJSON"
 *   P c:C:p:<scopeKey>:s     set    the partition's seeders (left = 0)
 *   P c:C:p:<scopeKey>:o     set    the partition's other members
 *   P c:C:agg                hash   the content's report counters (see below)
 *   P c:C:h:<epoch>          hash   peerId -> times handed out in that hand-out window (PX TTL: 2 windows)
 *   P seen                   zset   "C|peerId" scored by lastSeen (expiry)
 *   P contents               set    content IDs with at least one member
 *   P totals                 hash   peers: members over every content
 *
 * Every write runs in one Lua script (atomic, one round trip). The scripts build their keys
 * from the prefix, so they suit one Redis (or a replicated primary), not Redis Cluster.
 *
 * contentReports: each content keeps exact counters (members, seeders, members per scope kind,
 * and the sums of the report fields), updated by the upsert/remove scripts as "subtract the
 * member's old report, add the new one". Reading them costs one HGETALL per content, whatever
 * the swarm's size; nothing is sampled, so the figures are exact.
 *
 * Selection: SRANDMEMBER with a count (distinct members, O(count)) on the asker's partition's
 * seeder set and other set, one HMGET of those candidates' records and hand-out counters,
 * scored as in the memory registry (seeders, then holds more than the asker, then the rest;
 * within a tier the least handed out; the counters of the previous window count half).
 */
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import type { PeerInfo, Report } from '../src/protocol/arrays-messages.js';
import type { ContentReport } from './content-report.js';
import { SAMPLE_PER_WANTED, TIER_WEIGHT, type SelectRequest, type SwarmMember, type SwarmRegistry, type SwarmStats } from './swarm-registry.js';

export const DEFAULT_REDIS_KEY_PREFIX = 'tabswarm:';

/** Members expired per script call (the sweep loops until fewer come back). */
const EXPIRE_BATCH = 500;

const LUA_COMMON = `
local P = ARGV[1]
local function ck(cid, suffix) return P .. 'c:' .. cid .. ':' .. suffix end
local function pk(cid, scope, left) return P .. 'c:' .. cid .. ':p:' .. scope .. ':' .. (left == '0' and 's' or 'o') end
local function parse(rec) return string.match(rec, '^([^\\n]*)\\n([^\\n]*)\\n([^\\n]*)\\n(.*)$') end
local function kind(scope)
  if scope == 'internet' then return 'internet' end
  if string.sub(scope, 1, 6) == 'group:' then return 'group' end
  return 'lan'
end
local SUMS = {'uploaded', 'downloaded', 'downloadedCdn', 'left', 'uploadedBps', 'downloadBps'}
local function account(cid, scope, left, json, sign)
  local ak = ck(cid, 'agg')
  local r = cjson.decode(json)
  for _, f in ipairs(SUMS) do
    local v = tonumber(r[f]) or 0
    if v ~= 0 then redis.call('HINCRBYFLOAT', ak, f, string.format('%.17g', sign * v)) end
  end
  redis.call('HINCRBY', ak, 'peers', sign)
  if left == '0' then redis.call('HINCRBY', ak, 'seeders', sign) end
  redis.call('HINCRBY', ak, 'k:' .. kind(scope), sign)
  redis.call('HINCRBY', P .. 'totals', 'peers', sign)
end
local function unlink(cid, pid, rec)
  local scope, _, left, json = parse(rec)
  redis.call('SREM', pk(cid, scope, left), pid)
  redis.call('HDEL', ck(cid, 'm'), pid)
  redis.call('ZREM', P .. 'seen', cid .. '|' .. pid)
  account(cid, scope, left, json, -1)
  if redis.call('HLEN', ck(cid, 'm')) == 0 then
    redis.call('DEL', ck(cid, 'agg'))
    redis.call('SREM', P .. 'contents', cid)
  end
end
`;

/** ARGV: P, contentId, scopeKey, peerId, left, reportJSON, lastSeen, instanceId. */
const LUA_UPSERT = `${LUA_COMMON}
local cid, scope, pid, left, json, seen, inst = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local mk = ck(cid, 'm')
local old = redis.call('HGET', mk, pid)
if old then
  local os, _, ol, oj = parse(old)
  redis.call('SREM', pk(cid, os, ol), pid)
  account(cid, os, ol, oj, -1)
end
redis.call('HSET', mk, pid, scope .. '\\n' .. inst .. '\\n' .. left .. '\\n' .. json)
redis.call('SADD', pk(cid, scope, left), pid)
redis.call('ZADD', P .. 'seen', seen, cid .. '|' .. pid)
redis.call('SADD', P .. 'contents', cid)
account(cid, scope, left, json, 1)
return 1
`;

/** ARGV: P, contentId, peerId. */
const LUA_REMOVE = `${LUA_COMMON}
local rec = redis.call('HGET', ck(ARGV[2], 'm'), ARGV[3])
if not rec then return 0 end
unlink(ARGV[2], ARGV[3], rec)
return 1
`;

/** ARGV: P, before, batch. Returns contentId, peerId, contentId, peerId, ... */
const LUA_EXPIRE = `${LUA_COMMON}
local items = redis.call('ZRANGEBYSCORE', P .. 'seen', '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, it in ipairs(items) do
  local sep = string.find(it, '|', 1, true)
  local cid, pid = string.sub(it, 1, sep - 1), string.sub(it, sep + 1)
  local rec = redis.call('HGET', ck(cid, 'm'), pid)
  if rec then
    unlink(cid, pid, rec)
    out[#out + 1] = cid
    out[#out + 1] = pid
  else
    redis.call('ZREM', P .. 'seen', it)
  end
end
return out
`;

/**
 * ARGV: P, contentId, askerPeerId, askerLeft, max, epoch, counterTtlMs, sampleSize, seed, tierWeight, excluded...
 * Returns candidatesScored, peerId, left, peerId, left, ... in rank order.
 */
const LUA_SELECT = `${LUA_COMMON}
local cid, asker, askerLeft, max = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local epoch, ttl, n, tw = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[10])
math.randomseed(tonumber(ARGV[9]))
local mk = ck(cid, 'm')
local a = redis.call('HGET', mk, asker)
if not a or max <= 0 then return {0} end
local scope = parse(a)
local excl = {}
for i = 11, #ARGV do excl[ARGV[i]] = true end
local cands, cost = {}, 0
for _, left in ipairs({'0', 'x'}) do
  for _, m in ipairs(redis.call('SRANDMEMBER', pk(cid, scope, left), n)) do
    cost = cost + 1
    if m ~= asker and not excl[m] then cands[#cands + 1] = m end
  end
end
if #cands == 0 then return {cost} end
local recs = redis.call('HMGET', mk, unpack(cands))
local hk, hp = ck(cid, 'h:' .. epoch), ck(cid, 'h:' .. (epoch - 1))
local cur = redis.call('HMGET', hk, unpack(cands))
local prev = redis.call('HMGET', hp, unpack(cands))
local scored = {}
for i, m in ipairs(cands) do
  if recs[i] then
    local s, _, l = parse(recs[i])
    if s == scope then
      local left = tonumber(l)
      local tier = 2
      if left == 0 then tier = 0 elseif left < askerLeft then tier = 1 end
      local h = (tonumber(cur[i]) or 0) + math.floor((tonumber(prev[i]) or 0) / 2)
      scored[#scored + 1] = {m = m, l = l, s = tier * tw + h, t = math.random()}
    end
  end
end
table.sort(scored, function(x, y) if x.s ~= y.s then return x.s < y.s end return x.t < y.t end)
local out = {cost}
for i = 1, math.min(max, #scored) do
  redis.call('HINCRBY', hk, scored[i].m, 1)
  out[#out + 1] = scored[i].m
  out[#out + 1] = scored[i].l
end
if #scored > 0 then redis.call('PEXPIRE', hk, ttl) end
return out
`;

interface Script {
  src: string;
  sha: string;
}

function script(src: string): Script {
  return { src, sha: createHash('sha1').update(src).digest('hex') };
}

const SCRIPTS = {
  upsert: script(LUA_UPSERT),
  remove: script(LUA_REMOVE),
  expire: script(LUA_EXPIRE),
  select: script(LUA_SELECT),
};

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

  async upsert(contentId: string, scopeKey: string, peerId: string, report: Report, lastSeen: number): Promise<void> {
    await this.#run(SCRIPTS.upsert, [contentId, scopeKey, peerId, report.left, JSON.stringify(report), lastSeen, this.instanceId]);
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
      ...exclude,
    ])) as Array<string | number>;
    this.lastSelectionCost = Number(out[0] ?? 0);
    const peers: PeerInfo[] = [];
    for (let i = 1; i + 1 < out.length; i += 2) peers.push({ peerId: String(out[i]), left: Number(out[i + 1]) });
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
        (['s', 'o'] as const).map((half) => this.#redis.srandmember(this.#key('c', contentId, 'p', scopeKey, half), sample)),
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
