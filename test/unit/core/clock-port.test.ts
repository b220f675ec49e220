/**
 * The core's clock port (src/core/clock.ts): a Download runs wholly on the Clock it is given,
 * here the simulator's SimClock (issue 18). The global timers and Date are faked and never
 * advanced for the test, so a timer or time reading of the core that went around the port
 * would be seen (a global timer set) or would stall the download (a frozen Date, a timer that
 * never fires). The memory doubles (MemoryCdn's latency, MemoryNetwork's deliveries) run on
 * the same SimClock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimClock } from '../../../sim/sim-clock.js';
import type { Clock } from '../../../src/core/clock.js';
import { makeContent } from '../../helpers/content.js';
import { memoryDownload } from '../../helpers/memory-download.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';
import { seededStore, storedBytes } from '../../helpers/sim-peer.js';

const MiB = 1024 * 1024;

/** `sim`, counting the timers set through it. */
function counting(sim: SimClock): Clock & { timers: number } {
  const clock = {
    timers: 0,
    now: () => sim.now(),
    setTimeout: (fn: () => void, ms: number) => (clock.timers++, sim.setTimeout(fn, ms)),
    clearTimeout: (h: unknown) => sim.clearTimeout(h),
    setInterval: (fn: () => void, ms: number) => (clock.timers++, sim.setInterval(fn, ms)),
    clearInterval: (h: unknown) => sim.clearInterval(h),
  };
  return clock;
}

let globalTimers: Array<ReturnType<typeof vi.spyOn>> = [];

beforeEach(() => {
  // SimClock settles promise chains with setImmediate: that one stays real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  globalTimers = [vi.spyOn(globalThis, 'setTimeout'), vi.spyOn(globalThis, 'setInterval')];
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('the clock port', () => {
  it('runs a Download on a SimClock: a 60 s HTTP delay passes in simulated time, and no global timer is set', async () => {
    const sim = new SimClock();
    const clock = counting(sim);
    const start = sim.now();
    const content = makeContent(5 * MiB + 777, 3);
    const cdn = new MemoryCdn(content.bytes, 20, clock);
    // Alone in a swarm (so the HTTP delay applies): peers are waited for 60 s, then the CDN serves.
    const { d, store, peerId } = memoryDownload(content, cdn, { net: new MemoryNetwork(clock), clock, config: { httpDelayMs: 60_000 } });
    const realStart = performance.now();
    void d.start();
    try {
      expect(await sim.run(() => d.state !== 'downloading', start + 59_000)).toBe('time');
      expect(cdn.requests).toBe(0);
      expect(await sim.run(() => d.state !== 'downloading' && d.state !== 'verifying')).toBe('done');
      expect(d.state).toBe('complete');
      expect(sim.now() - start).toBeGreaterThanOrEqual(60_000);
      expect(performance.now() - realStart).toBeLessThan(5000);
      expect(Buffer.from(await storedBytes({ peerId, download: d, store }, content)).equals(Buffer.from(content.bytes))).toBe(true);
      expect(d.snapshot().bytesFromCdn).toBe(content.metadata.fileSize);
      expect(clock.timers).toBeGreaterThan(0);
      for (const spy of globalTimers) expect(spy).not.toHaveBeenCalled();
    } finally {
      d.stop();
    }
  });

  it('runs a swarm on a SimClock: a leecher gets every piece from a seeder, peer sessions on the same clock', async () => {
    const sim = new SimClock();
    const clock = counting(sim);
    const content = makeContent(6 * MiB + 5, 4);
    const cdn = new MemoryCdn(content.bytes, 20, clock);
    const net = new MemoryNetwork(clock);
    const seeder = memoryDownload(content, cdn, { net, clock, store: await seededStore(content), config: { httpDelayMs: 60_000 } });
    const leecher = memoryDownload(content, cdn, { net, clock, config: { httpDelayMs: 60_000 } });
    const realStart = performance.now();
    void seeder.d.start();
    try {
      expect(await sim.run(() => seeder.d.state === 'complete')).toBe('done');
      void leecher.d.start();
      expect(await sim.run(() => leecher.d.state === 'complete' || leecher.d.state === 'failed')).toBe('done');
      expect(leecher.d.state).toBe('complete');
      expect(performance.now() - realStart).toBeLessThan(5000);
      expect(Buffer.from(await storedBytes({ peerId: leecher.peerId, download: leecher.d, store: leecher.store }, content)).equals(Buffer.from(content.bytes))).toBe(true);
      expect(leecher.d.snapshot().bytesFromPeers).toBe(content.metadata.fileSize);
      expect(cdn.bytesServed).toBe(0);
      for (const spy of globalTimers) expect(spy).not.toHaveBeenCalled();
    } finally {
      seeder.d.stop();
      leecher.d.stop();
    }
  });
});
