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
import { resolveConfig, type ClientConfig } from '../core/config.js';
import { bannedAddresses } from '../core/swarm.js';
import { TabswarmError } from '../core/errors.js';
import { cdnUrlsOf, openPolicy } from '../core/open-content.js';
import type { PerfSnapshot } from '../core/status.js';
import { shareFile, type ShareFileOptions } from '../core/share-file.js';
import { TabDownloads } from '../core/tab-downloads.js';
import type { ContentPolicy } from '../protocol/content-policy.js';
import { BufferPool } from '../core/buffer-pool.js';
import { createPieceStores } from '../storage/piece-stores.js';
import { createPieceCache, type CacheRecord } from '../storage/piece-cache.js';
import type { ShareReply } from '../protocol/share.js';
import { createFetchBytes } from '../transport/fetch-bytes.js';
import { createFetchHttpRange } from '../transport/fetch-http-range.js';
import { postShare } from '../transport/share-api.js';
import { createHasherPool } from '../workers/hasher-pool.js';
import { createClientDownload, type ClientDownload, type MediaPlayer } from './client-download.js';
import { createPeeringAdapters } from './peering-adapters.js';
import { newPeerIdentity } from './peer-id.js';
import { watchUploadConditions } from './power.js';
import { startStreamHost } from './stream-host.js';
import { serviceWorkerScope, swarmUrl, type ServiceWorkerOptions } from './swarm-url.js';
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
  /**
   * 'relay': peer connections use TURN-relayed candidates only (needs a TURN server), so peers
   * never see each other's addresses. Default: the server's bootstrap document's ('all' if it names none).
   */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** The CDN to use in simple mode when even the content policy is unavailable. Default: `<serverUrl>/cdn`. */
  cdnBaseUrl?: string;
  /**
   * Where pieces go: 'auto' (a file per content in the origin private file system where the
   * browser has it, IndexedDB otherwise) or 'idb' (IndexedDB always). Default: 'auto'.
   */
  store?: 'auto' | 'idb';
  /**
   * The Service Worker that plays contents while they download (`download.url()`): where its
   * script is served and its scope. Registered the first time `url()` is called. Default: the
   * app's, `/tabswarm-sw.js` with scope `/`.
   */
  serviceWorker?: ServiceWorkerOptions;
}

export type { ClientDownload, ClientDownloadEvents, Progress } from './client-download.js';
export { contentIdOf } from '../core/tab-downloads.js';

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
  /**
   * Shares a local file with a class (docs/classroom.md): hashes it in the workers, publishes its
   * metadata (POST /api/share), stores its pieces, and seeds it in download mode Group, the
   * share's own group. Resolves with the server's reply (link, join code) and the seeding download.
   */
  share(file: Blob, options?: ShareFileOptions): Promise<{ reply: ShareReply; seed: ClientDownload }>;
  /** Saves settings for this origin (merged; undefined forgets a key) and applies them to new downloads. Returns what is saved. */
  saveSettings(changes: Partial<Record<keyof ClientConfig, unknown>>): Partial<ClientConfig>;
  close(): void;
}

export function createClient(options: ClientOptions = {}): TabswarmClient {
  const serverUrl = options.serverUrl ?? location.origin;
  const identity = newPeerIdentity();
  const peerId = identity.peerId;
  const hasher = createHasherPool();
  /** Piece buffers used again: filled by the CDN (and peers), handed back by the pass worker. */
  const buffers = new BufferPool();
  const store = createPieceStores({ prefer: options.store ?? 'auto', buffers });
  const http = createFetchHttpRange(fetch, { buffers });
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
  const peering = createPeeringAdapters(serverUrl, identity.secret, { iceServers: options.iceServers, iceTransportPolicy: options.iceTransportPolicy });
  /** The piece cache (docs/cache.md): its failures never fail a download. */
  const cache = createPieceCache({ pieces: store });
  /** The downloads and seeds, and the rules that span them (src/core/tab-downloads.ts). */
  const tab = new TabDownloads({
    peerId,
    serverUrl,
    ...(options.cdnBaseUrl !== undefined ? { cdnBaseUrl: options.cdnBaseUrl } : {}),
    hasher,
    store,
    http,
    fetcher,
    cache,
    bandwidth,
    bannedAddresses: banned,
    buffers,
    ...(typeof navigator !== 'undefined' && typeof navigator.storage === 'object' ? { room: navigator.storage } : {}),
    arraysFor: peering.arraysFor,
    connector: peering.connector,
    hasWebRtc: () => typeof globalThis.RTCPeerConnection === 'function',
    config: () => config,
    log: debug,
  });
  tab.begin(options.seedCache !== false);
  /** Players of this tab's contents (ClientDownload.watch), by content ID: their rate and playhead set the deadlines. */
  const players = new Map<string, MediaPlayer>();
  // Answers the Service Worker for this tab's contents (a page of the origin may be asked even if it never called url()).
  const stopStreamHost = startStreamHost({
    find: (contentId) => tab.find(contentId),
    player: (contentId) => players.get(contentId),
    digest: async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)),
    readStored: (storageId, index) => store.get(storageId, index),
    log: debug,
  });

  const client: TabswarmClient = {
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
    status: () => tab.status(),
    bandwidth: () => bandwidth.status(),
    async download(target, request = {}) {
      const opened = await tab.open(target, request);
      const { contentId, metadata } = opened.content;
      const url = async () => swarmUrl(await serviceWorkerScope(options.serviceWorker), contentId, metadata.name);
      const setPlayer = (player: MediaPlayer | undefined) => (player === undefined ? players.delete(contentId) : players.set(contentId, player));
      return createClientDownload(opened.download, opened.content, { ...opened.hooks, store, signal: request.signal, signaling: opened.signaling, peeringOff: opened.peeringOff, url, setPlayer });
    },
    async share(file, shareOptions) {
      const reply = await shareFile(file, { hasher, store, publish: (metadata) => postShare(serverUrl, metadata) }, shareOptions);
      const seed = await client.download(reply.contentId, { config: { downloadMode: 'group', groupId: reply.groupId } });
      return { reply, seed };
    },
    cached: () => cache.list(),
    pin: (contentId) => cache.pin(contentId),
    unpin: (contentId) => cache.unpin(contentId),
    async evict(contentId) {
      if (tab.isActive(contentId)) throw new TabswarmError('storage-error', 'this content is downloading or seeding in this tab: stop it first');
      await cache.remove(contentId);
    },
    close() {
      stopStreamHost();
      tab.close();
      stopWatchingPower?.();
      bandwidth.close();
      peering.close();
      hasher.close();
    },
  };
  return client;
}
