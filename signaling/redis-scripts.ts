/**
 * The Lua scripts of the Redis swarm registry (redis-swarm-registry.ts has the key layout and
 * the contract). Each runs atomically in one round trip; keys are built from the prefix
 * (ARGV[1]), so they suit one Redis (or a replicated primary), not Redis Cluster.
 *
 * A member's record is `scopeKey\ninstanceId\nleft\nreportJSON`; it is in exactly one set of its
 * partition: `:c` if it is a cache node, else `:s` (a seeder, left = 0) or `:o`. Removal takes
 * it out of all three, so a record never needs to say which.
 */
import { createHash } from 'node:crypto';

const LUA_COMMON = `
local P = ARGV[1]
local function ck(cid, suffix) return P .. 'c:' .. cid .. ':' .. suffix end
local function pk(cid, scope, left) return P .. 'c:' .. cid .. ':p:' .. scope .. ':' .. (left == '0' and 's' or 'o') end
local function cachek(cid, scope) return P .. 'c:' .. cid .. ':p:' .. scope .. ':c' end
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
  redis.call('SREM', cachek(cid, scope), pid)
  redis.call('HDEL', ck(cid, 'm'), pid)
  redis.call('ZREM', P .. 'seen', cid .. '|' .. pid)
  account(cid, scope, left, json, -1)
  if redis.call('HLEN', ck(cid, 'm')) == 0 then
    redis.call('DEL', ck(cid, 'agg'))
    redis.call('SREM', P .. 'contents', cid)
  end
end
`;

/** ARGV: P, contentId, scopeKey, peerId, left, reportJSON, lastSeen, instanceId, cache ('1' for a cache node). */
const LUA_UPSERT = `${LUA_COMMON}
local cid, scope, pid, left, json, seen, inst, cache = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local mk = ck(cid, 'm')
local old = redis.call('HGET', mk, pid)
if old then
  local os, _, ol, oj = parse(old)
  redis.call('SREM', pk(cid, os, ol), pid)
  redis.call('SREM', cachek(cid, os), pid)
  account(cid, os, ol, oj, -1)
end
redis.call('HSET', mk, pid, scope .. '\\n' .. inst .. '\\n' .. left .. '\\n' .. json)
if cache == '1' then redis.call('SADD', cachek(cid, scope), pid) else redis.call('SADD', pk(cid, scope, left), pid) end
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
 * ARGV: P, contentId, askerPeerId, askerLeft, max, epoch, counterTtlMs, sampleSize, seed, tierWeight, cacheSample, excluded...
 * Returns candidatesScored, then peerId, left, cache ('1' or '0') per peer, in rank order: the
 * partition's cache nodes first (up to cacheSample looked at), then seeders, holders of more.
 */
const LUA_SELECT = `${LUA_COMMON}
local cid, asker, askerLeft, max = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local epoch, ttl, n, tw, cn = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[10]), tonumber(ARGV[11])
math.randomseed(tonumber(ARGV[9]))
local mk = ck(cid, 'm')
local a = redis.call('HGET', mk, asker)
if not a or max <= 0 then return {0} end
local scope = parse(a)
local excl = {}
for i = 12, #ARGV do excl[ARGV[i]] = true end
local cands, isCache, seen, cost = {}, {}, {}, 0
-- seen: a member in two sets (left there by an instance of an older version) is listed once.
local function take(key, count, cache)
  for _, m in ipairs(redis.call('SRANDMEMBER', key, count)) do
    cost = cost + 1
    if m ~= asker and not excl[m] and not seen[m] then
      seen[m] = true
      cands[#cands + 1] = m
      isCache[#cands] = cache
    end
  end
end
take(cachek(cid, scope), cn, true)
take(pk(cid, scope, '0'), n, false)
take(pk(cid, scope, 'x'), n, false)
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
      local g, score = 1, tier * tw + h
      if isCache[i] then g, score = 0, h end
      scored[#scored + 1] = {m = m, l = l, g = g, s = score, t = math.random()}
    end
  end
end
table.sort(scored, function(x, y)
  if x.g ~= y.g then return x.g < y.g end
  if x.s ~= y.s then return x.s < y.s end
  return x.t < y.t
end)
local out = {cost}
for i = 1, math.min(max, #scored) do
  redis.call('HINCRBY', hk, scored[i].m, 1)
  out[#out + 1] = scored[i].m
  out[#out + 1] = scored[i].l
  out[#out + 1] = scored[i].g == 0 and '1' or '0'
end
if #scored > 0 then redis.call('PEXPIRE', hk, ttl) end
return out
`;

export interface Script {
  src: string;
  sha: string;
}

function script(src: string): Script {
  return { src, sha: createHash('sha1').update(src).digest('hex') };
}

export const SCRIPTS = {
  upsert: script(LUA_UPSERT),
  remove: script(LUA_REMOVE),
  expire: script(LUA_EXPIRE),
  select: script(LUA_SELECT),
};
