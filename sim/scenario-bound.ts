/**
 * The fluid bound of a scenario (issue 18): fluid-bound.ts's T_min for each partition of the
 * swarm (peers in LAN mode trade only with their own LAN; the rest form one internet swarm),
 * each with the CDN's whole rate, and the CDN's own term for all of them at once (it sends at
 * least one copy per partition). Only honest peers that stay count: a peer that leaves needs
 * nothing, and liars and stallers give nothing useful.
 */
import { fluidBound, type FluidBound } from './fluid-bound.js';
import type { ScenarioPlan } from './scenarios.js';

export interface ScenarioBound {
  /** T_min of the whole scenario, seconds: the largest of the partitions' and the CDN's term. */
  seconds: number;
  /** T_min of each partition, by key ('internet' or 'lan:<n>'). */
  partitions: Map<string, FluidBound>;
  /** The partition key of each peer of the plan ('' for one that does not count). */
  partitionOf: string[];
}

export function scenarioBound(plan: ScenarioPlan, fileBytes: number): ScenarioBound {
  const groups = new Map<string, Array<{ uploadBps: number; downloadBps: number }>>();
  const partitionOf = plan.peers.map((p) => {
    if (p.kind !== 'honest' || p.leaveMs !== undefined) return '';
    const key = p.cluster >= 0 ? `lan:${p.cluster}` : 'internet';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ uploadBps: p.profile.uploadBps, downloadBps: p.profile.downloadBps });
    return key;
  });
  const partitions = new Map<string, FluidBound>();
  for (const [key, peers] of groups) partitions.set(key, fluidBound({ fileBytes, serverUploadBps: plan.cdnBps, peers }));
  const cdnTerm = (groups.size * fileBytes) / plan.cdnBps;
  const seconds = Math.max(cdnTerm, ...[...partitions.values()].map((b) => b.seconds));
  return { seconds, partitions, partitionOf };
}
