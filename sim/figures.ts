/**
 * The figures of a simulation (issue 18; docs/benchmarks.md, "The swarm at scale"):
 * - `sim_completion_vs_bound_mean` and `_p95`: each honest peer's completion time (from its
 *   join) over the fluid bound of its partition, the mean and the 95th percentile; peers that
 *   did not complete count at the run's end (so a stuck peer cannot improve them);
 * - `sim_cdn_bytes_per_file`: bytes the CDN sent, in copies of the file per partition (1.00 is
 *   one copy for each swarm that must get one);
 * - `sim_peer_share`: the share of honest peers' pieces that came from peers;
 * - `sim_wall_s_per_1k_peers`: the simulator's wall time per 1,000 peers.
 * Correctness counts beside them: peers that completed, wrong pieces stored, honest peers banned.
 */
import type { SimResult } from './simulate.js';

export interface SimFigures {
  sim_completion_vs_bound_mean: number;
  sim_completion_vs_bound_p95: number;
  sim_cdn_bytes_per_file: number;
  sim_peer_share: number;
  sim_wall_s_per_1k_peers: number;
  bound_s: number;
  completed: number;
  expected: number;
  wrong_pieces: number;
  honest_banned: number;
  hostile_banned: number;
  sim_s: number;
  wall_s: number;
  events: number;
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export function figuresOf(r: SimResult): SimFigures {
  const held = r.outcomes.filter((x) => x.partition !== '');
  const ratios = held
    .map((x) => ((x.doneS ?? r.simS) - x.joinS) / (r.bound.partitions.get(x.partition)?.seconds ?? r.bound.seconds))
    .sort((a, b) => a - b);
  const mean = ratios.reduce((a, b) => a + b, 0) / Math.max(1, ratios.length);
  const p95 = ratios[Math.min(ratios.length - 1, Math.ceil(ratios.length * 0.95) - 1)] ?? 0;
  const honest = r.outcomes.filter((x) => x.kind === 'honest');
  const fromPeers = honest.reduce((n, x) => n + x.piecesFromPeers, 0);
  const fromCdn = honest.reduce((n, x) => n + x.piecesFromCdn, 0);
  return {
    sim_completion_vs_bound_mean: round(mean),
    sim_completion_vs_bound_p95: round(p95),
    sim_cdn_bytes_per_file: round(r.cdnBytes / r.fileBytes / Math.max(1, r.bound.partitions.size)),
    sim_peer_share: round(fromPeers / Math.max(1, fromPeers + fromCdn)),
    sim_wall_s_per_1k_peers: round((r.wallS * 1000) / r.peers, 2),
    bound_s: round(r.bound.seconds, 1),
    completed: held.filter((x) => x.doneS !== undefined).length,
    expected: held.length,
    wrong_pieces: r.outcomes.reduce((n, x) => n + x.wrongPieces, 0),
    honest_banned: r.outcomes.reduce((n, x) => n + x.bannedHonest, 0),
    hostile_banned: r.outcomes.reduce((n, x) => n + x.bannedHostile, 0),
    sim_s: round(r.simS, 1),
    wall_s: round(r.wallS, 1),
    events: r.events,
  };
}
