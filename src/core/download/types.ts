/**
 * The public types of a download (src/core/download.ts): its options, states, events and the
 * limits it reports.
 */
import type { Bandwidth, Priority } from '../bandwidth.js';
import type { Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';
import type { TabswarmError } from '../errors.js';
import type { Hasher, HttpRange, PeerConnector, PieceStore, Signaling } from '../ports.js';
import type { StorageRoom } from '../storage-room.js';
import type { BannedAddresses } from '../swarm.js';
import type { Metadata } from '../../protocol/metadata.js';
import type { BufferPool } from '../buffer-pool.js';

export type DownloadState = 'idle' | 'downloading' | 'verifying' | 'complete' | 'failed' | 'stopped';

export interface DownloadOptions {
  contentId: string;
  metadata: Metadata;
  /** This tab's peer ID (32 hex characters). */
  peerId: string;
  cdnUrls: readonly string[];
  hasher: Hasher;
  store: PieceStore;
  http: HttpRange;
  /** Absent (or `peering: false`): HTTP only. */
  signaling?: Signaling;
  connector?: PeerConnector;
  peering?: boolean;
  config?: Partial<ClientConfig>;
  /**
   * Set when the content could not be verified (DO's simple mode): why. Then the download is
   * HTTP only, pieces are stored apart from verified ones and never served, and there is no
   * hash to check them against.
   */
  simpleReason?: string;
  /**
   * The client's bandwidth controls, ONE object shared by all its downloads (createBandwidth).
   * Absent: nothing is limited and uploads are always allowed.
   */
  bandwidth?: Bandwidth;
  /**
   * The content is complete in the store and was verified whole when it completed (the piece
   * cache says so, docs/cache.md): start as a seeder without reading the whole file back.
   * Every piece is still re-hashed before it is served. Default false.
   */
  trustStored?: boolean;
  /**
   * The addresses of the peers the tab banned, shared by its downloads (LAN and group modes:
   * Swarm). Absent: each download keeps none.
   */
  bannedAddresses?: BannedAddresses;
  /**
   * The browser's storage manager: before anything is written, its estimate must show room for
   * the rest of the file (core/storage-room.ts). Absent: no check (the Node tests, seeding).
   */
  room?: StorageRoom;
  /**
   * Where pieces from peers are assembled, shared with the piece file that gives the buffers
   * back after admitting them (core/buffer-pool.ts). Absent: a new buffer per piece.
   */
  buffers?: BufferPool;
  /**
   * Time and timers of the download and of every part it makes (scheduler, CDN, swarm, peer
   * sessions, stats): the simulator's runs it in simulated time. @default systemClock
   */
  clock?: Clock;
}

/** What limits a download now (for a status report); rates in bytes per second, 0 = unlimited. */
export interface DownloadLimits {
  priority: Priority;
  /** The HTTP delay in effect (foreground or background). */
  httpDelayMs: number;
  /** The CDN cap of this download's priority, shared with the others of that priority. */
  cdnBytesPerSec: number;
  /** CDN traffic is stopped: background, yielding to a foreground download, with no minimum rate. */
  cdnPaused: boolean;
  /** The background top-up from the CDN in effect before the HTTP delay ends (0: none now). */
  topUpBytesPerSec: number;
  /** The upload cap in effect, shared by all downloads. */
  uploadBytesPerSec: number;
  uploadsAllowed: boolean;
  uploadsBlockedReason: string | undefined;
}

export interface DownloadEvents extends Record<string, unknown> {
  state: DownloadState;
  /** A verified piece was stored. */
  piece: { index: number; source: string; kind: 'peer' | 'cdn' | 'store' };
  /**
   * The bytes of a piece a player has a deadline for, as they came from their source and before
   * they are verified and stored: a copy (the source's buffer goes to the store), shared by the
   * listeners, which must not change it. A player hashes its own copy of it (piece-stream.ts)
   * instead of waiting for the store. Not verified: never use them unhashed.
   */
  arrived: { index: number; bytes: Uint8Array };
  /** A piece failed verification and was discarded. */
  rejected: { index: number; source: string; reason: string };
  peer: { peerId: string; event: 'connected' | 'disconnected' | 'banned' | 'strike' | 'dropped'; reason?: string };
  /** All pieces are stored; the whole file is verified (unless `verified` is false: simple mode). */
  complete: { fileSha256: string; verified: boolean };
  error: TabswarmError;
}


/** One peer as the scheduler sees it (for diagnostics: a stalled test prints it). */
export interface PeerDiagnostics {
  peerId: string;
  ready: boolean;
  healthy: boolean;
  trusted: boolean;
  inFlight: number;
  freeSlots: number;
  remoteHas: number;
  /** Listed as a cache node (`cache: true`). */
  cache: boolean;
}

/** The scheduler's state in plain data: what a download waits on. */
export interface DownloadDiagnostics {
  state: DownloadState;
  have: number;
  pieceCount: number;
  /** Piece index → the source it is asked of. */
  inFlight: Array<{ index: number; source: string }>;
  /** Missing pieces that no useful peer holds (the CDN's, once the HTTP delay is over). */
  heldByNoUsefulPeer: number;
  peers: PeerDiagnostics[];
}
