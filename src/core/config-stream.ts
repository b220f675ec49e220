/**
 * The settings of playing while downloading (a player's deadlines in the scheduler). Part of
 * ClientConfig (config.ts), kept apart because that file holds the download engine's
 * settings and is at its size limit; docs/controls.md mirrors both.
 */
export interface StreamConfig {
  /**
   * How close to its deadline a piece the player needs may come before the CDN takes it, even
   * within the HTTP delay and outside this tab's CDN share (not for a background download).
   * Peers keep what they can deliver before then; a piece a peer cannot (by its measured
   * rate and what it already owes us) goes to the CDN once its deadline is this near, and
   * one in flight with a peer that will miss it is taken back from that peer.
   * @default 1500
   */
  streamCdnLeadMs: number;
  /**
   * The rate assumed of a peer not yet measured, when judging whether it can deliver a piece
   * before the player needs it (bytes per second).
   * @default 2097152
   */
  streamPeerPriorBytesPerSec: number;
  /**
   * A player's deadlines lapse after this long without being renewed, so that a player that
   * went away (a closed tab, a stopped service worker) does not hold the scheduler's
   * priorities.
   * @default 10000
   */
  streamDeadlineTtlMs: number;
  /**
   * Pieces past the playhead given deadlines (the read-ahead): beyond them, pieces are traded
   * rarest first as in any download, so that the swarm keeps spreading.
   * @default 24
   */
  streamReadAheadPieces: number;
  /**
   * The media's rate in bytes per second when the player does not say (it sets the spacing of
   * the read-ahead's deadlines).
   * @default 1048576
   */
  streamFallbackBytesPerSec: number;
}

export const DEFAULT_STREAM_CONFIG: Readonly<StreamConfig> = Object.freeze({
  streamCdnLeadMs: 1500,
  streamPeerPriorBytesPerSec: 2 * 1024 * 1024,
  streamDeadlineTtlMs: 10_000,
  streamReadAheadPieces: 24,
  streamFallbackBytesPerSec: 1024 * 1024,
});
