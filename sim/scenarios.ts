/**
 * The simulator's scenarios (issue 18): who joins when, over which link, and how each peer
 * behaves. Rates are of the full-size file, bytes per second.
 *
 * Mixed links (`mixedLink`): 20% fibre (100/100 Mbit/s), 50% cable (100 down, 10 up), 30% DSL
 * (16 down, 1 up), one-way latency 5-40 ms. The CDN sends 400 Mbit/s (50 MB/s) in all.
 */
import type { LinkProfile } from './link-model.js';
import type { Random } from './random.js';

export const SCENARIOS = ['flash', 'steady', 'churn', 'lan', 'hostile', 'background'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface PeerPlan {
  kind: 'honest' | 'liar' | 'staller';
  profile: LinkProfile;
  joinMs: number;
  /** When it closes its tab, ms; undefined: it stays to the end (and seeds once complete). */
  leaveMs?: number;
  /** It stays this long after completing, then leaves; undefined: to the end. */
  seedMs?: number;
  /** Its LAN (peers behind one address, in LAN mode), or -1: alone on the internet. */
  cluster: number;
  background: boolean;
}

export interface ScenarioPlan {
  name: ScenarioName;
  description: string;
  cdnBps: number;
  peers: PeerPlan[];
}

const Mbit = 1_000_000 / 8;
export const DEFAULT_CDN_BPS = 400 * Mbit;

/** A peer's link, drawn from the mix. */
export function mixedLink(random: Random): LinkProfile {
  const r = random();
  const latencyMs = 5 + Math.round(random() * 35);
  if (r < 0.2) return { downloadBps: 100 * Mbit, uploadBps: 100 * Mbit, latencyMs };
  if (r < 0.7) return { downloadBps: 100 * Mbit, uploadBps: 10 * Mbit, latencyMs };
  return { downloadBps: 16 * Mbit, uploadBps: 1 * Mbit, latencyMs };
}

/** A school's LAN: 1 Gbit/s switched, ~1 ms. (The link model has no shared uplink to the CDN.) */
const lanLink = (random: Random): LinkProfile => ({ downloadBps: 1000 * Mbit, uploadBps: 1000 * Mbit, latencyMs: 1 + Math.round(random()) });

export function planScenario(name: ScenarioName, n: number, random: Random, cdnBps = DEFAULT_CDN_BPS): ScenarioPlan {
  const honest = (joinMs: number, extra: Partial<PeerPlan> = {}): PeerPlan => ({ kind: 'honest', profile: mixedLink(random), joinMs, cluster: -1, background: false, ...extra });
  const within = (ms: number) => Math.round(random() * ms);
  const peers: PeerPlan[] = [];
  switch (name) {
    case 'flash':
      for (let i = 0; i < n; i++) peers.push(honest(within(10_000)));
      return { name, description: `${n} peers join within 10 s and stay`, cdnBps, peers };
    case 'steady': {
      // Arrivals at a steady rate over 120 s (exponential gaps); each seeds 30-90 s once done.
      let t = 0;
      for (let i = 0; i < n; i++) {
        t += (-Math.log(1 - random()) * 120_000) / n;
        peers.push(honest(Math.round(t), { seedMs: 30_000 + within(60_000) }));
      }
      return { name, description: `${n} peers arrive steadily over 120 s; each seeds 30-90 s once done`, cdnBps, peers };
    }
    case 'churn':
      // A flash crowd where a quarter close the tab at a random moment of their first 60 s.
      for (let i = 0; i < n; i++) {
        const joinMs = within(10_000);
        peers.push(honest(joinMs, random() < 0.25 ? { leaveMs: joinMs + 1000 + within(59_000) } : {}));
      }
      return { name, description: `${n} peers join within 10 s; a quarter leave within their first 60 s`, cdnBps, peers };
    case 'lan': {
      // Half in schools of 25 (one address each, LAN mode, a fast LAN), half alone on the internet.
      const inLans = Math.floor(n / 2);
      for (let i = 0; i < n; i++) {
        const cluster = i < inLans ? Math.floor(i / 25) : -1;
        peers.push(honest(within(10_000), cluster >= 0 ? { cluster, profile: lanLink(random) } : {}));
      }
      return { name, description: `${inLans} peers in LANs of 25 behind one address each (LAN mode), ${n - inLans} on the internet`, cdnBps, peers };
    }
    case 'hostile': {
      // 5% liars (every piece corrupt) and 5% stallers (claim all, send nothing), there from the
      // start, at random places among the peers.
      const bad = Math.round(n * 0.05);
      const order = Array.from({ length: n }, (_, i) => ({ i, key: random() })).sort((a, b) => a.key - b.key);
      const kinds = new Map(order.slice(0, 2 * bad).map(({ i }, k) => [i, k < bad ? ('liar' as const) : ('staller' as const)]));
      for (let i = 0; i < n; i++) {
        const kind = kinds.get(i) ?? 'honest';
        peers.push(honest(kind === 'honest' ? within(10_000) : 0, { kind }));
      }
      return { name, description: `${n} peers join within 10 s; ${bad} liars and ${bad} stallers (5% each) among them`, cdnBps, peers };
    }
    case 'background':
      // Half are background downloads (DO's IsBackground: a longer HTTP delay, yield the CDN).
      for (let i = 0; i < n; i++) peers.push(honest(within(10_000), { background: random() < 0.5 }));
      return { name, description: `${n} peers join within 10 s; half of them download in the background`, cdnBps, peers };
  }
}
