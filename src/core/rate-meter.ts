import { systemClock } from './clock.js';

/** Bytes per second over a sliding window of one-second buckets. */
export class RateMeter {
  private readonly buckets: number[];
  private lastSecond = 0;

  constructor(
    private readonly windowSeconds = 5,
    private readonly now: () => number = () => systemClock.now(),
  ) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
  }

  add(bytes: number): void {
    this.advance();
    const i = this.lastSecond % this.windowSeconds;
    this.buckets[i] = (this.buckets[i] ?? 0) + bytes;
  }

  /** Average rate over the window, in bytes per second. */
  rate(): number {
    this.advance();
    return this.buckets.reduce((a, b) => a + b, 0) / this.windowSeconds;
  }

  private advance(): void {
    const second = Math.floor(this.now() / 1000);
    if (this.lastSecond === 0) this.lastSecond = second;
    const steps = Math.min(second - this.lastSecond, this.windowSeconds);
    for (let s = 1; s <= steps; s++) this.buckets[(this.lastSecond + s) % this.windowSeconds] = 0;
    this.lastSecond = second;
  }
}
