/**
 * Client configuration: every tunable of the download engine, with its default, in one place
 * (the player's in config-stream.ts, the swarm's links in config-peering.ts). Components take
 * the `Pick<>` they use; docs/controls.md mirrors it.
 */
import { GROUP_ID_RE, type DownloadMode } from '../protocol/arrays-messages.js';
import { DEFAULT_PEERING_CONFIG, type PeeringConfig } from './config-peering.js';
import { DEFAULT_STREAM_CONFIG, type StreamConfig } from './config-stream.js';

/**
 * DO's download modes, by name: 'http' (DO 0: HTTP only, still verified, no peering), 'lan'
 * (1), 'group' (2), 'internet' (3), 'simple' (99: no tabswarm services at all, the CDN only,
 * unverified), 'bypass' (100: tabswarm steps aside and the browser downloads the file itself).
 */
export const CLIENT_DOWNLOAD_MODES = ['http', 'lan', 'group', 'internet', 'simple', 'bypass'] as const;
export type ClientDownloadMode = (typeof CLIENT_DOWNLOAD_MODES)[number];

/** The peering scope a mode announces with; undefined for the modes that never peer. */
export function peeringModeOf(mode: ClientDownloadMode): DownloadMode | undefined {
  return mode === 'lan' || mode === 'group' || mode === 'internet' ? mode : undefined;
}

export interface ClientConfig extends StreamConfig, PeeringConfig {
  /**
   * How long a download waits for peers before asking the CDN (DO's HTTP delay). Once it is
   * over, the CDN takes the pieces that no useful peer holds (a peer that lags, missed its
   * last deadline or is slow does not count: `peerIdleMs`, `slowPeerBytesPerSec`), and, in the
   * endgame (every missing piece asked of someone, or held by no peer that can be asked),
   * pieces asked of a lagging peer.
   * @default 2000
   */
  httpDelayMs: number;
  /**
   * Tabs downloading together split the pieces no peer holds, each fetching its share from
   * the CDN (src/core/cdn-share.ts). Another tab's share is fetched from the CDN only once
   * peers have delivered nothing for this long (the owner stalled or is unreachable), and then
   * only the pieces no linked peer holds (one that missed its last deadline, or a stranger
   * that lags, aside); a tab that leaves the swarm gives its share back at once.
   * @default 10000
   */
  peerStallMs: number;
  /**
   * In a big swarm (the service gave a CDN slot and says which pieces the swarm fetched from
   * the CDN, docs/protocol.md, "CDN slots"), a tab whose peers delivered nothing falls back to
   * the CDN for the pieces the swarm has not fetched after `peerStallMs`, but for those it has
   * (they are somewhere among the peers) only after this long. Lower: a file's last pieces come
   * sooner when the swarm is slow to spread them, and the CDN sends more (1,000 simulated peers,
   * docs/benchmarks.md). At most `peerStallMs` means the same as `peerStallMs`.
   * @default 30000
   */
  fetchedStallMs: number;
  /**
   * Most piece requests kept in flight to one peer. Enough to keep a data channel busy while
   * earlier pieces are verified. A stranger gets `strangerRequestsInFlight`; a peer gets no
   * more than its measured rate delivers in about 2 s (at least 2), and half as many after each miss.
   * @default 8
   */
  peerRequestsInFlight: number;
  /**
   * A peer that delivers a piece slower than this (bytes per second, measured piece by piece)
   * is slow: it is still asked for pieces, within its window, but the pieces only slow peers
   * hold count as held by no one, so once the HTTP delay is over the CDN takes them. A slow
   * peer does not set the pace of the whole download (in the endgame the CDN also takes over
   * what a slow peer was asked for); peers faster than this are preferred to the CDN, which is
   * what spares it.
   * @default 524288
   */
  slowPeerBytesPerSec: number;
  /**
   * Peers this download sends pieces to at once (core/upload-turns.ts). While more wait, each
   * is sent a piece in turn, the one that asked most recently first, so that a piece leaves at
   * the uplink's whole rate instead of a share of it (on a slow uplink, a share past every
   * requester's deadline). 0: every peer is sent what it asks at once, sharing the uplink.
   * @default 1
   */
  uploadSlots: number;
  /** Range requests kept in flight to the CDN. @default 4 */
  cdnRequestsInFlight: number;
  /**
   * Alone (fetching from the CDN in index order), consecutive missing pieces may be asked in
   * one range request of up to this many, read and verified a piece at a time: fewer requests.
   * But a tab closed mid-run leaves up to a run of bytes sent for nothing. 1: a request a piece.
   * @default 1
   */
  cdnRunPieces: number;
  /**
   * Most pieces received and not yet stored (hashed, written, fed to the whole-file hash):
   * past it no new request goes to any source until storage catches up, so a fast CDN or peer
   * cannot pile pieces up in memory behind a slower disk or hash worker. At least 1.
   * @default 8
   */
  piecesAwaitingStorage: number;
  /**
   * The least rate, in bytes per second, at which a peer is worth waiting for (DO: peers that
   * cannot deliver at the minimum rate are not waited for). A request sent while the peer
   * already owed us B bytes must be complete within `peerDeadlineGraceMs` plus
   * (B + the piece's length) at this rate, or it is cancelled and the peer has a miss; a peer
   * delivering below it lags (see `peerIdleMs`). A peer that misses a deadline while still
   * sending at a quarter of this keeps a window of one (an overloaded honest machine); one that
   * sends less is dropped. A download with no CDN (a classroom share) has nothing better to go
   * to, and uses a quarter of it. (Honest tabs on a loaded 2-core machine, eight at once, send
   * 50-100 KiB/s per link: docs/benchmarks.md.)
   * @default 65536
   */
  minPeerBytesPerSec: number;
  /**
   * The fixed part of every request's deadline: round trips, the peer reading the piece, a
   * busy machine. Also how long a busy peer may run below `minPeerBytesPerSec` before it lags,
   * and how long a trusted peer may fall quiet.
   * @default 6000
   */
  peerDeadlineGraceMs: number;
  /**
   * A stranger that owes us data and has sent nothing for this long lags (a trusted peer, one
   * that delivered a verified piece, after `peerDeadlineGraceMs`): it is asked for nothing
   * more until it completes a piece or owes nothing, and the pieces it holds no longer keep
   * the CDN (once the HTTP delay is over) from them. In the endgame what it was asked may be
   * taken back and asked of another source: by the CDN, and, from a stranger, by a trusted
   * peer that has nothing else to do. A peer whose missed deadlines halved what it may be
   * asked down to nothing is dropped (`relinkBackoffMs`).
   * @default 3000
   */
  peerIdleMs: number;
  /**
   * Requests in flight to a stranger: a peer that has not yet delivered a verified piece in
   * this download (probation).
   * @default 1
   */
  strangerRequestsInFlight: number;
  /**
   * Strikes after which a stranger is banned: a peer that has delivered no verified piece yet
   * is banned at its first bad piece or protocol violation.
   * @default 1
   */
  strangerStrikesToBan: number;
  /**
   * Bytes we may upload to one peer that bought it nothing new (pieces it cancelled part-way,
   * pieces sent whole before and asked again), beyond which such a request is a violation.
   * Together with "never a piece it announced" this bounds what a peer can make us upload to
   * the file once plus this. An honest peer wastes a few pieces at most per link (it gives up
   * on a sender only after misses, each halving what it asks, and then drops it).
   * @default 16777216
   */
  uploadWasteBytes: number;
  /**
   * Quick CANCELs (within 1 s of their REQUEST, LIMITS.quickCancelMs) one peer may send at once
   * (a token bucket's size), refilled at `peerCancelsPerSec`; each one past it is a violation
   * (request/cancel churn). Later CANCELs are free: an honest peer cancels a slow sender.
   * @default 32
   */
  peerCancelBurst: number;
  /** @default 1 */
  peerCancelsPerSec: number;
  /**
   * Timeout for one CDN range request.
   * @default 30000
   */
  cdnRequestTimeoutMs: number;
  /**
   * Bytes of piece data in one wire frame; at most LIMITS.maxWireChunk (256 KiB - 9), so that a
   * frame fits in one data-channel message.
   * @default 65536
   */
  wireChunkBytes: number;
  /**
   * The upload side stops queueing chunks while the data channel buffers more than this.
   * Chromium closes a channel that buffers over 16 MiB.
   * @default 4194304
   */
  sendBufferHighBytes: number;
  /**
   * Most piece requests a remote peer may have outstanding with us; more is a protocol violation.
   * @default 32
   */
  maxIncomingRequests: number;
  /**
   * Strikes (pieces that failed verification, protocol violations) after which a peer is
   * banned for this content.
   * @default 3
   */
  strikesToBan: number;
  /**
   * Whether the download is in the background (DO's IsBackground).
   * @default false
   */
  isBackground: boolean;
  /**
   * DO's download mode (CLIENT_DOWNLOAD_MODES). The peering ones are sent with every announce:
   * which peers the Arrays service may list to this tab and relay signals from. 'lan' (DO mode
   * 1, its default): peers behind the same public address (every private and loopback address
   * counts as one LAN); 'group' (mode 2): peers that announce the same `groupId`; 'internet'
   * (mode 3): any peer of the content in internet mode. Scopes do not mix: a tab sees only
   * peers announcing the same scope. 'http' (0) verifies every piece but never announces,
   * connects or uploads; 'simple' (99) asks the server for nothing but the file (no policy, no
   * metadata, no Arrays: unverified, from the CDN base); 'bypass' (100) downloads nothing:
   * `client.download` refuses with kind 'bypassed' and `client.bypassUrl` names the file for
   * the browser to fetch itself.
   * @default 'lan'
   */
  downloadMode: ClientDownloadMode;
  /**
   * The group ID or join code for `downloadMode: 'group'`: 1 to 64 of [A-Za-z0-9_-]. In group
   * mode with an empty (or invalid) group ID the tab does not announce at all: peering is off
   * and the download runs from the CDN. Ignored in the other modes.
   * @default ''
   */
  groupId: string;

  // ---- Delivery Optimization's controls (docs/controls.md). A rate of 0 means unlimited.

  /**
   * HTTP delay of a background download (`isBackground`): it waits longer for peers than a
   * foreground one (DO advises 60 s background, 30 s foreground; `httpDelayMs` is the
   * foreground one).
   * @default 60000
   */
  httpDelayBackgroundMs: number;
  /**
   * Most bytes per second this tab uploads to peers, over all its downloads (DO's
   * MaxUploadBandwidth). 0: unlimited.
   * @default 0
   */
  maxUploadBytesPerSec: number;
  /**
   * Most of the tab's measured upload capacity (the highest upload rate seen over one second)
   * that uploads may use, 0 < share <= 1 (DO's percentage of measured bandwidth). 1: no cap.
   * @default 1
   */
  maxUploadShareOfCapacity: number;
  /**
   * Whether this tab uploads to peers at all. With false it still downloads from peers but
   * announces no piece and refuses every request.
   * @default true
   */
  uploadsEnabled: boolean;
  /** No uploads while the device runs on battery (Battery API, where the browser has it). @default true */
  noUploadsOnBattery: boolean;
  /** No uploads on a metered connection (`navigator.connection`: cellular, or Save-Data on). @default true */
  noUploadsOnMetered: boolean;
  /**
   * Most bytes per second that foreground downloads take from the CDN, over all of them
   * (DO's MaxForegroundDownloadBandwidth). Peers are never throttled, as in DO. 0: unlimited.
   * @default 0
   */
  maxForegroundCdnBytesPerSec: number;
  /**
   * The same for background downloads (DO's MaxBackgroundDownloadBandwidth). While a
   * foreground download runs, background ones take from the CDN only what keeps them at
   * `minBackgroundBytesPerSec`: they yield to it. 0: unlimited.
   * @default 0
   */
  maxBackgroundCdnBytesPerSec: number;
  /**
   * A background download that gets less than this from peers tops up from the CDN, before
   * its HTTP delay is over (DO's minimum background QoS, default 2,500 KB/s). 0: no top-up.
   * @default 2500000
   */
  minBackgroundBytesPerSec: number;
  /**
   * Most bytes the piece cache keeps over all contents (DO's MaxCacheSize). 0: only the share
   * below applies.
   * @default 0
   */
  maxCacheBytes: number;
  /**
   * Most of the origin's storage quota (`navigator.storage.estimate()`) the cache may use
   * (DO: 20% of free disk).
   * @default 0.2
   */
  maxCacheShareOfQuota: number;
  /**
   * Contents not used for this long are evicted (DO's MaxCacheAge, 3 days). 0: no age limit.
   * @default 259200000
   */
  maxCacheAgeMs: number;
  /**
   * Files smaller than this are downloaded from the CDN only, without peering (DO's
   * MinFileSizeToCache, 50 MB there; 0 here so that a classroom's small files still peer).
   * @default 0
   */
  minFileSizeToPeer: number;
  /**
   * How many contents this tab offers to peers at once, its downloads included (DO peers 4
   * files at a time). Completed contents beyond it stop seeding, oldest first.
   * @default 4
   */
  maxSeededContents: number;
  /**
   * Files this large or larger ask the browser to keep the site's storage
   * (`navigator.storage.persist()`), so that it is not cleared under storage pressure
   * in the middle of a long download. 0: always ask.
   * @default 268435456
   */
  persistStorageFromBytes: number;
}

export const DEFAULT_CONFIG: Readonly<ClientConfig> = Object.freeze({
  httpDelayMs: 2000,
  peerStallMs: 10_000,
  fetchedStallMs: 30_000,
  peerRequestsInFlight: 8,
  slowPeerBytesPerSec: 512 * 1024,
  uploadSlots: 1,
  cdnRequestsInFlight: 4,
  cdnRunPieces: 1,
  piecesAwaitingStorage: 8,
  minPeerBytesPerSec: 64 * 1024,
  peerDeadlineGraceMs: 6000,
  peerIdleMs: 3000,
  strangerRequestsInFlight: 1,
  strangerStrikesToBan: 1,
  uploadWasteBytes: 16 * 1024 * 1024,
  peerCancelBurst: 32,
  peerCancelsPerSec: 1,
  cdnRequestTimeoutMs: 30_000,
  wireChunkBytes: 64 * 1024,
  sendBufferHighBytes: 4 * 1024 * 1024,
  maxIncomingRequests: 32,
  strikesToBan: 3,
  isBackground: false,
  downloadMode: 'lan',
  groupId: '',
  httpDelayBackgroundMs: 60_000,
  maxUploadBytesPerSec: 0,
  maxUploadShareOfCapacity: 1,
  uploadsEnabled: true,
  noUploadsOnBattery: true,
  noUploadsOnMetered: true,
  maxForegroundCdnBytesPerSec: 0,
  maxBackgroundCdnBytesPerSec: 0,
  minBackgroundBytesPerSec: 2_500_000,
  maxCacheBytes: 0,
  maxCacheShareOfQuota: 0.2,
  maxCacheAgeMs: 3 * 24 * 3600 * 1000,
  minFileSizeToPeer: 0,
  maxSeededContents: 4,
  persistStorageFromBytes: 256 * 1024 * 1024,
  ...DEFAULT_PEERING_CONFIG,
  ...DEFAULT_STREAM_CONFIG,
});

/** Settings that are shares (0 < x <= 1) rather than counts, rates or durations. */
const SHARE_KEYS = new Set<keyof ClientConfig>(['maxUploadShareOfCapacity', 'maxCacheShareOfQuota']);

/**
 * The valid settings of `raw` (a persisted object, a page's config, parsed URL values); every
 * other key or value is dropped, never thrown: settings come from storage and URLs that
 * anyone can edit. Numbers must be finite and >= 0 (shares in (0, 1]); booleans booleans;
 * `downloadMode` one of CLIENT_DOWNLOAD_MODES; `groupId` '' or 1-64 of [A-Za-z0-9_-].
 */
export function sanitizeConfig(raw: Record<string, unknown>): Partial<ClientConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, fallback] of Object.entries(DEFAULT_CONFIG)) {
    if (!Object.hasOwn(raw, key)) continue;
    const v = raw[key];
    if (typeof fallback === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) continue;
      if (SHARE_KEYS.has(key as keyof ClientConfig) && (v <= 0 || v > 1)) continue;
      out[key] = v;
    } else if (typeof fallback === 'boolean') {
      if (typeof v === 'boolean') out[key] = v;
    } else if (key === 'downloadMode') {
      if (typeof v === 'string' && (CLIENT_DOWNLOAD_MODES as readonly string[]).includes(v)) out[key] = v;
    } else if (key === 'groupId') {
      if (typeof v === 'string' && (v === '' || GROUP_ID_RE.test(v))) out[key] = v;
    }
  }
  return out as Partial<ClientConfig>;
}

export function resolveConfig(partial: Partial<ClientConfig> = {}): ClientConfig {
  const merged = { ...DEFAULT_CONFIG };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return merged;
}
