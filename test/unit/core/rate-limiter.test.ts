/** The byte token bucket on a fake clock: rates hold, debt, order, abort, pause, and a free unlimited path. */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/core/rate-limiter.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A sender that pushes `chunk`-byte takes back to back; `passed` counts what got through. */
function sender(limiter: RateLimiter, chunk: number) {
  const state = { passed: 0, stop: false };
  void (async () => {
    while (!state.stop) {
      const wait = limiter.take(chunk);
      if (wait) await wait;
      if (state.stop) break;
      state.passed += chunk;
    }
  })();
  return state;
}

describe('RateLimiter', () => {
  it('unlimited: take passes synchronously, sets no timer and never queues', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(0, clock);
    for (let i = 0; i < 1000; i++) expect(limiter.take(MiB)).toBeUndefined();
    expect(clock.timersSet).toBe(0);
    expect(limiter.queuedTakes).toBe(0);
  });

  it('holds 2 MB/s with 64 KiB chunks within a few percent over 3 s', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(2_000_000, clock);
    const s = sender(limiter, 64 * KiB);
    await clock.advance(500);
    const before = s.passed;
    await clock.advance(3000);
    const rate = ((s.passed - before) * 1000) / 3000;
    s.stop = true;
    expect(rate / 2_000_000).toBeGreaterThan(0.97);
    expect(rate / 2_000_000).toBeLessThan(1.03);
    // From the start: at most one burst (100 ms) and one chunk over.
    const fromStart = s.passed;
    expect(fromStart).toBeLessThanOrEqual(2_000_000 * 3.5 + 200_000 + 64 * KiB);
  });

  it('lets a 1 MiB piece pass at a low rate (debt), then waits it off', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(100_000, clock);
    expect(limiter.take(MiB)).toBeUndefined();
    let second = false;
    void limiter.take(MiB)!.then(() => (second = true));
    // The bucket held 64 KiB (the minimum burst): the debt is 1 MiB - 64 KiB at 100 kB/s.
    const debtMs = ((MiB - 64 * KiB) * 1000) / 100_000;
    await clock.advance(debtMs - 100);
    expect(second).toBe(false);
    await clock.advance(200);
    expect(second).toBe(true);
  });

  it('passes takes in order; an aborted take is dropped and rejects with kind aborted', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(64 * KiB, clock); // one chunk per second
    expect(limiter.take(64 * KiB)).toBeUndefined();
    expect(limiter.take(64 * KiB)).toBeUndefined(); // the burst: one chunk
    const order: string[] = [];
    const ctl = new AbortController();
    const a = limiter.take(64 * KiB)!.then(() => order.push('a'));
    const b = limiter.take(64 * KiB, ctl.signal)!.then(
      () => order.push('b'),
      (e: { kind?: string }) => order.push(`b:${e.kind}`),
    );
    const c = limiter.take(64 * KiB)!.then(() => order.push('c'));
    ctl.abort();
    await clock.advance(10_000);
    await Promise.all([a, b, c]);
    expect(order).toEqual(['b:aborted', 'a', 'c']);
  });

  it('setRate(0) releases every waiting take at once; pause holds them all', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(1000, clock);
    limiter.take(MiB);
    let released = 0;
    for (let i = 0; i < 3; i++) void limiter.take(MiB)!.then(() => released++);
    await clock.advance(10);
    expect(released).toBe(0);
    limiter.setRate(0);
    await clock.advance(0);
    expect(released).toBe(3);

    limiter.setPaused(true);
    let afterPause = false;
    void limiter.take(1)!.then(() => (afterPause = true));
    await clock.advance(60_000);
    expect(afterPause).toBe(false);
    limiter.setPaused(false);
    await clock.advance(0);
    expect(afterPause).toBe(true);
  });

  it('a lowered rate applies to the takes already waiting', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(1_000_000, clock);
    const s = sender(limiter, 64 * KiB);
    await clock.advance(1000);
    limiter.setRate(250_000);
    const before = s.passed;
    await clock.advance(4000);
    s.stop = true;
    const rate = ((s.passed - before) * 1000) / 4000;
    expect(rate / 250_000).toBeGreaterThan(0.9);
    expect(rate / 250_000).toBeLessThan(1.1);
  });
});
