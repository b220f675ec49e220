/**
 * The cache node (DO's Microsoft Connected Cache): a long-running Node peer on a network that
 * fills itself from the swarm and the CDN once and serves every tab near it. docs/cache-node.md
 * describes it for people.
 *
 * - **Fill on demand.** It watches scopes of the Arrays service (its LAN, groups, the internet:
 *   `watch`), which tells it (`wanted`) when a peer announces a content there and the node is
 *   not in that swarm. If the content is one it may serve (every content the server publishes,
 *   or a list), it joins the swarm as a download like a tab's: the same scheduler, the same
 *   verification of every piece, the same strikes and bans. Tabs downloading with it split the
 *   CDN's pieces with it (core/cdn-share.ts), so a content costs the CDN about one copy.
 * - **Pre-fill.** Listed contents can be filled at start, before any tab asks.
 * - **Serve.** A complete content is seeded (up to `maxSeededContents` at once), and after a
 *   restart the complete contents of the store are seeded again: their metadata is checked
 *   against the content ID, and every piece is hashed again as it is served (trustStored).
 * - **Limits.** Disk (`maxCacheBytes`, `maxCacheAgeMs`, evicting the least used first:
 *   disk-content-cache.ts), upload rate (`maxUploadBytesPerSec`), connections per content
 *   (`maxPeers`), contents filling at once (`maxFills`), contents served at once
 *   (`maxSeededContents`). A `wanted` past `maxFills` is left: the service says it again later.
 */
import type { ClientDownload } from '../client/client-download.js';
import type { ClientConfig } from '../core/config.js';
import type { DownloadMode, WatchScope } from '../protocol/arrays-messages.js';
import { startCacheArrays, type CacheArrays } from './cache-arrays.js';
import { contentRule, type CacheContents } from './cache-contents.js';
import { createNodeClient, type NodeClient } from './node-client.js';

export type { CacheContents } from './cache-contents.js';


export interface CacheNodeOptions {
  serverUrl: string;
  /** The store's directory (one file and records per content). */
  directory: string;
  /** The key the server was configured with (TABSWARM_CACHE_NODE_KEYS): without it the node cannot watch, and only pre-fills. */
  cacheKey?: string;
  /** The scopes watched. Default: its own LAN. */
  scopes?: WatchScope[];
  /** Default: 'all'. */
  contents?: CacheContents;
  /** Content IDs it may serve (with `contents: 'listed'`), and those pre-filled with `prefill`. */
  listed?: string[];
  /** Fill the listed contents at start. Default: false. */
  prefill?: boolean;
  /** Contents filling at once; a `wanted` past it waits for the service to say it again. Default: 4. */
  maxFills?: number;
  /** Settings over the core's defaults: maxCacheBytes, maxCacheAgeMs, maxUploadBytesPerSec, maxPeers, maxSeededContents... */
  config?: Partial<ClientConfig>;
  bindAddress?: string;
  /**
   * Run an Arrays service of its own on this address (cache-arrays.ts), for the server's
   * bootstrap document to name (TABSWARM_CACHE_NODES): tabs announce there too and find the
   * node without the server's service telling of it. Port 0: any free one.
   */
  listen?: { host: string; port: number };
  durable?: boolean;
  log?: (message: string, ...args: unknown[]) => void;
}

/** What the node did, for its metrics and status. */
export interface CacheNodeCounters {
  wanted: number;
  joined: number;
  /** Wanted contents it may not serve (not published, not listed). */
  refused: number;
  /** Wanted while `maxFills` contents were filling. */
  busy: number;
  fillsFailed: number;
}

export interface CacheNode {
  readonly client: NodeClient;
  readonly counters: Readonly<CacheNodeCounters>;
  /** Its own Arrays service's URL, with `listen`. */
  readonly arraysUrl: string | undefined;
  /** Contents filling now. */
  filling(): string[];
  /** Resolves when the pre-fills are complete (or failed: see the log). */
  readonly prefilled: Promise<void>;
  close(): Promise<void>;
}

/** How often the bytes served per content are counted into its record (its use, for eviction). */
const SERVED_EVERY_MS = 5_000;

export async function startCacheNode(options: CacheNodeOptions): Promise<CacheNode> {
  const log = options.log ?? (() => undefined);
  const maxFills = Math.max(1, options.maxFills ?? 4);
  const listed = new Set((options.listed ?? []).map((id) => id.toLowerCase()));
  const rule = contentRule(options.serverUrl, options.contents ?? 'all', listed);
  const own: CacheArrays | undefined = options.listen ? await startCacheArrays(options.listen.host, options.listen.port, (id) => rule.mayServe(id)) : undefined;
  const client = await createNodeClient({
    ...(own ? { ownArrays: { url: own.url, key: own.key } } : {}),
    serverUrl: options.serverUrl,
    directory: options.directory,
    ...(options.cacheKey !== undefined ? { cacheKey: options.cacheKey } : {}),
    ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
    ...(options.durable !== undefined ? { durable: options.durable } : {}),
    config: { maxSeededContents: 64, ...options.config },
    log,
  }).catch(async (e: unknown) => {
    await own?.close();
    throw e;
  });
  const counters: CacheNodeCounters = { wanted: 0, joined: 0, refused: 0, busy: 0, fillsFailed: 0 };
  const fills = new Map<string, ClientDownload>();
  let closed = false;
  let closing: Promise<void> | undefined;

  /** Joins a content's swarm in a scope and fills it; resolves when it is complete (or failed). */
  async function fill(contentId: string, mode: DownloadMode, group: string | undefined): Promise<void> {
    const download = await client.download(contentId, { config: { downloadMode: mode, groupId: group ?? '' } });
    fills.set(contentId, download);
    try {
      await download.done;
      log('cache node: %s complete (%d bytes from peers, %d from the CDN)', contentId, download.status().BytesFromPeers, download.status().BytesFromHTTP);
    } finally {
      fills.delete(contentId);
      void makeRoom(contentId);
    }
  }

  /**
   * Keeps the store within its limits. A tab never evicts what it seeds; the node seeds nearly
   * everything it holds, so it stops the seeds of what the plan names (least used first, never
   * what is filling or pinned, nor `justFilled`: a content is not filled to be thrown away
   * before anyone could use it) and then evicts them. One pass at a time.
   */
  let roomPass: Promise<void> | undefined;
  function makeRoom(justFilled?: string): Promise<void> {
    roomPass ??= (async () => {
      try {
        const limits = client.settings;
        const filling = new Set(fills.keys());
        if (justFilled !== undefined) filling.add(justFilled);
        countServed();
        const plan = await client.cache.plan(limits, filling, false);
        if (plan.evict.length === 0) return;
        for (const e of plan.evict) client.stop(e.storageId);
        // The stopped seeds' files close in their turn; the pass tries twice.
        for (let attempt = 0; attempt < 2; attempt++) {
          await new Promise((r) => setTimeout(r, 200));
          const r = await client.cache.enforce(limits, filling);
          if (r.evicted.length > 0) log('cache node: evicted %s', r.evicted.map((e) => `${e.storageId} (${e.reason})`).join(', '));
          if (r.kept.length === 0) break;
          if (attempt === 1) log('cache node: could not evict yet: %s', r.kept.map((k) => `${k.storageId}: ${k.reason}`).join('; '));
        }
      } catch (e) {
        log('cache node: eviction failed: %s', e instanceof Error ? e.message : String(e));
      } finally {
        roomPass = undefined;
      }
    })();
    return roomPass;
  }

  function onWanted(w: { contentId: string; mode: DownloadMode; group?: string }): void {
    counters.wanted++;
    if (closed || client.isActive(w.contentId)) return;
    if (fills.size >= maxFills) {
      counters.busy++;
      return;
    }
    void rule.mayServe(w.contentId)
      .then((ok) => {
        if (!ok) {
          counters.refused++;
          return log('cache node: not serving %s (%s)', w.contentId, rule.refusal);
        }
        if (closed || client.isActive(w.contentId) || fills.size >= maxFills) return;
        counters.joined++;
        log('cache node: filling %s for peers of %s%s', w.contentId, w.mode, w.group !== undefined ? ` ${w.group}` : '');
        return fill(w.contentId, w.mode, w.group);
      })
      .catch((e: unknown) => {
        counters.fillsFailed++;
        log('cache node: filling %s failed: %s', w.contentId, e instanceof Error ? e.message : String(e));
      });
  }
  // The server's service tells it of wanted contents if it has a key; its own service always.
  const scopes = options.scopes ?? [{ mode: 'lan' }];
  const services = [...(options.cacheKey !== undefined ? [client.arrays()] : []), ...(own ? [client.arrays(own.url)] : [])];
  const stopWanted = services.map((service) => service.on('wanted', onWanted));
  for (const service of services) for (const scope of scopes) service.watch(scope);

  // Use counts for eviction (least used first): what each content sent since the last count
  // (summed over its downloads and seeds so far, each of which counts from 0).
  const servedSeen = new Map<string, number>();
  function countServed(): void {
    const totals = new Map<string, number>();
    for (const d of client.status().Downloads) totals.set(d.FileId, (totals.get(d.FileId) ?? 0) + d.BytesToPeers);
    for (const [id, total] of totals) {
      const before = servedSeen.get(id) ?? 0;
      if (total > before) client.cache.recordServed(id, total - before);
      servedSeen.set(id, Math.max(before, total));
    }
  }
  const servedTimer = setInterval(countServed, SERVED_EVERY_MS);
  servedTimer.unref();
  // Age limits bind without any fill: a look every hour.
  const roomTimer = setInterval(() => void makeRoom(), 3_600_000);
  roomTimer.unref();

  const defaultMode = client.settings.downloadMode;
  const prefillMode: DownloadMode = defaultMode === 'group' || defaultMode === 'internet' ? defaultMode : 'lan';
  const prefilled = options.prefill
    ? Promise.allSettled([...listed].map((id) => fill(id, prefillMode, client.settings.groupId || undefined))).then((results) => {
        for (const r of results) {
          if (r.status !== 'rejected') continue;
          counters.fillsFailed++;
          log('cache node: pre-fill failed: %s', r.reason instanceof Error ? r.reason.message : String(r.reason));
        }
      })
    : Promise.resolve();

  return {
    client,
    counters,
    arraysUrl: own?.url,
    filling: () => [...fills.keys()],
    prefilled,
    close() {
      closing ??= (async () => {
        closed = true;
        clearInterval(servedTimer);
        clearInterval(roomTimer);
        await roomPass;
        for (const stop of stopWanted) stop();
        await client.close();
        await own?.close();
      })();
      return closing;
    },
  };
}
