/**
 * Simulations of the real core (sim/simulate.ts) small enough for CI: a flash crowd of 100
 * peers completes with the right bytes and near its bound; liars and stallers are banned while
 * no honest peer is; a run is a function of its seed.
 */
import { describe, expect, it } from 'vitest';
import { figuresOf } from '../../../sim/figures.js';
import { simulate } from '../../../sim/simulate.js';
import { parseSimRecording } from '../../../src/protocol/sim-recording.js';

/**
 * Regression bounds, not the goals: this run measured a mean of 1.31 times the bound (p95 1.72),
 * a peer share of 0.98 and 1.94 copies of the file from the CDN at 2026-12-06, with upload
 * turns, bounded offers, no endgame before half the file, no CDN takeovers in the endgame of a
 * big swarm, room for newcomers, and CDN grants with first copies (mean 2.1, share 0.82 before
 * the first three; mean 1.37, CDN 6.4 copies before the next two; CDN 2.56 copies before the
 * service knew what the swarm fetched). A swarm this small swings with its seed: seeds 1-4 gave
 * means of 1.31, 1.55, 1.78 and 1.65 (1.30, 1.55, 1.80 and 1.83 before the grants). The goals of
 * issue 18 are for 1,000 peers (docs/benchmarks.md, "The swarm at scale"). A run is a function
 * of its seed, so a change of the core that moves these moved them for every run of the same
 * inputs.
 */
const MEAN_MAX = 1.45;
const P95_MAX = 2.0;
const PEER_SHARE_MIN = 0.94;
/**
 * Copies of the file from the CDN: 1.94 (2.56 when later owners fetched again what the swarm
 * had; 9.1 when a tab with less than half the file took over lagging requests as its "endgame").
 * Most of what is left is the first 33 tabs', which fetched before the swarm was big.
 */
const CDN_COPIES_MAX = 2.3;

describe('simulate', () => {
  it('a flash crowd of 100 peers (64 MiB, mixed links): every peer completes with the right bytes, near the bound, mostly from peers', async () => {
    const r = await simulate({ peers: 100, scenario: 'flash', fileMiB: 64, seed: 1 });
    const f = figuresOf(r);
    expect(r.ended).toBe('done');
    expect(f.completed).toBe(100);
    expect(f.wrong_pieces).toBe(0);
    expect(f.honest_banned).toBe(0);
    // Every piece of every peer is accounted for, from a peer or the CDN.
    for (const x of r.outcomes) expect(x.piecesFromCdn + x.piecesFromPeers).toBe(64);
    expect(f.sim_completion_vs_bound_mean).toBeLessThan(MEAN_MAX);
    expect(f.sim_completion_vs_bound_p95).toBeLessThan(P95_MAX);
    expect(f.sim_peer_share).toBeGreaterThan(PEER_SHARE_MIN);
    expect(f.sim_cdn_bytes_per_file).toBeLessThan(CDN_COPIES_MAX);
  }, 60_000);

  it('5% liars and 5% stallers: honest peers complete with the right bytes, ban every liar caught lying, never each other', async () => {
    const r = await simulate({ peers: 100, scenario: 'hostile', fileMiB: 32, seed: 2 });
    const f = figuresOf(r);
    expect(r.outcomes.some((x) => x.kind === 'liar')).toBe(true);
    expect(r.outcomes.some((x) => x.kind === 'staller')).toBe(true);
    expect(f.completed).toBe(f.expected);
    expect(f.wrong_pieces).toBe(0);
    expect(f.honest_banned).toBe(0);
    // Every liar whose lies arrived was banned by some honest peer (a slow liar's may all be
    // cancelled on the way: it is dropped, not banned); no honest peer's piece failed, and no
    // honest peer was banned by anyone.
    const liars = r.outcomes.filter((y) => y.kind === 'liar');
    expect(liars.some((x) => x.piecesRejected > 0)).toBe(true);
    for (const x of liars) if (x.piecesRejected > 0) expect(x.timesBanned).toBeGreaterThan(0);
    for (const x of r.outcomes.filter((y) => y.kind === 'honest')) expect([x.timesBanned, x.piecesRejected]).toEqual([0, 0]);
  }, 60_000);

  it('records a run as the replay view reads it (the schema of src/protocol/sim-recording.ts)', async () => {
    const r = await simulate({ peers: 20, scenario: 'flash', fileMiB: 8, seed: 3, record: true });
    const rec = parseSimRecording(JSON.stringify(r.recording));
    expect(rec.peers).toHaveLength(20);
    expect(rec.frames.length).toBeGreaterThan(3);
    // Each frame shows a peer that had completed by then with every piece, and its completion.
    let seen = 0;
    for (const f of rec.frames) {
      for (const [i, x] of r.outcomes.entries()) {
        if (x.doneS === undefined || x.doneS > f.t) continue;
        expect(f.have[i]).toBe(8);
        expect(rec.peers[i]!.doneS).toBe(x.doneS);
        seen++;
      }
    }
    expect(seen).toBeGreaterThan(0);
  }, 60_000);

  it('is a function of its seed: the same seed gives the same run, another seed another', async () => {
    const run = async (seed: number) => (await simulate({ peers: 30, scenario: 'churn', fileMiB: 16, seed })).outcomes.map((x) => [x.doneS, x.piecesFromCdn, x.piecesUploaded]);
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  }, 60_000);
});
