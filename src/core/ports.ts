/**
 * The ports of the core: what it needs from the world, as interfaces. The browser adapters
 * (src/transport, src/storage, src/workers) and the Node test doubles implement them; the
 * core imports none of those.
 */
import type { CdnSlot, DownloadMode, InReplyTo, PeerInfo, Report, SignalData } from '../protocol/arrays-messages.js';
import type { Metadata } from '../protocol/metadata.js';
import type { CacheLimits } from './cache-policy.js';

/** SHA-256, off the main thread in the browser (a worker pool). */
export interface Hasher {
  /**
   * Hashes `data`. The implementation may transfer `data`'s buffer to a worker; the bytes
   * come back as `result.data`, which the caller must use instead of `data` afterwards.
   */
  digest(data: Uint8Array): Promise<{ digest: Uint8Array; data: Uint8Array }>;
  /** An incremental SHA-256, for the whole-file check (fed while the download runs). Same transfer rule as `digest`. */
  createStream(): StreamingHash;
}

export interface StreamingHash {
  /** Adds bytes; resolves once they are consumed (the buffer may have been transferred). */
  update(data: Uint8Array): Promise<void>;
  digest(): Promise<Uint8Array>;
  /** Abandons the hash and frees its state; no call after it. */
  close(): void;
}

/** Verified pieces, kept across reloads. Only ever given pieces that passed verification. */
export interface PieceStore {
  /** Indexes of the pieces of `contentId` already stored. */
  list(contentId: string): Promise<number[]>;
  get(contentId: string, index: number): Promise<Uint8Array | undefined>;
  /** Stores a copy of `data` as piece `index` (the caller keeps `data`). Downloads write through `open`'s PieceFile instead. */
  put(contentId: string, index: number, data: Uint8Array): Promise<void>;
  /** Deletes one stored piece (a stored copy that failed its re-check). Optional: a store without it keeps the piece, which is then never served. */
  remove?(contentId: string, index: number): Promise<void>;
  /**
   * Opens one content's pieces for a download, where the store does the piece pass itself
   * (storage/opfs-piece-store.ts: a worker that hashes, writes and feeds the whole-file hash).
   * A store without it gets core/piece-file.ts's pass over `get`/`put` and the Hasher.
   */
  open?(storageId: string, layout: PieceLayout): Promise<PieceFile>;
}

/** The sizes a content's pieces are laid out by. */
export interface PieceLayout {
  pieceCount: number;
  pieceSize: number;
  fileSize: number;
}

/** What `PieceFile.admit` did with a piece: stored it, or refused it (nothing stored). */
export type Admitted = { stored: true } | { stored: false; reason: string };

/** A stored piece read back: its bytes, none stored, or bytes that no longer match their SHA-256 (withheld). */
export type StoredPiece = { bytes: Uint8Array } | { missing: true } | { corrupt: string };

/**
 * One content's pieces, open for a download. The piece pass: a received piece is handed over
 * once (its buffer may be transferred: the caller must not use `data` afterwards) and, in one
 * place, hashed against the metadata, written, and fed to the whole-file SHA-256. Nothing is
 * handed back. Serving reads and hashes again in the same place.
 */
export interface PieceFile {
  /** Which store holds the bytes: 'opfs', 'indexeddb', 'memory' (for the status). */
  readonly kind: string;
  /** Pieces the whole-file hash read back from storage rather than took in hand (where the pass counts them). */
  readonly readBacks?: number;
  /** Indexes of the pieces stored. */
  list(): Promise<number[]>;
  /**
   * Hashes `data`; if `expectedSha256` is given and differs, stores nothing and says why.
   * Otherwise writes it and feeds the whole-file hash. Rejects with TabswarmError
   * 'storage-error' when the write fails (a full quota included): nothing is then recorded
   * as stored.
   */
  admit(index: number, data: Uint8Array, expectedSha256: string | undefined): Promise<Admitted>;
  /** Reads piece `index`; with `expectedSha256`, hashes it again and withholds bytes that no longer match. */
  read(index: number, expectedSha256?: string): Promise<StoredPiece>;
  /** Forgets a stored piece (one that failed its re-check). */
  remove(index: number): Promise<void>;
  /** The whole file's SHA-256 in hex, pieces in order; every piece must be stored. */
  fileSha256(): Promise<string>;
  /** Releases the file (its worker, its handle); no call after it. */
  close(): void;
}

/** One HTTP range request. Resolves with exactly the bytes [start, end) or rejects with a TabswarmError of kind 'cdn-error'. */
export interface HttpRange {
  get(url: string, start: number, end: number, signal: AbortSignal): Promise<Uint8Array>;
  /**
   * One request for bytes [start, end), read in consecutive parts (a run of pieces): the same
   * checks as `get`, and the same rejections from `read`. Optional: without it every piece is
   * its own request.
   */
  openRun?(url: string, start: number, end: number, signal: AbortSignal): Promise<RangeRun>;
  /**
   * The size of the file at `url`, from a one-byte range request's Content-Range (for simple
   * mode, where no metadata says it). Rejects with a TabswarmError of kind 'cdn-error'.
   */
  probeSize(url: string, signal: AbortSignal): Promise<number>;
}

export interface SignalingEvents extends Record<string, unknown> {
  /** `origin`: the asker's own origin tag (docs/protocol.md, "Origin tags"), when the service gives one. */
  peers: { contentId: string; peers: PeerInfo[]; intervalMs: number; origin?: string; cdnSlot?: CdnSlot };
  /** `origin`: the sender's origin tag, when the service gives one. */
  signal: { contentId: string; from: string; data: SignalData; origin?: string };
  /** An `error` from the service; `inReplyTo` names the message it answers. */
  error: { code: string; message: string; inReplyTo?: InReplyTo };
  /** The connection to the Arrays service (re)opened: announce again. */
  open: undefined;
  /** The connection is down (or could not open); another attempt comes in `retryInMs`. */
  closed: { retryInMs: number };
  /** Cache nodes only: a peer announced this content in a scope this node watches (docs/cache-node.md). */
  wanted: { contentId: string; mode: DownloadMode; group?: string };
  /** The service bound this socket to a peer ID; `cache`: as a cache node. */
  welcome: { peerId: string; cache: boolean };
}

/** The Arrays service, shared by every download of a tab. */
export interface Signaling {
  /** `cdnPieces`: pieces of our CDN slot asked of the CDN since the last announce (docs/protocol.md, "CDN slots"). */
  announce(contentId: string, peerId: string, report: Report, cdnPieces?: readonly number[]): void;
  signal(contentId: string, to: string, data: SignalData): void;
  leave(contentId: string): void;
  /** Reports that this peer banned `peerId` for this content, so it is no longer listed to us. */
  ban(contentId: string, peerId: string): void;
  on<K extends keyof SignalingEvents>(event: K, listener: (payload: SignalingEvents[K]) => void): () => void;
}

export interface PeerLinkEvents extends Record<string, unknown> {
  /** A signaling payload to relay to the remote peer. */
  signal: SignalData;
  /** The data channel is open. */
  open: undefined;
  /** One binary message from the remote peer (a 0-byte one included). */
  message: Uint8Array;
  /** A message that is not a binary frame (a text message): out of protocol. */
  malformed: string;
  /** The send buffer fell below the transport's low-water mark. */
  drain: undefined;
  /**
   * The link closed, for whatever reason; emitted once. `died`: the data channel died under an
   * open link (the remote's side aborted it, or the channel failed) rather than being closed.
   * A frame too large for the channel kills it so; a page closing or a peer closing the link
   * does not count (a transport that cannot tell never sets it).
   */
  close: { reason: string; died?: boolean };
}

/**
 * A data channel to one remote peer (simple-peer in the browser, memory in tests).
 * Messages that arrive before the first 'message' listener is attached are kept and
 * delivered, in order, to that listener: the remote may send as soon as its side opens.
 */
export interface PeerLink {
  readonly remoteId: string;
  /** Feeds a signaling payload received from the remote peer. */
  signal(data: SignalData): void;
  /**
   * Sends one binary message. Only valid after 'open'. The frame is the caller's again once
   * `send` returns (the sender builds every PIECE frame in one buffer): a transport that keeps
   * it for later keeps a copy.
   */
  send(frame: Uint8Array): void;
  /** Bytes queued and not yet sent. */
  readonly bufferedAmount: number;
  /**
   * 'drain' fires when `bufferedAmount` falls to this many bytes from above. Absent: the
   * transport promises no 'drain' that a sender may wait for (an uploader taking turns then
   * hands its turn on as soon as a piece is queued: core/upload-turns.ts).
   */
  readonly lowWaterMark?: number;
  /**
   * Once open: the remote's network address as this side's connection sees it (the remote
   * candidate of the selected pair; undefined when unknown), and every address this side
   * offered (its local candidates). Optional: a transport without it never has a peer refused
   * by address.
   */
  addresses?(): Promise<{ local: string[]; remote: string | undefined }>;
  close(): void;
  on<K extends keyof PeerLinkEvents>(event: K, listener: (payload: PeerLinkEvents[K]) => void): () => void;
}

export interface PeerConnector {
  /** Starts a link to `remoteId`; the initiator makes the offer. */
  connect(remoteId: string, initiator: boolean): PeerLink;
}

/** A content as the piece cache records it (what seeding from the cache needs to know). */
export interface CachedContent {
  storageId: string;
  contentId: string;
  /** The metadata's canonical JSON text; absent in simple mode. */
  metadataJson?: string;
  complete: boolean;
  /** Its policy allowed peering when it was last opened. */
  seedable: boolean;
  lastUsedAt: number;
}

/**
 * The origin's piece cache (docs/cache.md; storage/piece-cache.ts in the browser): a record per
 * content, leases while a tab uses it, eviction by age and least recent use. The tab's set of
 * downloads (tab-downloads.ts) keeps it told; its failures never fail a download.
 */
export interface ContentCache {
  /** Creates or updates a content's record, marks it used now and leases it to this tab. */
  touch(entry: { contentId: string; storageId?: string; metadata?: Metadata; fileName?: string; fileSize?: number; seedable?: boolean }): Promise<unknown>;
  /** Recomputes the bytes stored and `complete` from the piece store and the sizes. */
  recount(storageId: string, sizes: Pick<Metadata, 'fileSize' | 'pieceSize'>): Promise<unknown>;
  /** Sets the bytes stored (and, if given, `complete`). */
  recordBytes(storageId: string, bytes: number, complete?: boolean): Promise<unknown>;
  /** Renews this tab's leases. */
  renew(storageIds: Iterable<string>): Promise<void>;
  /** Drops this tab's lease. */
  release(storageId: string): Promise<void>;
  /** Deletes a content's pieces and record. */
  remove(storageId: string): Promise<void>;
  /** Every record, least recently used first. */
  list(): Promise<CachedContent[]>;
  /** Evicts what the limits say, never what is in `active`, pinned, or leased by another tab. */
  enforce(limits: CacheLimits, active?: ReadonlySet<string>): Promise<{ evicted: readonly unknown[] }>;
}

/**
 * A source of pieces: one peer, or the CDN. The scheduler treats them alike; only its
 * policy (HTTP delay, which pieces go to the CDN) tells them apart.
 */
export type SourceKind = 'peer' | 'cdn';

export interface PieceSource {
  /** 'cdn' or the remote peer ID. */
  readonly id: string;
  readonly kind: SourceKind;
  /** Whether the source claims to hold piece `index` (and has not refused it). */
  has(index: number): boolean;
  /** How many more requests the source takes now. */
  freeSlots(): number;
  /**
   * Fetches piece `index`, `length` bytes. Rejects with a TabswarmError (peer-gone, timeout,
   * peer-rejected, cdn-error, protocol-violation). The bytes are unverified. `runBytes`, a
   * hint: the caller will ask for the pieces that follow in order, up to `runBytes` from this
   * piece's start (the CDN may serve them from one request; peers ignore it).
   */
  fetch(index: number, length: number, runBytes?: number): Promise<Uint8Array>;
}

/** An open range request, read in order. */
export interface RangeRun {
  /** The next `length` bytes of the range; one read at a time. Rejects with kind 'cdn-error'. */
  read(length: number): Promise<Uint8Array>;
  /** Stops the request; the rest of the range is not read. */
  cancel(): void;
}

/** Fetching bytes over HTTP(S); rejects on a non-2xx status or a network error (the policy, the metadata). */
export interface BytesFetcher {
  getBytes(url: string, maxBytes: number): Promise<Uint8Array>;
}
