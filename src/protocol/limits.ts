/**
 * Protocol limits shared by the client and the server. Every remote input is checked
 * against these before use; docs/protocol.md lists them.
 */
export const LIMITS = {
  /** Smallest and largest piece size a metadata file may declare (bytes). */
  minPieceSize: 16 * 1024,
  maxPieceSize: 16 * 1024 * 1024,
  /** Largest file a metadata file may describe: 2^40 bytes (1 TiB). */
  maxFileSize: 2 ** 40,
  /** Largest piece count: 1 TiB at the 1 MiB default. */
  maxPieces: 1 << 20,
  /** Largest metadata file accepted (bytes): 1 Mi pieces of 64 hex characters plus framing. */
  maxMetadataBytes: 80 * 1024 * 1024,
  /** Longest file name and MIME type (UTF-16 code units). */
  maxNameLength: 255,
  maxMimeLength: 127,
  /** Largest Arrays (signaling) message, in bytes of UTF-8 JSON. */
  maxSignalingMessageBytes: 64 * 1024,
  /** Largest SDP in an offer or answer (characters). */
  maxSdpLength: 32 * 1024,
  /** Largest ICE candidate line (characters). */
  maxCandidateLength: 1024,
  /** Most peers in one `peers` reply. */
  maxPeersPerReply: 50,
  /** Longest group ID (DO's GroupID) in an announce; 1 or more of [A-Za-z0-9_-]. */
  maxGroupIdLength: 64,
  /**
   * Pieces a swarm's fetched-pieces bitmap covers (docs/protocol.md, "CDN slots"): 64 GiB at
   * 1 MiB pieces, 8 KiB of bitmap. Pieces past it are never reported; their owners fetch as if
   * no one had.
   */
  maxCdnClaimPieces: 65_536,
  /** Most piece indices one announce may report as fetched from the CDN. */
  maxCdnPiecesPerAnnounce: 64,
  /** Most bans one peer may report per content; later ones are ignored. */
  maxBansPerSwarm: 256,
  /**
   * Largest data carried by one peer wire PIECE frame (bytes): a frame (9-byte header and
   * data) must fit in one 256 KiB data-channel message, Chromium's largest.
   */
  maxWireChunk: 256 * 1024 - 9,
  /**
   * A CANCEL that comes sooner than this after its REQUEST (ms) is churn: a receiver gives up
   * on a request only after the sender was silent or slow for longer (docs/protocol.md §5).
   */
  quickCancelMs: 1000,
} as const;
