/**
 * Delivery Optimization's status reports, for one download and for the whole tab:
 * `downloadStatus` mirrors `Get-DeliveryOptimizationStatus` (one record per file, DO's field
 * names), `perfSnapshot` mirrors `Get-DeliveryOptimizationPerfSnap` (the device's totals; here
 * the tab's). Field names are DO's so that an administrator reads them as they know them;
 * fields DO does not have (rejected pieces, bans, cache bytes) are added in the same style.
 * Cache nodes (DO's Connected Cache) are peers here: their bytes are in BytesFromPeers, and
 * BytesFromCacheServer (DO's name) is that part of them.
 *
 * Pure functions over read-only views; the per-peer rates come from `PeerRates`, which the
 * caller samples (the client does, once a second while downloads run).
 */
import type { ClientDownloadMode } from './config.js';
import type { DownloadState } from './download.js';
import type { StatsSnapshot } from './stats.js';

/** DO's download mode names and numbers. */
export const DO_MODE: Record<ClientDownloadMode, { name: DownloadModeName; number: number }> = {
  http: { name: 'HttpOnly', number: 0 },
  lan: { name: 'Lan', number: 1 },
  group: { name: 'Group', number: 2 },
  internet: { name: 'Internet', number: 3 },
  simple: { name: 'Simple', number: 99 },
  bypass: { name: 'Bypass', number: 100 },
};
export type DownloadModeName = 'HttpOnly' | 'Lan' | 'Group' | 'Internet' | 'Simple' | 'Bypass';

export type StatusName = 'Idle' | 'Downloading' | 'Verifying' | 'Complete' | 'Failed' | 'Stopped';
const STATUS_OF: Record<DownloadState, StatusName> = {
  idle: 'Idle',
  downloading: 'Downloading',
  verifying: 'Verifying',
  complete: 'Complete',
  failed: 'Failed',
  stopped: 'Stopped',
};

export interface PeerStatus {
  PeerId: string;
  BytesFrom: number;
  BytesTo: number;
  /** Over the last few seconds (PeerRates). */
  DownloadBps: number;
  UploadBps: number;
  PiecesFrom: number;
  Strikes: number;
  /** Requests that passed their deadline (docs/protocol.md, "Deadlines"). */
  Timeouts: number;
  /** Times the tab dropped the peer for lagging: slow or stalled, not dishonest. */
  Drops: number;
  Banned: boolean;
  Connected: boolean;
  /** A cache node (listed with `cache: true`): its bytes count in BytesFromCacheServer. */
  CacheNode: boolean;
}

export interface DownloadStatus {
  FileId: string;
  FileName: string;
  FileSize: number;
  /** Bytes this download brought in, from peers and HTTP (not what was already cached). */
  TotalBytesDownloaded: number;
  BytesFromPeers: number;
  /** BytesFromPeers split by the scope the peers were met in (one scope per download: its mode). */
  BytesFromLanPeers: number;
  BytesFromGroupPeers: number;
  BytesFromInternetPeers: number;
  /** The part of BytesFromPeers that came from cache nodes. */
  BytesFromCacheServer: number;
  BytesFromHTTP: number;
  /** Pieces found in the tab's cache when the download started. */
  BytesFromCache: number;
  /** Share of the downloaded bytes that came from peers, 0-100. */
  PercentPeerCaching: number;
  BytesToPeers: number;
  BytesToLanPeers: number;
  BytesToGroupPeers: number;
  BytesToInternetPeers: number;
  Status: StatusName;
  Priority: 'Foreground' | 'Background';
  DownloadMode: DownloadModeName;
  DownloadModeNumber: number;
  /** Peers connected now. */
  NumPeers: number;
  /** Seconds from the start to completion (or to now). */
  DownloadDuration: number;
  DownloadBps: number;
  UploadBps: number;
  PiecesRejected: number;
  PeersBanned: number;
  CdnErrors: number;
  /** Where its pieces are kept: 'opfs' (a file in the origin private file system) or 'indexeddb'; absent until opened. */
  Store?: string;
  /** Why the download runs in simple mode (unverified, HTTP only), if it does. */
  SimpleReason?: string;
  /** The error that failed it, if it failed: `<kind>: <message>`. */
  Error?: string;
  Peers: PeerStatus[];
}

/** What `downloadStatus` reads of a download (Download satisfies it). */
export interface StatusSource {
  readonly contentId: string;
  readonly metadata: { name: string; fileSize: number; pieceSize: number };
  readonly state: DownloadState;
  readonly connectedPeers: number;
  readonly simpleReason: string | undefined;
  readonly error: { kind: string; message: string } | undefined;
  /** Where its pieces are kept, once opened. */
  readonly storeKind?: string | undefined;
  snapshot(): StatsSnapshot;
}

export interface StatusContext {
  mode: ClientDownloadMode;
  background: boolean;
  /** ms since the epoch */
  startedAt: number;
  /** When it completed, failed or stopped; undefined while it runs. */
  endedAt: number | undefined;
  now: number;
  rates?: PeerRates;
}

/** Per-peer rates from samples of the peers' byte counters, over the last `windowMs`. */
export class PeerRates {
  private readonly samples: Array<{ at: number; bytes: Map<string, { from: number; to: number }> }> = [];
  constructor(private readonly windowMs = 5000) {}

  sample(now: number, peers: StatsSnapshot['peers']): void {
    this.samples.push({ at: now, bytes: new Map(peers.map((p) => [p.peerId, { from: p.downloaded, to: p.uploaded }])) });
    while (this.samples.length > 2 && now - this.samples[1]!.at >= this.windowMs) this.samples.shift();
  }

  /** Bytes per second from and to `peerId` between the oldest kept sample and `now`'s counters. */
  rateOf(peerId: string, now: number, from: number, to: number): { down: number; up: number } {
    const oldest = this.samples[0];
    if (!oldest || now - oldest.at < 250) return { down: 0, up: 0 };
    const was = oldest.bytes.get(peerId) ?? { from: 0, to: 0 };
    const seconds = (now - oldest.at) / 1000;
    return { down: Math.max(0, (from - was.from) / seconds), up: Math.max(0, (to - was.to) / seconds) };
  }
}

const scoped = (mode: ClientDownloadMode, scope: 'lan' | 'group' | 'internet', bytes: number) => (mode === scope ? bytes : 0);

export function downloadStatus(d: StatusSource, ctx: StatusContext): DownloadStatus {
  const s = d.snapshot();
  const downloaded = s.bytesFromPeers + s.bytesFromCdn;
  const fromCache = Math.min(d.metadata.fileSize, s.piecesFromStore * d.metadata.pieceSize);
  const mode = DO_MODE[ctx.mode];
  const end = ctx.endedAt ?? ctx.now;
  const status: DownloadStatus = {
    FileId: d.contentId,
    FileName: d.metadata.name,
    FileSize: d.metadata.fileSize,
    TotalBytesDownloaded: downloaded,
    BytesFromPeers: s.bytesFromPeers,
    BytesFromLanPeers: scoped(ctx.mode, 'lan', s.bytesFromPeers),
    BytesFromGroupPeers: scoped(ctx.mode, 'group', s.bytesFromPeers),
    BytesFromInternetPeers: scoped(ctx.mode, 'internet', s.bytesFromPeers),
    BytesFromCacheServer: s.bytesFromCacheNodes,
    BytesFromHTTP: s.bytesFromCdn,
    BytesFromCache: fromCache,
    PercentPeerCaching: downloaded === 0 ? 0 : Math.round((s.bytesFromPeers / downloaded) * 1000) / 10,
    BytesToPeers: s.bytesUploaded,
    BytesToLanPeers: scoped(ctx.mode, 'lan', s.bytesUploaded),
    BytesToGroupPeers: scoped(ctx.mode, 'group', s.bytesUploaded),
    BytesToInternetPeers: scoped(ctx.mode, 'internet', s.bytesUploaded),
    Status: STATUS_OF[d.state],
    Priority: ctx.background ? 'Background' : 'Foreground',
    DownloadMode: mode.name,
    DownloadModeNumber: mode.number,
    NumPeers: d.connectedPeers,
    DownloadDuration: Math.max(0, Math.round((end - ctx.startedAt) / 100) / 10),
    DownloadBps: Math.round(s.downloadBps),
    UploadBps: Math.round(s.uploadBps),
    PiecesRejected: s.piecesRejected,
    PeersBanned: s.peersBanned,
    CdnErrors: s.cdnErrors,
    Peers: s.peers.map((p) => {
      const r = ctx.rates?.rateOf(p.peerId, ctx.now, p.downloaded, p.uploaded) ?? { down: 0, up: 0 };
      return {
        PeerId: p.peerId,
        BytesFrom: p.downloaded,
        BytesTo: p.uploaded,
        DownloadBps: Math.round(r.down),
        UploadBps: Math.round(r.up),
        PiecesFrom: p.piecesFrom,
        Strikes: p.strikes,
        Timeouts: p.timeouts,
        Drops: p.drops,
        Banned: p.banned,
        Connected: p.connected,
        CacheNode: p.cacheNode,
      };
    }),
  };
  if (d.storeKind !== undefined) status.Store = d.storeKind;
  if (d.simpleReason !== undefined) status.SimpleReason = d.simpleReason;
  if (d.error !== undefined) status.Error = `${d.error.kind}: ${d.error.message}`;
  return status;
}

/** The tab's totals, like Get-DeliveryOptimizationPerfSnap. */
export interface PerfSnapshot {
  PeerId: string;
  Files: number;
  FilesDownloading: number;
  FilesComplete: number;
  TotalBytesDownloaded: number;
  TotalBytesFromPeers: number;
  TotalBytesFromLanPeers: number;
  TotalBytesFromGroupPeers: number;
  TotalBytesFromInternetPeers: number;
  /** The part of TotalBytesFromPeers that came from cache nodes. */
  TotalBytesFromCacheServer: number;
  TotalBytesFromHTTP: number;
  TotalBytesFromCache: number;
  TotalBytesToPeers: number;
  PercentPeerCaching: number;
  NumPeers: number;
  DownloadBps: number;
  UploadBps: number;
  PiecesRejected: number;
  PeersBanned: number;
  /** Set by the client: why uploads are off now (battery, metered, disabled), if they are. */
  UploadsBlocked?: string;
  Downloads: DownloadStatus[];
}

export function perfSnapshot(peerId: string, downloads: DownloadStatus[]): PerfSnapshot {
  const sum = (f: (d: DownloadStatus) => number) => downloads.reduce((a, d) => a + f(d), 0);
  const downloaded = sum((d) => d.TotalBytesDownloaded);
  const fromPeers = sum((d) => d.BytesFromPeers);
  return {
    PeerId: peerId,
    Files: downloads.length,
    FilesDownloading: downloads.filter((d) => d.Status === 'Downloading' || d.Status === 'Verifying').length,
    FilesComplete: downloads.filter((d) => d.Status === 'Complete').length,
    TotalBytesDownloaded: downloaded,
    TotalBytesFromPeers: fromPeers,
    TotalBytesFromLanPeers: sum((d) => d.BytesFromLanPeers),
    TotalBytesFromGroupPeers: sum((d) => d.BytesFromGroupPeers),
    TotalBytesFromInternetPeers: sum((d) => d.BytesFromInternetPeers),
    TotalBytesFromCacheServer: sum((d) => d.BytesFromCacheServer),
    TotalBytesFromHTTP: sum((d) => d.BytesFromHTTP),
    TotalBytesFromCache: sum((d) => d.BytesFromCache),
    TotalBytesToPeers: sum((d) => d.BytesToPeers),
    PercentPeerCaching: downloaded === 0 ? 0 : Math.round((fromPeers / downloaded) * 1000) / 10,
    NumPeers: sum((d) => d.NumPeers),
    DownloadBps: sum((d) => d.DownloadBps),
    UploadBps: sum((d) => d.UploadBps),
    PiecesRejected: sum((d) => d.PiecesRejected),
    PeersBanned: sum((d) => d.PeersBanned),
    Downloads: downloads,
  };
}
