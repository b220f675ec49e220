/**
 * A small recorded simulation built by code (src/protocol/sim-recording.ts), the same every
 * time, for the replay view's unit and e2e tests. Its peers, by index:
 *  - 0: honest, joins at 0, takes every piece from the CDN, 4 a frame: complete at t = 10;
 *  - 1: honest, joins at 0, takes every piece from peers, 4 a frame: complete at t = 10;
 *  - the last: honest, joins at 4, 3 pieces a frame, and leaves at t = 15 before completing;
 *  - others, i: joins at i % 5, takes 2 + i % 3 pieces a frame, (i % 4) / 4 of them from the
 *    CDN; i % 10 == 7 is a liar (stops at half the pieces), i % 10 == 8 a staller (1 a frame):
 *    neither completes.
 * Frames every second from t = 0; at t = 0 nobody holds a piece.
 */
import type { SimRecording } from '../../src/protocol/sim-recording.js';

export interface SyntheticOptions {
  peers?: number;
  frames?: number;
  pieceCount?: number;
}

interface Plan {
  kind: 'honest' | 'liar' | 'staller';
  join: number;
  pace: number;
  cdnShare: number;
  cap: number;
  leaveAt?: number;
}

function plan(i: number, n: number, pieceCount: number): Plan {
  if (i === 0) return { kind: 'honest', join: 0, pace: 4, cdnShare: 1, cap: pieceCount };
  if (i === 1) return { kind: 'honest', join: 0, pace: 4, cdnShare: 0, cap: pieceCount };
  if (i === n - 1) return { kind: 'honest', join: 4, pace: 3, cdnShare: 0.5, cap: pieceCount, leaveAt: 15 };
  const kind = i % 10 === 7 ? 'liar' : i % 10 === 8 ? 'staller' : 'honest';
  return {
    kind,
    join: i % 5,
    pace: kind === 'staller' ? 1 : 2 + (i % 3),
    cdnShare: (i % 4) / 4,
    cap: kind === 'liar' ? Math.floor(pieceCount / 2) : pieceCount,
  };
}

export function syntheticRecording(options: SyntheticOptions = {}): SimRecording {
  const n = options.peers ?? 50;
  const frameCount = options.frames ?? 20;
  const pieceCount = options.pieceCount ?? 40;
  const pieceBytes = 256 * 1024;
  const plans = Array.from({ length: n }, (_, i) => plan(i, n, pieceCount));
  const haveAt = (p: Plan, t: number) => (t < p.join || (p.leaveAt !== undefined && t >= p.leaveAt) ? -1 : Math.min(p.cap, (t - p.join) * p.pace));
  const cdnAt = (p: Plan, t: number) => Math.round(Math.max(0, haveAt(p, t)) * p.cdnShare);
  const frames: SimRecording['frames'] = [];
  for (let t = 0; t < frameCount; t++) {
    let cdnPieces = 0;
    let peerPieces = 0;
    for (const p of plans) {
      if (t === 0 || haveAt(p, t) < 0) continue;
      const got = haveAt(p, t) - Math.max(0, haveAt(p, t - 1));
      const gotCdn = cdnAt(p, t) - cdnAt(p, t - 1);
      cdnPieces += gotCdn;
      peerPieces += got - gotCdn;
    }
    frames.push({
      t,
      cdnBps: cdnPieces * pieceBytes,
      peerBps: peerPieces * pieceBytes,
      have: plans.map((p) => haveAt(p, t)),
      fromCdn: plans.map((p) => (haveAt(p, t) < 0 ? 0 : cdnAt(p, t))),
    });
  }
  const peers = plans.map((p) => {
    const doneS = p.join + Math.ceil(pieceCount / p.pace);
    const completes = p.cap === pieceCount && doneS < frameCount && (p.leaveAt === undefined || doneS < p.leaveAt);
    return {
      kind: p.kind,
      cluster: p.kind === 'honest' ? Math.floor(p.join / 2) - 1 : -1,
      uploadBps: 1024 * 1024,
      downloadBps: 4 * 1024 * 1024,
      joinS: p.join,
      ...(completes ? { doneS } : {}),
    };
  });
  return { format: 'tabswarm-sim/1', scenario: 'synthetic', seed: 7, fileBytes: pieceCount * pieceBytes, pieceCount, boundS: 8, cdnBps: 10 * 1024 * 1024, frameMs: 1000, peers, frames };
}
