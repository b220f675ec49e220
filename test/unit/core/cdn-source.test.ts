/**
 * src/core/cdn-source.ts on its own: one range request per piece of exactly the piece's
 * length, the next CDN URL after a failure, a back-off that doubles per failure (to 30 s) and
 * ends at a success, request slots, a timeout, abort, and pacing that holds a slot but no piece.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CdnSource, type CdnPacing } from '../../../src/core/cdn-source.js';
import { isTabswarmError } from '../../../src/core/errors.js';
import type { HttpRange } from '../../../src/core/ports.js';

const config = { cdnRequestsInFlight: 2, cdnRequestTimeoutMs: 1000 };

/** An HttpRange that records each call and answers as `answer` says. */
function http(answer: (url: string, start: number, end: number, signal: AbortSignal) => Promise<Uint8Array>) {
  const calls: Array<{ url: string; start: number; end: number }> = [];
  const port: HttpRange = {
    probeSize: async () => 0,
    get: (url, start, end, signal) => {
      calls.push({ url, start, end });
      return answer(url, start, end, signal);
    },
  };
  return { port, calls };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CdnSource', () => {
  it('asks one range per piece, exactly the piece, and refuses a response of another length', async () => {
    const { port, calls } = http(async (_u, start, end) => new Uint8Array(end - start === 100 ? 99 : end - start));
    const cdn = new CdnSource(port, ['https://a/x'], 1000, config);
    expect((await cdn.fetch(3, 1000)).byteLength).toBe(1000);
    expect(calls).toEqual([{ url: 'https://a/x', start: 3000, end: 4000 }]);
    const err = await cdn.fetch(7, 100).catch((e: unknown) => e);
    expect(isTabswarmError(err) && err.kind).toBe('cdn-error');
    expect(String(err)).toContain('CDN sent 99 bytes for piece 7, expected 100');
  });

  it('goes to the next URL after a failure, and wraps round', async () => {
    const { port, calls } = http(async (url) => {
      if (url.includes('a/')) throw new Error('connection reset');
      return new Uint8Array(10);
    });
    const cdn = new CdnSource(port, ['https://a/x', 'https://b/x'], 10, config);
    const err = await cdn.fetch(0, 10).catch((e: unknown) => e);
    expect(isTabswarmError(err) && err.kind).toBe('cdn-error');
    await cdn.fetch(0, 10);
    expect(calls.map((c) => c.url)).toEqual(['https://a/x', 'https://b/x']);
    expect(() => new CdnSource(port, [], 10, config)).toThrow('no CDN URL');
  });

  it('backs off after a failure, doubling to 30 s, and a success ends it', () => {
    const cdn = new CdnSource(http(async () => new Uint8Array(0)).port, ['u'], 10, config);
    expect(cdn.freeSlots()).toBe(2);
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      cdn.reportFailure();
      waits.push(cdn.retryInMs());
    }
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(cdn.freeSlots()).toBe(0);
    vi.advanceTimersByTime(30_000);
    expect(cdn.freeSlots()).toBe(2);
    cdn.reportFailure();
    cdn.reportSuccess();
    expect(cdn.retryInMs()).toBe(0);
    cdn.reportFailure();
    expect(cdn.retryInMs()).toBe(250);
  });

  it('holds a slot per request in flight, times a request out, and aborts all at once', async () => {
    const { port } = http(
      (_u, _s, _e, signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    );
    const cdn = new CdnSource(port, ['u'], 10, config);
    const first = cdn.fetch(0, 10).catch((e: unknown) => String(e));
    const second = cdn.fetch(1, 10).catch((e: unknown) => String(e));
    expect(cdn.freeSlots()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000); // cdnRequestTimeoutMs
    expect(await first).toContain('CDN request for piece 0 failed');
    expect(await second).toContain('CDN request for piece 1 failed');
    expect(cdn.freeSlots()).toBe(2);
    const third = cdn.fetch(2, 10).catch((e: unknown) => String(e));
    cdn.abortAll();
    expect(await third).toContain('piece 2 failed');
  });

  it('with pacing, a request that must wait holds a slot and no piece; once its take passes, the next admit is free', async () => {
    let release: () => void = () => undefined;
    let readies = 0;
    const pacing: CdnPacing = {
      take: () => new Promise<void>((r) => (release = r)),
      ready: () => readies++,
    };
    const cdn = new CdnSource(http(async () => new Uint8Array(10)).port, ['u'], 10, config, pacing);
    expect(cdn.admit(10)).toBe(false);
    expect(cdn.freeSlots()).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(readies).toBe(1);
    expect(cdn.freeSlots()).toBe(2);
    expect(cdn.admit(10)).toBe(true); // the passed take, whatever piece is picked now
    // Aborted takes never call ready().
    expect(cdn.admit(10)).toBe(false);
    cdn.abortAll();
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(readies).toBe(1);
  });
});
