/**
 * The composition root in the browser, and the library's public API (`import { createClient }
 * from 'tabswarm'`): wires the core to the worker pool, IndexedDB, the fetch-based CDN, the
 * Arrays WebSocket and WebRTC. One client per tab; it may run several downloads, which share
 * its peer ID and workers. Before its first peering download it reads the server's bootstrap
 * document (ICE servers), and for each content it asks Discovery which Arrays instance serves
 * that swarm; downloads served by one instance share one connection.
 *
 * Settings: src/client/settings.ts says which layer wins (defaults, the page's config, the
 * user's saved settings, URL parameters).
 */
import createDebug from 'debug';
import { createBandwidth, type BandwidthStatus } from '../core/bandwidth.js';
import { contentsToSeed } from '../core/cache-policy.js';
import { peeringModeOf, resolveConfig, type ClientConfig } from '../core/config.js';
import { Download } from '../core/download.js';
import { bannedAddresses } from '../core/swarm.js';
import { TabswarmError } from '../core/errors.js';
import { cdnUrlsOf, openContent, openPolicy, openUrl, type OpenedContent } from '../core/open-content.js';
import type { PeerConnector, Signaling } from '../core/ports.js';
import { downloadStatus, PeerRates, perfSnapshot, type DownloadStatus, type PerfSnapshot } from '../core/status.js';
import { verifyStoredMetadata } from '../core/verify-stored.js';
import type { DownloadMode } from '../protocol/arrays-messages.js';
import type { Bootstrap } from '../protocol/bootstrap.js';
import type { ContentPolicy } from '../protocol/content-policy.js';
import { SHA256_HEX } from '../protocol/hex.js';
import { createIdbPieceStore } from '../storage/idb-piece-store.js';
import { createPieceCache, type CacheRecord } from '../storage/piece-cache.js';
import { createFetchBytes } from '../transport/fetch-bytes.js';
import { createFetchHttpRange } from '../transport/fetch-http-range.js';
import { defaultArraysUrl, fetchBootstrap, fetchDiscovery } from '../transport/fetch-services.js';
import { createWebRtcConnector } from '../transport/webrtc-connector.js';
import { createWebSocketSignaling } from '../transport/ws-signaling.js';
import { createHasherPool } from '../workers/hasher-pool.js';
import { createClientDownload, type ClientDownload } from './client-download.js';
import { newPeerIdentity } from './peer-id.js';
import { watchUploadConditions } from './power.js';
import { defaultSettingsStorage, layeredSettings, loadSavedSettings, saveSettings, type SettingsStorage } from './settings.js';

const debug = createDebug('tabswarm:client');

export interface ClientOptions {
  /** The tabswarm server (content policy, metadata, Arrays). Default: the page's origin. */
  serverUrl?: string;
  /** The page's settings; see src/core/config.ts for defaults and src/client/settings.ts for what overrides them. */
  config?: Partial<ClientConfig>;
  /** Where the user's saved settings live; null: none. Default: localStorage (key `tabswarm:settings`). */
  settingsStorage?: SettingsStorage | null;
  /** URL parameters that override every other setting, for demos: pass `location.search`. Default: none. */
  query?: Partial<ClientConfig>;
  /** Offer the contents complete in this origin's cache to peers while the page is open (up to `maxSeededContents`). Default: true. */
  seedCache?: boolean;
  /** STUN/TURN servers for peers on other networks; none are needed on one LAN. Default: the server's bootstrap document's. */
  iceServers?: RTCIceServer[];
  /** The CDN to use in simple mode when even the content policy is unavailable. Default: `<serverUrl>/cdn`. */
  cdnBaseUrl?: string;
}

export type { ClientDownload, ClientDownloadEvents, Progress } from './client-download.js';

export interface DownloadRequest {
  /** A background download (DO's IsBackground): longer HTTP delay, yields the CDN to foreground ones. Default: the settings' `isBackground`. */
  background?: boolean;
  /** Aborts the download (as `abort()`). */
  signal?: AbortSignal;
  /** Settings for this download only, over the client's. */
  config?: Partial<ClientConfig>;
}

export interface TabswarmClient {
  readonly peerId: string;
  /** The settings in effect for new downloads (all layers merged). */
  readonly settings: ClientConfig;
  /**
   * Starts (or resumes) a download of a content ID (64 hex), an app link (`…#c=<id>`), or a
   * plain http(s) URL (simple mode: HTTP only, unverified). In download mode Bypass it rejects
   * with kind 'bypassed'.
   */
  download(target: string, request?: DownloadRequest): Promise<ClientDownload>;
  /** The file's URL on the CDN, for the browser to download itself (download mode Bypass). */
  bypassUrl(contentId: string): Promise<string>;
  /** The tab's totals and every download's status (Get-DeliveryOptimizationPerfSnap), with why uploads are off if they are. */
  status(): PerfSnapshot;
  /** The bandwidth controls in effect: limits, current rates, measured upload capacity, why uploads are blocked. */
  bandwidth(): BandwidthStatus;
  /** The piece cache of this origin: every content, its bytes, whether complete, pinned, when last used (least recently used first). */
  cached(): Promise<CacheRecord[]>;
  /** Never evict this content (`pin`), or let it go again (`unpin`); rejects with 'storage-error' if it is not cached. */
  pin(contentId: string): Promise<void>;
  unpin(contentId: string): Promise<void>;
  /** Deletes a cached content (it must not be downloading or seeding in this tab). */
  evict(contentId: string): Promise<void>;
  /** Saves settings for this origin (merged; undefined forgets a key) and applies them to new downloads. Returns what is saved. */
  saveSettings(changes: Partial<Record<keyof ClientConfig, unknown>>): Partial<ClientConfig>;
  close(): void;
}

/** The content ID a download target names: itself, or the `c=` of an app link; undefined for another URL. */
export function contentIdOf(target: string): string | undefined {
  const t = target.trim().toLowerCase();
  if (SHA256_HEX.test(t)) return t;
  return /[#&?]c=([0-9a-f]{64})(?:$|&)/i.exec(target)?.[1]?.toLowerCase();
}

export function createClient(options: ClientOptions = {}): TabswarmClient {
  const serverUrl = options.serverUrl ?? location.origin;
  const identity = newPeerIdentity();
  const peerId = identity.peerId;
  const hasher = createHasherPool();
  const store = createIdbPieceStore();
  const http = createFetchHttpRange();
  const fetcher = createFetchBytes();
  const storage = options.settingsStorage === null ? undefined : (options.settingsStorage ?? defaultSettingsStorage());
  const pageConfig = options.config ?? {};
  const query = options.query ?? {};
  let config = resolveConfig(layeredSettings({ page: pageConfig, saved: loadSavedSettings(storage), query }));
  /** DO's bandwidth controls, one for the whole tab: every download's uploads and CDN traffic go through it. */
  const bandwidth = createBandwidth(config);
  /** Addresses of the peers this tab banned, for the page's session (refused in LAN and group modes). */
  const banned = bannedAddresses();
  // No uploads on battery or a metered connection (DO's defaults), as the browser tells.
  let stopWatchingPower: (() => void) | undefined;
  let powerRules = '';
  const watchPower = () => {
    const rules = `${config.noUploadsOnBattery}/${config.noUploadsOnMetered}`;
    if (rules === powerRules) return;
    powerRules = rules;
    stopWatchingPower?.();
    stopWatchingPower = undefined;
    bandwidth.setUploadsBlocked(undefined);
    void watchUploadConditions(config, (reason) => bandwidth.setUploadsBlocked(reason)).then((stop) => {
      if (powerRules === rules) stopWatchingPower = stop;
      else stop();
    });
  };
  watchPower();
  /** Every download this client started, with what its status needs. */
  const tracked: Array<{ download: Download; mode: ClientConfig['downloadMode']; background: boolean; startedAt: number; endedAt: number | undefined; rates: PeerRates }> = [];
  const statusOf = (t: (typeof tracked)[number], now: number): DownloadStatus => {
    t.rates.sample(now, t.download.snapshot().peers);
    return downloadStatus(t.download, { mode: t.mode, background: t.background, startedAt: t.startedAt, endedAt: t.endedAt, now, rates: t.rates });
  };
  /** One signaling connection per Arrays instance that Discovery names. */
  const signalings = new Map<string, Signaling & { close(): void }>();
  const downloads = new Set<Download>();

  // The bootstrap document, once: the ICE servers (unless the page gave its own).
  let bootstrap: Promise<Bootstrap | undefined> | undefined;
  const loadBootstrap = () =>
    (bootstrap ??= fetchBootstrap(serverUrl).catch((e: unknown) => {
      debug('no bootstrap document, using defaults: %s', e instanceof Error ? e.message : String(e));
      return undefined;
    }));
  let connector: Promise<PeerConnector> | undefined;
  const loadConnector = () =>
    (connector ??= (options.iceServers ? Promise.resolve(options.iceServers) : loadBootstrap().then((b) => b?.iceServers ?? [])).then((iceServers) =>
      createWebRtcConnector({ iceServers }),
    ));

  /** The Arrays URL that serves this content's swarm in our (peering) mode (Discovery), or the server's own. Never rejects. */
  async function arraysUrlFor(contentId: string, mode: DownloadMode, groupId: string): Promise<string> {
    const fallback = defaultArraysUrl(serverUrl);
    const group = mode === 'group' ? groupId : undefined;
    try {
      return (await fetchDiscovery(serverUrl, { contentId, mode, ...(group !== undefined ? { group } : {}) })).arraysUrl;
    } catch (e) {
      debug('discovery failed, using %s: %s', fallback, e instanceof Error ? e.message : String(e));
      return fallback;
    }
  }

  /** The signaling connection to `url`, shared by the downloads that instance serves. */
  function signalingAt(url: string): Signaling {
    let signaling = signalings.get(url);
    if (!signaling) signalings.set(url, (signaling = createWebSocketSignaling(url, { peerSecret: identity.secret })));
    return signaling;
  }

  /**
   * The piece cache (docs/cache.md): one record per content, evicted by age and least recent use
   * within the limits, never while this tab or another uses it. Its failures never fail a download.
   */
  const cache = createPieceCache({ pieces: store });
  const quiet = (what: string) => (e: unknown) => debug('cache: %s failed: %s', what, e instanceof Error ? e.message : String(e));
  const activeIds = () => new Set([...downloads].map((d) => d.storageId));
  /**
   * Contents a `download()` call is opening (from its start to its Download joining
   * `downloads`): a seed from the cache must not start for them meanwhile, or two Downloads of
   * one content would answer the same peers' signals with one peer ID.
   */
  const opening = new Map<string, number>();
  const isTaken = (storageId: string) => (opening.get(storageId) ?? 0) > 0 || [...downloads].some((d) => d.storageId === storageId);
  const enforceCache = () => cache.enforce(config, activeIds()).then(
    (r) => r.evicted.length > 0 && debug('cache: evicted %o', r.evicted),
    quiet('eviction'),
  );
  const renewTimer = setInterval(() => void cache.renew(activeIds()).catch(quiet('lease renewal')), 30_000);

  /**
   * DO's "files peered at once": completed downloads and cached contents offered to peers are
   * at most `maxSeededContents`; the ones completed longest ago stop seeding first.
   */
  function limitSeeding(): void {
    const seeding = tracked.filter((t) => t.download.state === 'complete' && downloads.has(t.download)).sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    for (const t of seeding.slice(0, Math.max(0, seeding.length - config.maxSeededContents))) {
      t.download.stop();
      downloads.delete(t.download);
      void cache.release(t.download.storageId).catch(quiet('release'));
    }
  }

  // Per-peer rates need samples while downloads run, whether or not anyone asks for status.
  const sampler = setInterval(() => {
    const now = Date.now();
    for (const t of tracked) if (t.endedAt === undefined) t.rates.sample(now, t.download.snapshot().peers);
  }, 1000);

  /** The caller's handle on `download` (client-download.ts), tied into the cache and the seeding limit. */
  function wrapDownload(
    download: Download,
    content: OpenedContent,
    entry: (typeof tracked)[number],
    signal: AbortSignal | undefined,
    signaling: Signaling | undefined,
    peeringOff?: string,
  ): ClientDownload {
    let recordedAt = 0;
    let piecesSinceRecord = 0;
    return createClientDownload(download, content, {
      store,
      signal,
      signaling,
      peeringOff,
      status: () => statusOf(entry, Date.now()),
      ended: () => {
        entry.endedAt ??= Date.now();
      },
      // The cache's byte count, every 16 pieces or 2 s (it sizes eviction; a reload recounts anyway).
      stored(bytesDone) {
        const now = Date.now();
        if (++piecesSinceRecord < 16 && now - recordedAt < 2000) return;
        piecesSinceRecord = 0;
        recordedAt = now;
        void cache.recordBytes(download.storageId, bytesDone).catch(quiet('byte count'));
      },
      completed() {
        void cache
          .recordBytes(download.storageId, content.metadata.fileSize, true)
          .then(enforceCache, quiet('completion'))
          .finally(limitSeeding);
      },
      aborted() {
        if (downloads.delete(download)) void cache.release(download.storageId).catch(quiet('release'));
      },
    });
  }

  async function openDownload(target: string, request: DownloadRequest = {}): Promise<ClientDownload> {
    const cfg = resolveConfig({ ...config, ...request.config, ...(request.background !== undefined ? { isBackground: request.background } : {}) });
    if (cfg.downloadMode === 'bypass') {
      throw new TabswarmError('bypassed', 'download mode Bypass (100): tabswarm steps aside; the browser downloads the file itself (client.bypassUrl)');
    }
    request.signal?.throwIfAborted();
    const contentId = contentIdOf(target);
    const mode = peeringModeOf(cfg.downloadMode);
    const mayPeer = contentId !== undefined && mode !== undefined && !(mode === 'group' && cfg.groupId === '');
    // Discovery and the bootstrap document are asked while the policy and metadata come, so
    // peering costs no extra round trips; nothing connects until the content allows peering.
    const arraysUrl = mayPeer ? arraysUrlFor(contentId, mode, cfg.groupId) : undefined;
    if (mayPeer) void loadConnector();
    const content =
      contentId === undefined
        ? await openUrl(target, { hasher, http })
        : await openContent(serverUrl, contentId, {
            fetcher,
            hasher,
            http,
            cdnBaseUrl: options.cdnBaseUrl,
            noServices: cfg.downloadMode === 'simple',
          });
    request.signal?.throwIfAborted();
    // A browser without WebRTC (disabled by a policy or an extension) cannot trade pieces.
    const noWebRtc = typeof globalThis.RTCPeerConnection !== 'function';
    const peeringOff =
      noWebRtc && content.mode === 'verified' && content.policy.peering && mayPeer
        ? 'this browser offers no WebRTC (RTCPeerConnection), so it cannot trade pieces with other tabs: the file comes from the CDN only, still verified'
        : undefined;
    if (peeringOff !== undefined && content.cdnUrls.length === 0) {
      throw new TabswarmError('peer-gone', 'this file is shared by peers only, and this browser offers no WebRTC (RTCPeerConnection) to reach them: open it in a browser with WebRTC');
    }
    const peering = content.mode === 'verified' && content.policy.peering && !noWebRtc;
    // HTTP-only and Simple never announce, nor does group mode without a group ID (Swarm):
    // those need no Arrays instance and no WebRTC.
    const [signaling, peerConnector] =
      peering && arraysUrl ? await Promise.all([arraysUrl.then(signalingAt), loadConnector()]) : [undefined, undefined];
    const download = new Download({
      contentId: content.contentId,
      metadata: content.metadata,
      peerId,
      cdnUrls: content.cdnUrls,
      hasher,
      store,
      http,
      signaling,
      connector: peerConnector,
      peering,
      simpleReason: content.mode === 'simple' ? content.reason : undefined,
      config: cfg,
      bandwidth,
      bannedAddresses: banned,
    });
    await cache
      .touch({
        contentId: content.contentId,
        storageId: download.storageId,
        ...(content.mode === 'verified' ? { metadata: content.metadata } : {}),
        fileName: content.metadata.name,
        fileSize: content.metadata.fileSize,
        seedable: peering,
      })
      .then(() => cache.recount(download.storageId, content.metadata))
      .catch(quiet('record'));
    // One Download per content in a tab: a seed of it from the cache gives way (no await
    // between this and joining `downloads`, so nothing else can start one in between).
    for (const d of downloads) {
      if (d.storageId === download.storageId) {
        d.stop();
        downloads.delete(d);
        const at = tracked.findIndex((t) => t.download === d);
        if (at >= 0) tracked.splice(at, 1);
      }
    }
    const entry = { download, mode: cfg.downloadMode, background: cfg.isBackground, startedAt: Date.now(), endedAt: undefined as number | undefined, rates: new PeerRates() };
    tracked.push(entry);
    downloads.add(download);
    void enforceCache();
    return wrapDownload(download, content, entry, request.signal, signaling, peeringOff);
  }

  /**
   * Offers the contents complete in the cache to peers (DO keeps seeding what it cached): the
   * most recently used first, within `maxSeededContents`. Cached metadata is hashed against its
   * content ID first; a seed starts complete (`trustStored`) and re-hashes every piece it serves.
   */
  async function seedFromCache(): Promise<void> {
    const mode = peeringModeOf(config.downloadMode);
    if (mode === undefined || (mode === 'group' && config.groupId === '')) return;
    const records = (await cache.list()).filter((r) => r.complete && r.seedable && r.metadataJson !== undefined && r.storageId === r.contentId);
    for (const id of contentsToSeed(records, config.maxSeededContents, downloads.size)) {
      const record = records.find((r) => r.storageId === id)!;
      if (isTaken(id)) continue;
      try {
        const metadata = await verifyStoredMetadata(id, record.metadataJson!, hasher);
        const [signaling, connector] = await Promise.all([arraysUrlFor(id, mode, config.groupId).then(signalingAt), loadConnector()]);
        if (isTaken(id)) continue; // the page opened it meanwhile: no await from here to `downloads.add`
        const download = new Download({ contentId: id, metadata, peerId, cdnUrls: [], hasher, store, http, signaling, connector, peering: true, config, bandwidth, trustStored: true, bannedAddresses: banned });
        const entry = { download, mode: config.downloadMode, background: true, startedAt: Date.now(), endedAt: undefined as number | undefined, rates: new PeerRates() };
        tracked.push(entry);
        downloads.add(download);
        void cache.touch({ contentId: id, metadata, seedable: true }).catch(quiet('record'));
        await download.start();
        entry.endedAt = Date.now();
        // A seed that finds pieces missing (removed by another tab meanwhile) has no CDN to fill them: it stops.
        if (download.state !== 'complete') {
          download.stop();
          downloads.delete(download);
          void cache.release(id).catch(quiet('release'));
          continue;
        }
        debug('seeding %s (%s) from the cache', id, metadata.name);
      } catch (e) {
        quiet(`seeding ${id}`)(e);
        if (e instanceof TabswarmError && (e.kind === 'metadata-hash-mismatch' || e.kind === 'metadata-invalid')) await cache.remove(id).catch(quiet('removal'));
      }
    }
  }
  void enforceCache().then(() => (options.seedCache === false ? undefined : seedFromCache())).catch(quiet('seeding'));

  return {
    peerId,
    async bypassUrl(contentId) {
      let policy: ContentPolicy | undefined;
      try {
        policy = await openPolicy(serverUrl, contentId, fetcher);
      } catch {
        policy = undefined; // the CDN base still names it
      }
      const url = cdnUrlsOf(serverUrl, contentId, policy, options.cdnBaseUrl)[0];
      if (url === undefined) throw new TabswarmError('cdn-error', 'this content is shared by peers only: there is no CDN copy for the browser to download');
      return url;
    },
    get settings() {
      return config;
    },
    saveSettings(changes) {
      const saved = saveSettings(storage, changes);
      config = resolveConfig(layeredSettings({ page: pageConfig, saved, query }));
      bandwidth.configure(config);
      watchPower();
      return saved;
    },
    status() {
      const now = Date.now();
      const snap = perfSnapshot(peerId, tracked.map((t) => statusOf(t, now)));
      const blocked = bandwidth.uploadsBlockedReason;
      if (blocked !== undefined) snap.UploadsBlocked = blocked;
      return snap;
    },
    bandwidth: () => bandwidth.status(),
    async download(target, request = {}) {
      const id = contentIdOf(target);
      if (id !== undefined) opening.set(id, (opening.get(id) ?? 0) + 1);
      try {
        return await openDownload(target, request);
      } finally {
        if (id !== undefined) opening.set(id, (opening.get(id) ?? 1) - 1);
      }
    },
    cached: () => cache.list(),
    pin: (contentId) => cache.pin(contentId),
    unpin: (contentId) => cache.unpin(contentId),
    async evict(contentId) {
      if ([...downloads].some((d) => d.storageId === contentId)) throw new TabswarmError('storage-error', 'this content is downloading or seeding in this tab: stop it first');
      await cache.remove(contentId);
    },
    close() {
      clearInterval(sampler);
      clearInterval(renewTimer);
      for (const d of downloads) void cache.release(d.storageId).catch(quiet('release'));
      stopWatchingPower?.();
      bandwidth.close();
      for (const d of downloads) d.stop();
      downloads.clear();
      for (const s of signalings.values()) s.close();
      signalings.clear();
      hasher.close();
      store.close();
    },
  };
}
