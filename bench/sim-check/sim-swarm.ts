/**
 * The simulator's side of the cross-check: the swarm demo's set-up as a plan for
 * sim/simulate.ts, which runs the real core on simulated time.
 *
 * - N honest peers, each with the calibrated tab-to-tab rate (link-calibration.ts) as its
 *   upload and its download rate (a tab's received bytes, from peers and from the CDN, cross
 *   its download link in the model), and 1 ms one way (everything is on this machine).
 * - All in one LAN (cluster 0: one address, LAN mode), as the demo's tabs are: the app's
 *   default download mode is 'lan' and every tab comes from 127.0.0.1.
 * - Joining together at 0 (the demo opens every page at once), or at the measured start-up of
 *   the pages for the variant that adds it.
 * - The CDN capped per response at the demo's `--cdn-rate` (`cdnPerRequestBps`). The demo's
 *   origin has no total cap, so the plan's total CDN rate is the most the per-connection cap
 *   lets the tabs draw at once (N × cdnRequestsInFlight × cap); it never binds.
 * - The core's defaults with the demo's HTTP delay (the page's `?httpDelayMs=`).
 */
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import type { ScenarioPlan } from '../../sim/scenarios.js';
import { simulate } from '../../sim/simulate.js';
import type { SwarmTotals } from './swarm-totals.js';

export interface SimSwarmOptions {
  peers: number;
  fileMiB: number;
  perTabBps: number;
  /** The CDN's cap per connection, bytes per second. */
  cdnRate: number;
  httpDelayMs: number;
  /** When every peer joins, ms. */
  joinMs: number;
  seed: number;
}

/** Completion counts from time 0, when the demo opens every page (a later join is start-up). */
export interface SimSwarmRun extends SwarmTotals {
  seed: number;
  ended: string;
  wallS: number;
}

const MiB = 1024 * 1024;
const LOOPBACK_LATENCY_MS = 1;

export function crossCheckPlan(o: Pick<SimSwarmOptions, 'peers' | 'perTabBps' | 'cdnRate' | 'joinMs'>): ScenarioPlan {
  const profile = { uploadBps: o.perTabBps, downloadBps: o.perTabBps, latencyMs: LOOPBACK_LATENCY_MS };
  return {
    name: 'flash',
    description: `${o.peers} tabs of one machine, as the swarm demo opens them (cross-check with Chromium)`,
    cdnBps: o.peers * DEFAULT_CONFIG.cdnRequestsInFlight * o.cdnRate,
    peers: Array.from({ length: o.peers }, () => ({ kind: 'honest' as const, profile, joinMs: o.joinMs, cluster: 0, background: false })),
  };
}

export async function runSimSwarm(o: SimSwarmOptions): Promise<SimSwarmRun> {
  const plan = crossCheckPlan(o);
  const r = await simulate({
    peers: o.peers,
    scenario: plan.name,
    plan,
    seed: o.seed,
    fileMiB: o.fileMiB,
    config: { httpDelayMs: o.httpDelayMs },
    cdnPerRequestBps: o.cdnRate,
  });
  const peerSeconds = r.outcomes.map((x) => x.doneS ?? NaN);
  return {
    seed: o.seed,
    peerSeconds,
    meanCompletionS: peerSeconds.reduce((a, b) => a + b, 0) / peerSeconds.length,
    lastCompletionS: Math.max(...r.outcomes.map((x) => x.doneS ?? r.simS)),
    cdnBytes: r.cdnBytes,
    bytesFromPeers: r.outcomes.reduce((n, x) => n + x.piecesFromPeers, 0) * MiB,
    bytesFromCdn: r.outcomes.reduce((n, x) => n + x.piecesFromCdn, 0) * MiB,
    ended: r.ended,
    wallS: r.wallS,
  };
}
