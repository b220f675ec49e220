/** The bound of a scenario (sim/scenario-bound.ts): per partition, the CDN's term for all, hostile and leaving peers left out. */
import { describe, expect, it } from 'vitest';
import { scenarioBound } from '../../../sim/scenario-bound.js';
import type { PeerPlan, ScenarioPlan } from '../../../sim/scenarios.js';

const MB = 1_000_000;
const peer = (extra: Partial<PeerPlan> = {}): PeerPlan => ({ kind: 'honest', profile: { uploadBps: 1 * MB, downloadBps: 10 * MB, latencyMs: 10 }, joinMs: 0, cluster: -1, background: false, ...extra });

describe('scenarioBound', () => {
  it('is the fluid bound of one internet swarm: N·F / (u_s + Σu) when uploads bind', () => {
    const plan: ScenarioPlan = { name: 'flash', description: '', cdnBps: 10 * MB, peers: Array.from({ length: 90 }, () => peer()) };
    const b = scenarioBound(plan, 100 * MB);
    // 90 copies of 100 MB over 10 + 90 MB/s: 90 s (the slowest download alone: 10 s; the CDN: 10 s).
    expect(b.seconds).toBeCloseTo(90);
    expect(b.partitions.get('internet')?.limitedBy).toBe('total-upload');
  });

  it('leaves liars, stallers and peers that leave out, and holds each LAN to its own bound', () => {
    const plan: ScenarioPlan = {
      name: 'lan',
      description: '',
      cdnBps: 100 * MB,
      peers: [
        peer({ kind: 'liar' }),
        peer({ kind: 'staller' }),
        peer({ leaveMs: 5000 }),
        peer({ cluster: 0, profile: { uploadBps: 100 * MB, downloadBps: 100 * MB, latencyMs: 1 } }),
        peer({ cluster: 0, profile: { uploadBps: 100 * MB, downloadBps: 100 * MB, latencyMs: 1 } }),
        peer(),
      ],
    };
    const b = scenarioBound(plan, 100 * MB);
    expect(b.partitionOf).toEqual(['', '', '', 'lan:0', 'lan:0', 'internet']);
    expect(b.partitions.get('lan:0')?.seconds).toBeCloseTo(1); // the CDN's 100 MB/s: 1 s
    expect(b.partitions.get('internet')?.seconds).toBeCloseTo(10); // its 10 MB/s download
    expect(b.seconds).toBeCloseTo(10);
  });

  it('counts one copy from the CDN per partition', () => {
    const plan: ScenarioPlan = { name: 'lan', description: '', cdnBps: 1 * MB, peers: [0, 1, 2].map((c) => peer({ cluster: c, profile: { uploadBps: 100 * MB, downloadBps: 100 * MB, latencyMs: 1 } })) };
    expect(scenarioBound(plan, 10 * MB).seconds).toBeCloseTo(30);
  });
});
