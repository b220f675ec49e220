/**
 * The simulated link of a tab, measured from a real swarm run (not tuned to agree): the rate at
 * which the real tabs moved pieces between themselves while they traded, per tab.
 *
 * The demo's progress lines (progress-lines.ts) give, about once a second, the verified bytes
 * every tab got from peers: P(t) = done · peers · file size · peer share (both rounded to 0.1%).
 * The trading window is from the moment P passes 10% of the most the lines show to the moment
 * it passes 90% (linear interpolation between lines); those middle 80% of the peer bytes over
 * that window is the swarm's tab-to-tab rate, and over the number of
 * tabs, what one tab received from (and, as every byte received was sent by a tab, sent to) the
 * others on this machine with all of them running. The edges are left out because they are not
 * the link's rate: the start waits for the HTTP delay and the first CDN pieces, the end for the
 * last rare pieces and the whole-file check.
 *
 * Also read from the same lines: when the first verified bytes appeared, which, less the HTTP
 * delay, is roughly how long the pages took to open and start their downloads (the simulator
 * starts a download at its join time, with no page to load). The lines are about a second
 * apart, so that figure is good to about half a second.
 */
import { CrossCheckError } from './errors.js';
import type { ProgressPoint } from './progress-lines.js';

export interface LinkCalibration {
  /** The tab-to-tab rate per tab, bytes per second: the simulated peers' upload and download rate. */
  perTabBps: number;
  /** The same, over all tabs (bytes from peers per second in the trading window). */
  swarmPeerBps: number;
  /** The trading window, seconds since the first page opening: 10% and 90% of the peer bytes. */
  windowS: [number, number];
  /** Midway between the last progress line with no verified bytes and the first with some, seconds. */
  firstBytesS: number;
  /** firstBytesS less the HTTP delay (not below 0): the pages' start-up, roughly. */
  startupS: number;
}

/** The time at which `value(point)` first reaches `target`, interpolated between points (which start at (0, 0)). */
function crossing(points: ProgressPoint[], value: (p: ProgressPoint) => number, target: number): number | undefined {
  let prevT = 0;
  let prevV = 0;
  for (const p of points) {
    const v = value(p);
    if (v >= target) return v === prevV ? p.t : prevT + ((target - prevV) * (p.t - prevT)) / (v - prevV);
    prevT = p.t;
    prevV = v;
  }
  return undefined;
}

export function calibrateLink(o: { points: ProgressPoint[]; peers: number; fileBytes: number; bytesFromPeers: number; httpDelayMs: number }): LinkCalibration {
  const { points, peers, fileBytes, bytesFromPeers } = o;
  if (bytesFromPeers <= 0) throw new CrossCheckError('calibration', 'the run moved no bytes between tabs: there is no tab-to-tab rate to measure');
  const peerBytes = (p: ProgressPoint) => p.done * peers * fileBytes * p.peerShare;
  // The lines round to 0.1%, so the last one may fall a little short of the final count: aim at 10% and 90% of what the lines reach.
  const reached = Math.max(...points.map(peerBytes));
  const t10 = crossing(points, peerBytes, 0.1 * reached);
  const t90 = crossing(points, peerBytes, 0.9 * reached);
  if (t10 === undefined || t90 === undefined || t90 - t10 < 2) {
    throw new CrossCheckError('calibration', `the progress lines do not show the tabs trading for 2 s or more (10% of the peer bytes at ${t10 ?? '?'} s, 90% at ${t90 ?? '?'} s)`);
  }
  const swarmPeerBps = (0.8 * reached) / (t90 - t10);
  const firstIndex = points.findIndex((p) => p.done > 0);
  if (firstIndex < 0) throw new CrossCheckError('calibration', 'no progress line shows any verified bytes');
  const before = firstIndex === 0 ? 0 : points[firstIndex - 1]!.t;
  const firstBytesS = (before + points[firstIndex]!.t) / 2;
  return {
    perTabBps: swarmPeerBps / peers,
    swarmPeerBps,
    windowS: [t10, t90],
    firstBytesS,
    startupS: Math.max(0, firstBytesS - o.httpDelayMs / 1000),
  };
}
