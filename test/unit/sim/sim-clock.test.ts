/** The simulator's clock (sim/sim-clock.ts): timers in order, no real waiting, promise chains settled between events. */
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../../sim/sim-clock.js';

describe('SimClock', () => {
  it('fires timers in time order, ties in the order they were set, and moves now() to each', async () => {
    const clock = new SimClock(1000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => seen.push(`b1@${clock.now()}`), 200);
    clock.setTimeout(() => seen.push(`b2@${clock.now()}`), 200);
    clock.setTimeout(() => seen.push(`now@${clock.now()}`), -5);
    expect(await clock.run(() => false)).toBe('idle');
    expect(seen).toEqual(['now@1000', 'a@1100', 'b1@1200', 'b2@1200', 'c@1300']);
    expect(clock.fired).toBe(5);
    expect(clock.pending).toBe(0);
  });

  it('runs a day of simulated timers without waiting', async () => {
    const clock = new SimClock(0);
    let ticks = 0;
    const handle = clock.setInterval(() => ticks++, 1000);
    const started = Date.now();
    expect(await clock.run(() => ticks >= 86_400)).toBe('done');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(clock.now()).toBe(86_400_000);
    clock.clearInterval(handle);
    expect(clock.pending).toBe(0);
  });

  it('cancels timers, and settles promise chains before the next event', async () => {
    const clock = new SimClock(0);
    const seen: string[] = [];
    const dropped = clock.setTimeout(() => seen.push('dropped'), 50);
    clock.clearTimeout(dropped);
    clock.clearTimeout(dropped);
    // A chain of awaits (as the core's memory doubles resolve) sets a timer at its end.
    void (async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
      seen.push(`chain@${clock.now()}`);
      clock.setTimeout(() => seen.push(`after-chain@${clock.now()}`), 10);
    })();
    clock.setTimeout(() => seen.push(`t@${clock.now()}`), 100);
    expect(await clock.run(() => false)).toBe('idle');
    expect(seen).toEqual(['chain@0', 'after-chain@10', 't@100']);
  });

  it('stops at a time limit with the clock there, and keeps what is due later', async () => {
    const clock = new SimClock(0);
    let fired = 0;
    clock.setTimeout(() => fired++, 500);
    clock.setTimeout(() => fired++, 5000);
    expect(await clock.run(() => false, 1000)).toBe('time');
    expect(fired).toBe(1);
    expect(clock.now()).toBe(1000);
    expect(clock.pending).toBe(1);
  });

  it('keeps 10,000 timers in order (the heap)', async () => {
    const clock = new SimClock(0);
    const order: number[] = [];
    let x = 12345;
    for (let i = 0; i < 10_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31; // deterministic delays
      const due = x % 100_000;
      clock.setTimeout(() => order.push(due), due);
    }
    await clock.run(() => false);
    expect(order).toHaveLength(10_000);
    for (let i = 1; i < order.length; i++) expect(order[i]!).toBeGreaterThanOrEqual(order[i - 1]!);
  });
  it('drops cancelled timers (and what their callbacks hold) and keeps the order of the rest', async () => {
    const clock = new SimClock(0);
    const fired: string[] = [];
    const kept: Array<[number, number]> = [];
    let x = 777;
    const handles: unknown[] = [];
    for (let i = 0; i < 6_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const due = x % 1000; // many share a due time: they fire in the order set
      handles.push(clock.setTimeout(() => fired.push(`${due}:${i}`), due));
      if (i % 3 === 0) kept.push([due, i]);
    }
    // Cancelling two thirds rebuilds the heap (more dead than live) along the way.
    for (let i = 0; i < handles.length; i++) if (i % 3 !== 0) clock.clearTimeout(handles[i]);
    expect(clock.pending).toBe(2_000);
    const ticks: number[] = [];
    // An interval cleared from its own callback (it is back in the heap by then).
    const every = clock.setInterval(() => {
      ticks.push(clock.now());
      if (ticks.length === 2) clock.clearInterval(every);
    }, 400);
    await clock.run(() => false);
    kept.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(fired).toEqual(kept.map(([due, i]) => `${due}:${i}`));
    expect(ticks).toEqual([400, 800]);
    expect(clock.pending).toBe(0);
  });
});
