/**
 * The replay's clock: simulated time that runs at `speed` simulated seconds per wall second
 * while playing, stops at the end, and is set by the slider. The scheduler and the wall clock
 * are parameters so that it runs without a page (tests) as with one (requestAnimationFrame).
 */
export interface PlaybackClock {
  now(): number;
  /** Calls `step` once, soon (a display frame); returns a handle for cancel. */
  schedule(step: () => void): number;
  cancel(handle: number): void;
}

export const animationFrames: PlaybackClock = {
  now: () => performance.now(),
  schedule: (step) => requestAnimationFrame(step),
  cancel: (handle) => cancelAnimationFrame(handle),
};

export class Playback {
  t = 0;
  playing = false;
  private lastWallMs = 0;
  private handle: number | undefined;

  /** `onChange` is called after every change of time or of playing. */
  constructor(
    readonly durationS: number,
    public speed: number,
    private readonly onChange: (p: Playback) => void,
    private readonly clock: PlaybackClock = animationFrames,
  ) {}

  play(): void {
    if (this.playing) return;
    if (this.t >= this.durationS) this.t = 0; // played to the end: from the start again
    this.playing = true;
    this.lastWallMs = this.clock.now();
    this.handle = this.clock.schedule(() => this.step());
    this.onChange(this);
  }

  pause(): void {
    if (!this.playing) return;
    this.playing = false;
    if (this.handle !== undefined) this.clock.cancel(this.handle);
    this.handle = undefined;
    this.onChange(this);
  }

  toggle(): void {
    if (this.playing) this.pause();
    else this.play();
  }

  seek(t: number): void {
    this.t = Math.max(0, Math.min(this.durationS, t));
    this.lastWallMs = this.clock.now();
    this.onChange(this);
  }

  private step(): void {
    const now = this.clock.now();
    this.t = Math.min(this.durationS, this.t + ((now - this.lastWallMs) / 1000) * this.speed);
    this.lastWallMs = now;
    if (this.t >= this.durationS) {
      this.playing = false;
      this.handle = undefined;
    } else {
      this.handle = this.clock.schedule(() => this.step());
    }
    this.onChange(this);
  }
}
