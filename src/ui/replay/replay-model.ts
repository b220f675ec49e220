/**
 * What the replay view reads from a recorded simulation (src/protocol/sim-recording.ts), with
 * no DOM: the frame shown at a simulated time, the figures of the whole run and of one frame,
 * and the playback speed a recording starts at. The page (replay-page.ts) only draws these.
 */
import type { SimRecording } from '../../protocol/sim-recording.js';

export type Frame = SimRecording['frames'][number];

export class ReplayError extends Error {
  readonly kind = 'replay';
}

/** The speeds offered, in simulated seconds per second of wall time. */
export const REPLAY_SPEEDS = [1, 4, 16, 64] as const;
export type ReplaySpeed = (typeof REPLAY_SPEEDS)[number];

/**
 * A recording ready to replay: frames in time order (a writer that appended them out of order
 * still replays), and one to show at least. Throws ReplayError for a recording with no frames.
 */
export function replayable(rec: SimRecording): SimRecording {
  if (rec.frames.length === 0) throw new ReplayError('the recording has no frames: nothing to replay');
  const ordered = rec.frames.every((f, i) => i === 0 || rec.frames[i - 1]!.t <= f.t);
  return ordered ? rec : { ...rec, frames: [...rec.frames].sort((a, b) => a.t - b.t) };
}

/** The simulated time of the last frame, seconds. */
export function durationS(rec: SimRecording): number {
  return rec.frames.at(-1)?.t ?? 0;
}

/**
 * The index of the frame shown at time `t`: the last frame at or before `t` (a frame holds the
 * swarm as it was at its time, until the next). Before the first frame, the first.
 */
export function frameIndexAt(frames: readonly Frame[], t: number): number {
  let lo = 0;
  let hi = frames.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (frames[mid]!.t <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The speed that replays the whole run in about half a minute, among REPLAY_SPEEDS. */
export function defaultSpeed(duration: number): ReplaySpeed {
  const wanted = duration / 30;
  return REPLAY_SPEEDS.find((s) => s >= wanted) ?? REPLAY_SPEEDS[REPLAY_SPEEDS.length - 1]!;
}

/** The figures of the whole run. */
export interface RunSummary {
  peers: number;
  liars: number;
  stallers: number;
  /** Peers with a completion time (doneS). */
  completed: number;
  /** Over completed peers: (doneS - joinS) / boundS; undefined with no completed peer or a zero bound. */
  meanOverBound: number | undefined;
  p95OverBound: number | undefined;
  /**
   * Bytes the CDN sent, in file sizes, from piece counts: each peer's `fromCdn` at the last
   * frame it was in the swarm, times the mean piece size. Approximate: the last piece is
   * shorter, and a piece fetched twice from the CDN counts once.
   */
  cdnFileCopies: number;
}

/** The nearest-rank percentile `p` (0-100) of `sorted` (ascending, not empty). */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function runSummary(rec: SimRecording): RunSummary {
  const times = rec.peers.flatMap((p) => (p.doneS === undefined ? [] : [Math.max(0, p.doneS - p.joinS)])).sort((a, b) => a - b);
  const overBound = rec.boundS > 0 && times.length > 0;
  return {
    peers: rec.peers.length,
    liars: rec.peers.filter((p) => p.kind === 'liar').length,
    stallers: rec.peers.filter((p) => p.kind === 'staller').length,
    completed: times.length,
    meanOverBound: overBound ? times.reduce((a, b) => a + b, 0) / times.length / rec.boundS : undefined,
    p95OverBound: overBound ? percentile(times, 95) / rec.boundS : undefined,
    cdnFileCopies: lastFromCdn(rec).reduce((a, b) => a + b, 0) / rec.pieceCount,
  };
}

/** Per peer, its `fromCdn` at the last frame it was in the swarm (0 if never): a peer that left still cost the CDN. */
function lastFromCdn(rec: SimRecording): number[] {
  const out = new Array<number>(rec.peers.length).fill(0);
  const seen = new Array<boolean>(rec.peers.length).fill(false);
  for (let f = rec.frames.length - 1; f >= 0; f--) {
    const frame = rec.frames[f]!;
    for (let i = 0; i < out.length; i++) {
      if (!seen[i] && frame.have[i]! >= 0) {
        seen[i] = true;
        out[i] = frame.fromCdn[i]!;
      }
    }
  }
  return out;
}

/** The figures of one frame. */
export interface FrameSummary {
  t: number;
  /** Peers in the swarm (have >= 0). */
  inSwarm: number;
  /** Peers holding every piece. */
  complete: number;
  /** Mean of have/pieceCount over the peers in the swarm; 0 with none. */
  meanProgress: number;
  /** Of the pieces the peers in the swarm hold, the share that came from the CDN; 0 with none. */
  cdnShare: number;
  cdnBps: number;
  peerBps: number;
}

export function frameSummary(rec: SimRecording, frame: Frame): FrameSummary {
  let inSwarm = 0;
  let complete = 0;
  let held = 0;
  let fromCdn = 0;
  for (let i = 0; i < frame.have.length; i++) {
    const h = frame.have[i]!;
    if (h < 0) continue;
    inSwarm++;
    held += h;
    fromCdn += Math.min(h, frame.fromCdn[i]!);
    if (h >= rec.pieceCount) complete++;
  }
  return {
    t: frame.t,
    inSwarm,
    complete,
    meanProgress: inSwarm > 0 ? held / inSwarm / rec.pieceCount : 0,
    cdnShare: held > 0 ? fromCdn / held : 0,
    cdnBps: frame.cdnBps,
    peerBps: frame.peerBps,
  };
}
