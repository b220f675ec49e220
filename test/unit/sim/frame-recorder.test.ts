/** A recording's frames (sim/frame-recorder.ts): any run fits the replay view's frame limit, with its rates and last pieces right. */
import { describe, expect, it } from 'vitest';
import { FrameRecorder } from '../../../sim/frame-recorder.js';

describe('FrameRecorder', () => {
  it('takes a frame per tick, with the rates over it', () => {
    const r = new FrameRecorder(500);
    r.tick(0.5, 1000, 4000, () => [3], () => [1]);
    r.tick(1, 1500, 4000, () => [4], () => [1]);
    expect(r.frames).toEqual([
      { t: 0.5, cdnBps: 2000, peerBps: 8000, have: [3], fromCdn: [1] },
      { t: 1, cdnBps: 1000, peerBps: 0, have: [4], fromCdn: [1] },
    ]);
  });

  it('past its limit, halves the frames and the rate at which it takes them; the rates stay those of the run', () => {
    const r = new FrameRecorder(1000, 10);
    // 1,000 ticks of 1 s: the CDN sends 100 B/s throughout, the peers 1 kB/s; a peer gains a piece a tick.
    for (let k = 1; k <= 1000; k++) r.tick(k, 100 * k, 1000 * k, () => [k], () => [0]);
    expect(r.frames.length).toBeLessThanOrEqual(10);
    expect(r.frames.length).toBeGreaterThan(5);
    expect(r.frameMs).toBeGreaterThan(1000);
    for (const f of r.frames) {
      expect(f.cdnBps).toBeCloseTo(100);
      expect(f.peerBps).toBeCloseTo(1000);
      expect(f.have).toEqual([f.t]); // each frame shows the pieces at its own time
    }
    // Frames stay in order and reach the run's end within one step.
    const ts = r.frames.map((f) => f.t);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(1000 - ts.at(-1)!).toBeLessThan(r.frameMs / 1000);
  });
});
