/**
 * The replay view's model (src/ui/replay/replay-model.ts), its colours (peer-colour.ts), its
 * grid layout and its clock: the figures, frames and colours the page draws, without a page.
 */
import { describe, expect, it } from 'vitest';
import { peerFill, peerMark, parseHex, sourceHue, type ReplayPalette } from '../../../src/ui/replay/peer-colour.js';
import { gridLayout } from '../../../src/ui/replay/peer-grid.js';
import { Playback, type PlaybackClock } from '../../../src/ui/replay/playback.js';
import { defaultSpeed, durationS, frameIndexAt, frameSummary, percentile, replayable, runSummary } from '../../../src/ui/replay/replay-model.js';
import { formatSimTime } from '../../../src/ui/replay/format-sim-time.js';
import { syntheticRecording } from '../../helpers/synthetic-recording.js';

const rec = syntheticRecording();

describe('frames', () => {
  it('shows the last frame at or before t, the first before any', () => {
    const frames = rec.frames; // t = 0, 1, ..., 19
    expect(frameIndexAt(frames, 0)).toBe(0);
    expect(frameIndexAt(frames, 0.99)).toBe(0);
    expect(frameIndexAt(frames, 1)).toBe(1);
    expect(frameIndexAt(frames, 12.5)).toBe(12);
    expect(frameIndexAt(frames, 1000)).toBe(19);
    expect(frameIndexAt(frames, -1)).toBe(0);
    expect(frameIndexAt([], 3)).toBe(-1);
    expect(durationS(rec)).toBe(19);
  });

  it('replays frames written out of order in time order, and refuses a recording without frames', () => {
    const shuffled = { ...rec, frames: [rec.frames[3]!, rec.frames[0]!, rec.frames[1]!, rec.frames[2]!] };
    expect(replayable(shuffled).frames.map((f) => f.t)).toEqual([0, 1, 2, 3]);
    expect(replayable(rec)).toBe(rec);
    expect(() => replayable({ ...rec, frames: [] })).toThrow(expect.objectContaining({ kind: 'replay', message: expect.stringContaining('no frames') }));
  });

  it('starts at the speed that plays the run in about 30 s', () => {
    expect(defaultSpeed(19)).toBe(1);
    expect(defaultSpeed(100)).toBe(4);
    expect(defaultSpeed(400)).toBe(16);
    expect(defaultSpeed(1800)).toBe(64);
    expect(defaultSpeed(100_000)).toBe(64);
  });
});

describe('run summary', () => {
  it('counts completions over the bound, mean and nearest-rank p95', () => {
    const s = runSummary(rec);
    const times = rec.peers.flatMap((p) => (p.doneS === undefined ? [] : [p.doneS - p.joinS])).sort((a, b) => a - b);
    expect(s).toMatchObject({ peers: 50, liars: 5, stallers: 5, completed: 26 });
    expect(times.length).toBe(26);
    expect(s.meanOverBound).toBeCloseTo(times.reduce((a, b) => a + b) / 26 / 8, 10);
    // 95% of 26 is 24.7: the 25th smallest.
    expect(s.p95OverBound).toBe(times[24]! / 8);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([5], 95)).toBe(5);
  });

  it('counts the CDN per file size from piece counts, a peer that left at its last frame in the swarm', () => {
    const last = rec.frames.at(-1)!;
    const present = last.fromCdn.reduce((a, b) => a + b, 0);
    // The last peer left at t = 15 holding 30 pieces, half of them from the CDN.
    expect(last.have[49]).toBe(-1);
    expect(rec.frames[14]!.fromCdn[49]).toBe(15);
    expect(runSummary(rec).cdnFileCopies).toBeCloseTo((present + 15) / 40, 10);
  });

  it('has no ratio to a zero bound or without completions', () => {
    expect(runSummary({ ...rec, boundS: 0 }).meanOverBound).toBeUndefined();
    const none = runSummary({ ...rec, peers: rec.peers.map(({ doneS: _d, ...p }) => p) });
    expect(none.completed).toBe(0);
    expect(none.p95OverBound).toBeUndefined();
  });
});

describe('frame summary', () => {
  it('at t = 0: peers in the swarm hold nothing', () => {
    const s = frameSummary(rec, rec.frames[0]!);
    // Peers joining at 0: 0 and 1, and i % 5 == 0 from 5 to 45 (the last one joins at 4).
    expect(s).toEqual({ t: 0, inSwarm: 11, complete: 0, meanProgress: 0, cdnShare: 0, cdnBps: 0, peerBps: 0 });
  });

  it('at the end: who holds everything, and the share from the CDN', () => {
    const f = rec.frames.at(-1)!;
    const s = frameSummary(rec, f);
    expect(s.inSwarm).toBe(49);
    expect(s.complete).toBe(f.have.filter((h) => h === 40).length);
    const held = f.have.filter((h) => h >= 0).reduce((a, b) => a + b, 0);
    expect(s.meanProgress).toBeCloseTo(held / 49 / 40, 10);
    expect(s.cdnShare).toBeCloseTo(f.fromCdn.reduce((a, b) => a + b, 0) / held, 10);
  });
});

describe('peer colours', () => {
  const palette: ReplayPalette = {
    peer: parseHex('#16a34a')!,
    cdn: parseHex('#d97706')!,
    empty: parseHex('#d1d5db')!,
    absent: parseHex('#eee')!,
    liar: [220, 38, 38],
    staller: [37, 99, 235],
  };

  it('parses the CSS hex forms only', () => {
    expect(parseHex('#eee')).toEqual([238, 238, 238]);
    expect(parseHex(' #16A34A ')).toEqual([22, 163, 74]);
    expect(parseHex('rgb(1, 2, 3)')).toBeUndefined();
  });

  it('a complete peer is the peers colour, the CDN colour, or a hue between', () => {
    expect(peerFill(palette, 40, 0, 40)).toEqual(palette.peer);
    expect(peerFill(palette, 40, 40, 40)).toEqual(palette.cdn);
    const half = sourceHue(palette, 0.5);
    expect(half).not.toEqual(palette.peer);
    expect(half).not.toEqual(palette.cdn);
    // Green to orange the short way is through yellow: red and green both high.
    expect(half[0]).toBeGreaterThan(100);
    expect(half[1]).toBeGreaterThan(100);
  });

  it('fewer pieces are nearer the empty colour; absent peers are the absent colour', () => {
    const dist = (c: readonly number[]) => Math.hypot(...c.map((v, i) => v - palette.empty[i]!));
    const none = peerFill(palette, 0, 0, 40);
    const some = peerFill(palette, 10, 0, 40);
    const all = peerFill(palette, 40, 0, 40);
    expect(dist(none)).toBeGreaterThan(0); // present, if empty-handed
    expect(dist(none)).toBeLessThan(dist(some));
    expect(dist(some)).toBeLessThan(dist(all));
    expect(peerFill(palette, -1, 0, 40)).toEqual(palette.absent);
  });

  it('marks liars and stallers, not honest peers', () => {
    expect(peerMark(palette, 'liar')).toEqual(palette.liar);
    expect(peerMark(palette, 'staller')).toEqual(palette.staller);
    expect(peerMark(palette, 'honest')).toBeUndefined();
  });
});

describe('grid layout', () => {
  it('fits 20,000 peers in about the height given, with cells no smaller than the minimum', () => {
    const g = gridLayout(20_000, 1000, 420, 3, 28);
    expect(g.cellPx).toBeGreaterThanOrEqual(3);
    expect(g.perRow * g.rows).toBeGreaterThanOrEqual(20_000);
    expect(g.rows * g.cellPx).toBeLessThanOrEqual(500);
  });

  it('caps the cell size for a few peers', () => {
    expect(gridLayout(50, 1000, 420, 3, 28)).toEqual({ cellPx: 28, perRow: 35, rows: 2 });
    expect(gridLayout(0, 100, 100, 3, 28).rows).toBe(1);
  });
});

describe('playback', () => {
  function fakeClock() {
    let now = 0;
    let pending: (() => void) | undefined;
    const clock: PlaybackClock = { now: () => now, schedule: (s) => ((pending = s), 1), cancel: () => (pending = undefined) };
    const frame = (ms: number) => {
      now += ms;
      const step = pending;
      pending = undefined;
      step?.();
    };
    return { clock, frame };
  }

  it('runs simulated time at its speed, stops at the end, and restarts from 0 after it', () => {
    const { clock, frame } = fakeClock();
    const seen: number[] = [];
    const p = new Playback(10, 4, (pb) => seen.push(pb.t), clock);
    p.play();
    frame(500);
    expect(p.t).toBe(2);
    p.speed = 16;
    frame(500);
    expect(p.t).toBe(10);
    expect(p.playing).toBe(false);
    frame(500); // nothing scheduled: no change
    expect(p.t).toBe(10);
    p.play();
    expect(p.t).toBe(0);
    p.pause();
    frame(1000);
    expect(p.t).toBe(0);
    expect(seen.at(-1)).toBe(0);
  });

  it('seeks within the run', () => {
    const p = new Playback(10, 1, () => {}, fakeClock().clock);
    p.seek(12);
    expect(p.t).toBe(10);
    p.seek(-3);
    expect(p.t).toBe(0);
  });
});

it('formats simulated time', () => {
  expect(formatSimTime(0)).toBe('0.0 s');
  expect(formatSimTime(42.46)).toBe('42.5 s');
  expect(formatSimTime(187)).toBe('3:07');
});
