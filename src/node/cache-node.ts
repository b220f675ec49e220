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
import { TabswarmError } from '../core/errors.js';
import { catalogSchema } from '../protocol/content-policy.js';
import type { DownloadMode, WatchScope } from '../protocol/arrays-messages.js';
import { createNodeClient, type NodeClient } from './node-client.js';

/** Which contents the node may serve: every content in the server's catalog, or only `listed`. */
export type CacheContents = 'all' | 'listed';

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
  /** Contents filling now. */
  filling(): string[];
  /** Resolves when the pre-fills are complete (or failed: see the log). */
  readonly prefilled: Promise<void>;
  close(): Promise<void>;
}

/** How long a fetched catalog is trusted before `wanted` fetches it again. */
const CATALOG_TTL_MS = 30_000;

export async function startCacheNode(options: CacheNodeOptions): Promise<CacheNode> {
  const log = options.log ?? (() => undefined);
  const maxFills = Math.max(1, options.maxFills ?? 4);
  const listed = new Set((options.listed ?? []).map((id) => id.toLowerCase()));
  const contents = options.contents ?? 'all';
  const client = await createNodeClient({
    serverUrl: options.serverUrl,
    directory: options.directory,
    ...(options.cacheKey !== undefined ? { cacheKey: options.cacheKey } : {}),
    ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
    ...(options.durable !== undefined ? { durable: options.durable } : {}),
    config: { maxSeededContents: 64, ...options.config },
    log,
  });
  const counters: CacheNodeCounters = { wanted: 0, joined: 0, refused: 0, busy: 0, fillsFailed: 0 };
  const fills = new Map<string, ClientDownload>();
  let closed = false;

  let catalog: { at: number; ids: Promise<Set<string>> } | undefined;
  const published = (): Promise<Set<string>> => {
    const now = Date.now();
    if (catalog && now - catalog.at < CATALOG_TTL_MS) return catalog.ids;
    const ids = fetchCatalog(options.serverUrl);
    catalog = { at: now, ids };
    ids.catch(() => (catalog = undefined));
    return ids;
  };
  async function mayServe(contentId: string): Promise<boolean> {
    if (listed.has(contentId)) return true;
    if (contents === 'listed') return false;
    return (await published()).has(contentId);
  }

  /** Joins a content's swarm in a scope and fills it; resolves when it is complete (or failed). */
  async function fill(contentId: string, mode: DownloadMode, group: string | undefined): Promise<void> {
    const download = await client.download(contentId, { config: { downloadMode: mode, groupId: group ?? '' } });
    fills.set(contentId, download);
    try {
      await download.done;
      log('cache node: %s complete (%d bytes from peers, %d from the CDN)', contentId, download.status().BytesFromPeers, download.status().BytesFromHTTP);
    } finally {
      fills.delete(contentId);
    }
  }

  const stopWanted = client.arrays().on('wanted', (w) => {
    counters.wanted++;
    if (closed || client.isActive(w.contentId)) return;
    if (fills.size >= maxFills) {
      counters.busy++;
      return;
    }
    void mayServe(w.contentId)
      .then((ok) => {
        if (!ok) {
          counters.refused++;
          return log('cache node: not serving %s (%s)', w.contentId, contents === 'listed' ? 'not listed' : 'not published');
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
  });
  if (options.cacheKey !== undefined) for (const scope of options.scopes ?? [{ mode: 'lan' }]) client.arrays().watch(scope);

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
    filling: () => [...fills.keys()],
    prefilled,
    async close() {
      closed = true;
      stopWanted();
      await client.close();
    },
  };
}

async function fetchCatalog(serverUrl: string): Promise<Set<string>> {
  const res = await fetch(new URL('/api/catalog', serverUrl), { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new TabswarmError('metadata-unavailable', `the catalog answered HTTP ${res.status}`);
  const parsed = catalogSchema.safeParse(await res.json());
  if (!parsed.success) throw new TabswarmError('metadata-invalid', 'the catalog does not parse');
  return new Set(parsed.data.contents.map((c) => c.contentId));
}
