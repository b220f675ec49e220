/** A Clock (src/core/clock.ts) whose time moves only when a test advances it. */
import type { Clock } from '../../src/core/clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private time = 1_000_000;
  private nextId = 1;
  private timers: Timer[] = [];
  /** Timers ever set: a test of "no timers" reads it. */
  timersSet = 0;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.timersSet++;
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** An interval is one timer that sets itself again (same id) before each run. */
  setInterval(fn: () => void, ms: number): unknown {
    this.timersSet++;
    const id = this.nextId++;
    const every = Math.max(1, ms);
    const arm = (at: number) => this.timers.push({ id, at, fn: () => (arm(this.time + every), fn()) });
    arm(this.time + every);
    return id;
  }

  clearInterval(handle: unknown): void {
    this.clearTimeout(handle);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order (each at its own time), and lets
   * the promise callbacks they cause run before the next one.
   */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await flushMicrotasks();
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
    await flushMicrotasks();
  }
}

export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
