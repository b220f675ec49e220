/** The client's Bandwidth object on a fake clock: upload permission, the capacity share, background yielding. */
import { describe, expect, it } from 'vitest';
import { createBandwidth, type Bandwidth, type Priority } from '../../../src/core/bandwidth.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const KiB = 1024;
const CHUNK = 64 * KiB;

/** Pushes chunks through `take` back to back until stopped; counts what passed. */
function pusher(take: () => Promise<void> | undefined) {
  const state = { passed: 0, stop: false };
  void (async () => {
    while (!state.stop) {
      const wait = take();
      if (wait) await wait;
      if (state.stop) break;
      state.passed += CHUNK;
    }
  })();
  return state;
}

const cdnPusher = (bw: Bandwidth, priority: Priority) => pusher(() => bw.takeCdn(priority, CHUNK));

describe('Bandwidth', () => {
  it('uploads are allowed only when enabled and not blocked, with the reason and an event on each change', () => {
    const bw = createBandwidth({}, new FakeClock());
    const seen: Array<{ allowed: boolean; reason: string | undefined }> = [];
    bw.events.on('uploads', (e) => seen.push(e));
    expect(bw.uploadsAllowed()).toBe(true);
    bw.setUploadsBlocked('on battery');
    expect(bw.uploadsAllowed()).toBe(false);
    expect(bw.status().uploadsBlockedReason).toBe('on battery');
    bw.setUploadsBlocked('metered connection'); // still blocked: no event
    bw.setUploadsBlocked(undefined);
    expect(bw.uploadsAllowed()).toBe(true);
    bw.configure({ uploadsEnabled: false });
    expect(bw.uploadsAllowed()).toBe(false);
    expect(bw.uploadsBlockedReason).toBe('uploads disabled');
    expect(seen).toEqual([
      { allowed: false, reason: 'on battery' },
      { allowed: true, reason: undefined },
      { allowed: false, reason: 'uploads disabled' },
    ]);
  });

  it('maxUploadBytesPerSec holds on the shared upload bucket', async () => {
    const clock = new FakeClock();
    const bw = createBandwidth({ maxUploadBytesPerSec: 2_000_000 }, clock);
    const a = pusher(() => bw.takeUpload(CHUNK));
    const b = pusher(() => bw.takeUpload(CHUNK)); // a second peer session: same bucket
    await clock.advance(500);
    const before = a.passed + b.passed;
    await clock.advance(3000);
    a.stop = b.stop = true;
    const rate = ((a.passed + b.passed - before) * 1000) / 3000;
    expect(rate / 2_000_000).toBeGreaterThan(0.95);
    expect(rate / 2_000_000).toBeLessThan(1.05);
    expect(bw.limits().upload).toBe(2_000_000);
  });

  it('maxUploadShareOfCapacity caps uploads at that share of the highest rate measured over one second', async () => {
    const clock = new FakeClock();
    const bw = createBandwidth({ maxUploadShareOfCapacity: 0.25 }, clock);
    expect(bw.limits().upload).toBe(0); // nothing measured: no cap yet
    // The link carries 8 MiB in one second, nothing held back.
    for (let i = 0; i < 128; i++) {
      expect(bw.takeUpload(CHUNK)).toBeUndefined();
      await clock.advance(1000 / 128);
    }
    await clock.advance(1000);
    const limits = bw.limits();
    expect(limits.uploadCapacity).toBe(128 * CHUNK);
    expect(limits.upload).toBe(0.25 * 128 * CHUNK);
    // The effect: uploads now pass at a quarter of that, and the capped windows do not lower the capacity.
    const p = pusher(() => bw.takeUpload(CHUNK));
    await clock.advance(500);
    const before = p.passed;
    await clock.advance(3000);
    p.stop = true;
    const rate = ((p.passed - before) * 1000) / 3000;
    expect(rate / (2 * 1024 * KiB)).toBeGreaterThan(0.95);
    expect(rate / (2 * 1024 * KiB)).toBeLessThan(1.05);
    expect(bw.limits().uploadCapacity).toBe(128 * CHUNK);
  });

  it('background CDN traffic yields to a foreground download, keeping minBackgroundBytesPerSec per background download', async () => {
    const clock = new FakeClock();
    const bw = createBandwidth({ maxForegroundCdnBytesPerSec: 0, maxBackgroundCdnBytesPerSec: 0, minBackgroundBytesPerSec: 500_000 }, clock);
    const bg1 = bw.register('background');
    expect(bw.cdnLimit('background')).toEqual({ bytesPerSec: 0, paused: false }); // alone: unlimited
    const fg = bw.register('foreground');
    expect(bw.limits().backgroundYielding).toBe(true);
    expect(bw.cdnLimit('background').bytesPerSec).toBe(500_000);
    const bg2 = bw.register('background');
    expect(bw.cdnLimit('background').bytesPerSec).toBe(1_000_000); // 2 × the minimum

    // The effect over 3 s: background at 2 × 500 kB/s while the foreground takes what it wants.
    const b = cdnPusher(bw, 'background');
    let foregroundBytes = 0;
    await clock.advance(100);
    const b0 = b.passed;
    for (let ms = 0; ms < 3000; ms += 10) {
      for (let i = 0; i < 16; i++) if (bw.takeCdn('foreground', CHUNK) === undefined) foregroundBytes += CHUNK;
      await clock.advance(10);
    }
    const bgRate = ((b.passed - b0) * 1000) / 3000;
    expect(bgRate / 1_000_000).toBeGreaterThan(0.95);
    expect(bgRate / 1_000_000).toBeLessThan(1.05);
    expect(foregroundBytes).toBeGreaterThan(50 * b.passed);

    fg.close();
    expect(bw.limits().backgroundYielding).toBe(false);
    expect(bw.cdnLimit('background').bytesPerSec).toBe(0);
    b.stop = true;
    bg1.close();
    bg2.close();
  });

  it('with minBackgroundBytesPerSec 0 the background pauses while a foreground download runs, and resumes after', async () => {
    const clock = new FakeClock();
    const bw = createBandwidth({ minBackgroundBytesPerSec: 0, maxBackgroundCdnBytesPerSec: 1_000_000 }, clock);
    const bg = bw.register('background');
    const fg = bw.register('foreground');
    expect(bw.cdnLimit('background')).toEqual({ bytesPerSec: 1_000_000, paused: true });
    let passed = false;
    const wait = bw.takeCdn('background', CHUNK);
    expect(wait).toBeDefined();
    void wait!.then(() => (passed = true));
    await clock.advance(10_000);
    expect(passed).toBe(false);
    fg.close();
    await clock.advance(1);
    expect(passed).toBe(true);
    expect(bw.cdnLimit('background')).toEqual({ bytesPerSec: 1_000_000, paused: false });
    bg.close();
  });

  it('unset limits: every take is synchronous and no timer is ever set', () => {
    const clock = new FakeClock();
    const bw = createBandwidth({}, clock);
    const fg = bw.register('foreground');
    const bg = bw.register('background'); // yielding at the default 2.5 MB/s minimum: background only
    for (let i = 0; i < 1000; i++) {
      expect(bw.takeUpload(CHUNK)).toBeUndefined();
      expect(bw.takeCdn('foreground', 1024 * KiB)).toBeUndefined();
    }
    expect(clock.timersSet).toBe(0);
    expect(bw.status().throttledTakes).toBe(0);
    fg.close();
    bg.close();
  });
});
