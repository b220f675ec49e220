/**
 * The tab's set of downloads and seeds, DOM-free: it opens a content (verified, or simple
 * mode), decides whether it peers, starts its Download, and owns the rules that span
 * downloads:
 * - one Download per content in a tab (a seed from the cache gives way to a download the page
 *   asks for, and never starts for a content being opened);
 * - DO's "files peered at once": at most `maxSeededContents` completed contents are seeded;
 *   the ones completed longest ago stop first;
 * - the piece cache (a port): records, leases renewed while a content is used, byte counts,
 *   eviction after each completion, and seeding what it holds complete;
 * - the status of every download (DO's PerfSnap), with per-peer rates sampled each second.
 * The browser's adapters (Arrays connections, WebRTC, IndexedDB, workers) come in as ports;
 * src/client/create-client.ts wires them.
 */
import type { Bandwidth } from './bandwidth.js';
import { contentsToSeed } from './cache-policy.js';
import { systemClock, type Clock } from './clock.js';
import { peeringModeOf, resolveConfig, type ClientConfig } from './config.js';
import { Download } from './download.js';
import { TabswarmError } from './errors.js';
import { openContent, openUrl, type OpenContentDeps, type OpenedContent } from './open-content.js';
import type { ContentCache, Hasher, HttpRange, PeerConnector, PieceStore, Signaling } from './ports.js';
import { downloadStatus, PeerRates, perfSnapshot, type DownloadStatus, type PerfSnapshot } from './status.js';
import type { StorageRoom } from './storage-room.js';
import type { BannedAddresses } from './swarm.js';
import { verifyStoredMetadata } from './verify-stored.js';
import type { DownloadMode } from '../protocol/arrays-messages.js';
import { SHA256_HEX } from '../protocol/hex.js';
import type { BufferPool } from './buffer-pool.js';

export interface TabDownloadsPorts {
  peerId: string;
  serverUrl: string;
  cdnBaseUrl?: string;
  hasher: Hasher;
  store: PieceStore;
  http: HttpRange;
  fetcher: OpenContentDeps['fetcher'];
  cache: ContentCache;
  /** The tab's bandwidth controls, shared by every download. */
  bandwidth: Bandwidth;
  /** The browser's storage manager, for the room check before a download (core/storage-room.ts). */
  room?: StorageRoom;
  bannedAddresses: BannedAddresses;
  /** Piece buffers shared by the tab's downloads, the CDN and the piece files (core/buffer-pool.ts). */
  buffers?: BufferPool;
  /** Time and timers of the tab and of its downloads (the simulator's, in simulated time). @default systemClock */
  clock?: Clock;
  /** The Arrays connection that serves this content's swarm in this mode (Discovery); never rejects. */
  arraysFor(contentId: string, mode: DownloadMode, groupId: string): Promise<Signaling>;
  /** The WebRTC connector (after the bootstrap document's ICE servers), made once. */
  connector(): Promise<PeerConnector>;
  /** Whether this browser has WebRTC (RTCPeerConnection). */
  hasWebRtc(): boolean;
  /** The settings in effect for new downloads. */
  config(): ClientConfig;
  log(message: string, ...args: unknown[]): void;
}

export interface OpenRequest {
  /** DO's IsBackground for this download. Default: the settings'. */
  background?: boolean;
  signal?: AbortSignal;
  /** Settings for this download only, over the tab's. */
  config?: Partial<ClientConfig>;
}

/** What the caller's handle (client-download.ts) is told of, and tells back. */
export interface DownloadHooks {
  status(): DownloadStatus;
  ended(): void;
  stored(bytesDone: number): void;
  completed(): void;
  aborted(): void;
}

export interface OpenedDownload {
  download: Download;
  content: OpenedContent;
  /** The download's Arrays connection, if it peers. */
  signaling: Signaling | undefined;
  /** Why it does not peer although its mode and policy would, if so. */
  peeringOff: string | undefined;
  hooks: DownloadHooks;
}

/** The content ID a download target names: itself, or the `c=` of an app link; undefined for another URL. */
export function contentIdOf(target: string): string | undefined {
  const t = target.trim().toLowerCase();
  if (SHA256_HEX.test(t)) return t;
  return /[#&?]c=([0-9a-f]{64})(?:$|&)/i.exec(target)?.[1]?.toLowerCase();
}

interface Tracked {
  download: Download;
  mode: ClientConfig['downloadMode'];
  background: boolean;
  startedAt: number;
  endedAt: number | undefined;
  rates: PeerRates;
}

export class TabDownloads {
  /** Every download started, with what its status needs. */
  private readonly tracked: Tracked[] = [];
  /** The downloads running or seeding now. */
  private readonly downloads = new Set<Download>();
  /**
   * Contents an `open()` call is opening (from its start to its Download joining `downloads`):
   * a seed from the cache must not start for them meanwhile, or two Downloads of one content
   * would answer the same peers' signals with one peer ID.
   */
  private readonly opening = new Map<string, number>();
  private readonly sampler: unknown;
  private readonly renewTimer: unknown;
  private readonly clock: Clock;
  private closed = false;

  constructor(private readonly p: TabDownloadsPorts) {
    const clock = (this.clock = p.clock ?? systemClock);
    // Per-peer rates need samples while downloads run, whether or not anyone asks for status.
    this.sampler = clock.setInterval(() => {
      const now = clock.now();
      for (const t of this.tracked) if (t.endedAt === undefined) t.rates.sample(now, t.download.snapshot().peers);
    }, 1000);
    this.renewTimer = clock.setInterval(() => void p.cache.renew(this.activeIds()).catch(this.quiet('lease renewal')), 30_000);
  }

  /** Evicts what the cache limits say (never what this tab uses), then seeds from the cache unless told not to. */
  begin(seedCache: boolean): void {
    void this.enforceCache()
      .then(() => (seedCache ? this.seedFromCache() : undefined))
      .catch(this.quiet('seeding'));
  }

  /**
   * Opens a content ID, an app link or a plain URL (simple mode) and starts its download. In
   * download mode Bypass it rejects with kind 'bypassed'.
   */
  async open(target: string, request: OpenRequest = {}): Promise<OpenedDownload> {
    const id = contentIdOf(target);
    if (id !== undefined) this.opening.set(id, (this.opening.get(id) ?? 0) + 1);
    try {
      return await this.openNow(target, id, request);
    } finally {
      if (id !== undefined) this.opening.set(id, (this.opening.get(id) ?? 1) - 1);
    }
  }

  /** The verified download or seed of `contentId` in this tab (not a simple-mode one: its pieces are unverified). */
  find(contentId: string): Download | undefined {
    return [...this.downloads].find((d) => d.storageId === contentId && d.simpleReason === undefined && d.state !== 'failed' && d.state !== 'stopped');
  }

  /**
   * Stops the downloads and seeds of a content for good, and drops this tab's lease on it (the
   * Node cache node, before it evicts a content it seeds: a seed holds its file open).
   */
  stop(storageId: string): void {
    for (const d of [...this.downloads]) if (d.storageId === storageId) this.retire(d);
  }

  /** Whether a content is downloading or seeding in this tab. */
  isActive(storageId: string): boolean {
    return [...this.downloads].some((d) => d.storageId === storageId);
  }

  /** The tab's totals and every download's status (Get-DeliveryOptimizationPerfSnap), with why uploads are off if they are. */
  status(): PerfSnapshot {
    const now = this.clock.now();
    const snap = perfSnapshot(
      this.p.peerId,
      this.tracked.map((t) => this.statusOf(t, now)),
    );
    const blocked = this.p.bandwidth.uploadsBlockedReason;
    if (blocked !== undefined) snap.UploadsBlocked = blocked;
    return snap;
  }

  close(): void {
    this.closed = true;
    this.clock.clearInterval(this.sampler);
    this.clock.clearInterval(this.renewTimer);
    for (const d of this.downloads) void this.p.cache.release(d.storageId).catch(this.quiet('release'));
    for (const d of this.downloads) d.stop();
    this.downloads.clear();
  }

  private async openNow(target: string, contentId: string | undefined, request: OpenRequest): Promise<OpenedDownload> {
    const { p } = this;
    const cfg = resolveConfig({ ...p.config(), ...request.config, ...(request.background !== undefined ? { isBackground: request.background } : {}) });
    if (cfg.downloadMode === 'bypass') {
      throw new TabswarmError('bypassed', 'download mode Bypass (100): tabswarm steps aside; the browser downloads the file itself (client.bypassUrl)');
    }
    request.signal?.throwIfAborted();
    const mode = peeringModeOf(cfg.downloadMode);
    const mayPeer = contentId !== undefined && mode !== undefined && !(mode === 'group' && cfg.groupId === '');
    // Discovery and the bootstrap document are asked while the policy and metadata come, so
    // peering costs no extra round trips; nothing connects until the content allows peering.
    const arrays = mayPeer ? p.arraysFor(contentId, mode, cfg.groupId) : undefined;
    if (mayPeer) void p.connector();
    const content =
      contentId === undefined
        ? await openUrl(target, p)
        : await openContent(p.serverUrl, contentId, { ...p, noServices: cfg.downloadMode === 'simple' });
    request.signal?.throwIfAborted();
    // A browser without WebRTC (disabled by a policy or an extension) cannot trade pieces.
    const noWebRtc = !p.hasWebRtc();
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
    const [signaling, connector] = peering && arrays ? await Promise.all([arrays, p.connector()]) : [undefined, undefined];
    const download = new Download({
      contentId: content.contentId,
      metadata: content.metadata,
      peerId: p.peerId,
      cdnUrls: content.cdnUrls,
      hasher: p.hasher,
      store: p.store,
      http: p.http,
      signaling,
      connector,
      peering,
      simpleReason: content.mode === 'simple' ? content.reason : undefined,
      config: cfg,
      bandwidth: p.bandwidth,
      bannedAddresses: p.bannedAddresses,
      ...(p.room ? { room: p.room } : {}),
      ...(p.buffers ? { buffers: p.buffers } : {}),
      clock: this.clock,
    });
    await p.cache
      .touch({
        contentId: content.contentId,
        storageId: download.storageId,
        ...(content.mode === 'verified' ? { metadata: content.metadata } : {}),
        fileName: content.metadata.name,
        fileSize: content.metadata.fileSize,
        seedable: peering,
      })
      .then(() => p.cache.recount(download.storageId, content.metadata))
      .catch(this.quiet('record'));
    // One Download per content in a tab: a seed of it from the cache gives way (no await
    // between this and joining `downloads`, so nothing else can start one in between).
    for (const d of this.downloads) {
      if (d.storageId !== download.storageId) continue;
      d.stop();
      this.downloads.delete(d);
      const at = this.tracked.findIndex((t) => t.download === d);
      if (at >= 0) this.tracked.splice(at, 1);
    }
    const entry = this.track(download, cfg.downloadMode, cfg.isBackground);
    void this.enforceCache();
    return { download, content, signaling, peeringOff, hooks: this.hooksFor(download, content, entry) };
  }

  private track(download: Download, mode: ClientConfig['downloadMode'], background: boolean): Tracked {
    const entry: Tracked = { download, mode, background, startedAt: this.clock.now(), endedAt: undefined, rates: new PeerRates() };
    this.tracked.push(entry);
    this.downloads.add(download);
    return entry;
  }

  /** The caller's handle tied into the cache and the seeding limit. */
  private hooksFor(download: Download, content: OpenedContent, entry: Tracked): DownloadHooks {
    const { cache } = this.p;
    let recordedAt = 0;
    let piecesSinceRecord = 0;
    return {
      status: () => this.statusOf(entry, this.clock.now()),
      ended: () => {
        entry.endedAt ??= this.clock.now();
      },
      // The cache's byte count, every 2 s once 16 pieces came (it sizes eviction; a reload
      // recounts anyway). Not more often: the record carries the metadata (a 16 GiB file's is
      // 1.1 MB of piece hashes), read and written whole each time; every 16 pieces of a fast
      // download that was most of the page's garbage, growing with the file.
      stored: (bytesDone) => {
        const now = this.clock.now();
        if (++piecesSinceRecord < 16 || now - recordedAt < 2000) return;
        piecesSinceRecord = 0;
        recordedAt = now;
        void cache.recordBytes(download.storageId, bytesDone).catch(this.quiet('byte count'));
      },
      completed: () => {
        void cache
          .recordBytes(download.storageId, content.metadata.fileSize, true)
          .then(() => this.enforceCache(), this.quiet('completion'))
          .finally(() => this.limitSeeding());
      },
      aborted: () => {
        this.retire(download);
      },
    };
  }

  /** Stops a download or seed for good: it leaves the set, and this tab's lease on its content goes. */
  private retire(download: Download): void {
    download.stop();
    if (this.downloads.delete(download)) void this.p.cache.release(download.storageId).catch(this.quiet('release'));
  }

  private statusOf(t: Tracked, now: number): DownloadStatus {
    t.rates.sample(now, t.download.snapshot().peers);
    return downloadStatus(t.download, { mode: t.mode, background: t.background, startedAt: t.startedAt, endedAt: t.endedAt, now, rates: t.rates });
  }

  private activeIds(): Set<string> {
    return new Set([...this.downloads].map((d) => d.storageId));
  }

  private isTaken(storageId: string): boolean {
    return (this.opening.get(storageId) ?? 0) > 0 || this.isActive(storageId);
  }

  private quiet(what: string): (e: unknown) => void {
    return (e) => this.p.log('cache: %s failed: %s', what, e instanceof Error ? e.message : String(e));
  }

  private enforceCache(): Promise<unknown> {
    // A completion's eviction can come after close(): the cache (a Node process's) is closed then.
    if (this.closed) return Promise.resolve();
    return this.p.cache.enforce(this.p.config(), this.activeIds()).then(
      (r) => r.evicted.length > 0 && this.p.log('cache: evicted %o', r.evicted),
      this.quiet('eviction'),
    );
  }

  /**
   * DO's "files peered at once": completed downloads and cached contents offered to peers are
   * at most `maxSeededContents`; the ones completed longest ago stop seeding first.
   */
  private limitSeeding(): void {
    const seeding = this.tracked.filter((t) => t.download.state === 'complete' && this.downloads.has(t.download)).sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    for (const t of seeding.slice(0, Math.max(0, seeding.length - this.p.config().maxSeededContents))) {
      this.retire(t.download);
    }
  }

  /**
   * Offers the contents complete in the cache to peers (DO keeps seeding what it cached): the
   * most recently used first, within `maxSeededContents`. Cached metadata is hashed against its
   * content ID first; a seed starts complete (`trustStored`) and re-hashes every piece it serves.
   */
  private async seedFromCache(): Promise<void> {
    const { p } = this;
    const config = p.config();
    const mode = peeringModeOf(config.downloadMode);
    if (mode === undefined || (mode === 'group' && config.groupId === '')) return;
    const records = (await p.cache.list()).filter((r) => r.complete && r.seedable && r.metadataJson !== undefined && r.storageId === r.contentId);
    for (const id of contentsToSeed(records, config.maxSeededContents, this.downloads.size)) {
      const record = records.find((r) => r.storageId === id)!;
      if (this.isTaken(id)) continue;
      try {
        const metadata = await verifyStoredMetadata(id, record.metadataJson!, p.hasher);
        const [signaling, connector] = await Promise.all([p.arraysFor(id, mode, config.groupId), p.connector()]);
        if (this.isTaken(id)) continue; // the page opened it meanwhile: no await from here to `track`
        const download = new Download({ contentId: id, metadata, peerId: p.peerId, cdnUrls: [], hasher: p.hasher, store: p.store, http: p.http, signaling, connector, peering: true, config, bandwidth: p.bandwidth, trustStored: true, bannedAddresses: p.bannedAddresses, clock: this.clock });
        const entry = this.track(download, config.downloadMode, true);
        void p.cache.touch({ contentId: id, metadata, seedable: true }).catch(this.quiet('record'));
        await download.start();
        entry.endedAt = this.clock.now();
        // A seed that finds pieces missing (removed by another tab meanwhile) has no CDN to fill them: it stops.
        if (download.state !== 'complete') {
          this.retire(download);
          continue;
        }
        p.log('seeding %s (%s) from the cache', id, metadata.name);
      } catch (e) {
        this.quiet(`seeding ${id}`)(e);
        if (e instanceof TabswarmError && (e.kind === 'metadata-hash-mismatch' || e.kind === 'metadata-invalid')) await p.cache.remove(id).catch(this.quiet('removal'));
      }
    }
  }
}
