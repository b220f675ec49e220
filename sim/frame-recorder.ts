/**
 * The frames of a recording (src/protocol/sim-recording.ts) as a run goes: one every
 * `frameMs` of simulated time, the CDN's and the peers' rates over it, and each peer's pieces.
 * A recording holds at most MAX_RECORDED_FRAMES (the replay view refuses more): when a long run
 * reaches that, every two frames become one (the later one's pieces, the two's mean rates) and
 * frames are taken half as often from then on, so any run fits, at a coarser step.
 */
import { MAX_RECORDED_FRAMES, type SimRecording } from '../src/protocol/sim-recording.js';

type Frame = SimRecording['frames'][number];

export class FrameRecorder {
  readonly frames: Frame[] = [];
  /** Ticks of `baseMs` per frame (doubles at each compaction). */
  private stride = 1;
  private ticks = 0;
  private lastCdn = 0;
  private lastPeer = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxFrames = MAX_RECORDED_FRAMES,
  ) {}

  /** The step between frames now, ms. */
  get frameMs(): number {
    return this.baseMs * this.stride;
  }

  /**
   * One tick of `baseMs`: `cdnBytes` and `peerBytes` are totals so far; `have` and `fromCdn`
   * are read only when this tick makes a frame.
   */
  tick(t: number, cdnBytes: number, peerBytes: number, have: () => number[], fromCdn: () => number[]): void {
    if (++this.ticks % this.stride !== 0) return;
    const ms = this.frameMs;
    this.frames.push({ t, cdnBps: ((cdnBytes - this.lastCdn) * 1000) / ms, peerBps: ((peerBytes - this.lastPeer) * 1000) / ms, have: have(), fromCdn: fromCdn() });
    this.lastCdn = cdnBytes;
    this.lastPeer = peerBytes;
    if (this.frames.length > this.maxFrames) this.compact();
  }

  private compact(): void {
    const merged: Frame[] = [];
    for (let i = 0; i + 1 < this.frames.length; i += 2) {
      const [a, b] = [this.frames[i]!, this.frames[i + 1]!];
      merged.push({ ...b, cdnBps: (a.cdnBps + b.cdnBps) / 2, peerBps: (a.peerBps + b.peerBps) / 2 });
    }
    if (this.frames.length % 2 === 1) merged.push(this.frames.at(-1)!);
    this.frames.splice(0, this.frames.length, ...merged);
    this.stride *= 2;
    this.ticks = 0;
  }
}
