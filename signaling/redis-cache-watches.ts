/**
 * Which instances have a cache node watching a scope, kept in Redis for the scale-out
 * (redis-scale-out.ts; the watches themselves are arrays-cache-nodes.ts'):
 *
 *   P watch:<scopeKey>   zset   instanceId scored by its last refresh (ms); PX 10 instance TTLs
 *
 * An instance adds itself when its first cache node watches a scope, removes itself when its
 * last one stops (or at shutdown), and refreshes every scope it watches at each heartbeat, so
 * that a Redis restarted empty learns them again within a heartbeat and a crashed instance
 * stops being named after the instance TTL. Entries: at most the instances times their
 * watched scopes (`maxCacheNodes` x `maxWatchesPerCacheNode` each).
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';

export class RedisCacheWatches {
  /** Scope keys a cache node of this instance watches. */
  readonly #watched = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly instanceId: string,
    /** An instance whose refresh is older than this is not named. */
    private readonly instanceTtlMs: number,
    private readonly log: Logger,
  ) {}

  #key(scopeKey: string): string {
    return `${this.prefix}watch:${scopeKey}`;
  }

  /** This instance now watches `scopeKey` (on), or no longer does. Written in the background. */
  watching(scopeKey: string, on: boolean): void {
    const key = this.#key(scopeKey);
    let write: Promise<unknown>;
    if (on) {
      this.#watched.add(scopeKey);
      write = this.redis.multi().zadd(key, Date.now(), this.instanceId).pexpire(key, 10 * this.instanceTtlMs).exec();
    } else {
      this.#watched.delete(scopeKey);
      write = this.redis.zrem(key, this.instanceId);
    }
    // Redis away: the first heartbeat after it is back writes what is watched then.
    write.catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'cache watch not written yet'));
  }

  /** The instances refreshed within the instance TTL with a watch on `scopeKey`. */
  watchersOf(scopeKey: string): Promise<string[]> {
    return this.redis.zrangebyscore(this.#key(scopeKey), Date.now() - this.instanceTtlMs, '+inf');
  }

  /** Adds the refresh of every watched scope (at time `t`) to a heartbeat's transaction. */
  refresh(multi: ChainableCommander, t: number): void {
    for (const scopeKey of this.#watched) multi.zadd(this.#key(scopeKey), t, this.instanceId).pexpire(this.#key(scopeKey), 10 * this.instanceTtlMs);
  }

  /** Adds the removal of this instance from every watched scope to the goodbye transaction. */
  unregister(multi: ChainableCommander): void {
    for (const scopeKey of this.#watched) multi.zrem(this.#key(scopeKey), this.instanceId);
  }
}
