/**
 * src/core/cdn-source.ts on its own: one range request per piece of exactly the piece's
 * length, the next CDN URL after a failure, a back-off that doubles per failure (to 30 s) and
 * ends at a success, request slots, a timeout, abort, and pacing that holds a slot but no piece;
 * and runs: pieces asked in order read from one request, a piece out of order on its own, a
 * run that fails failing the pieces queued on it, a run left idle closed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CdnSource, type CdnPacing } from '../../../src/core/cdn-source.js';
import { isTabswarmError } from '../../../src/core/errors.js';
import type { HttpRange, RangeRun } from '../../../src/core/ports.js';
import { RUN_IDLE_MS } from '../../../src/core/cdn-source.js';

const config = { cdnRequestsInFlight: 2, cdnRequestTimeoutMs: 1000, cdnRunPieces: 1 };

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

describe('CdnSource: runs', () => {
  /** An HttpRange with runs over a file whose byte i is i % 256; `breakAt`: the run's read that starts there fails. */
  function runPort(breakAt?: number) {
    const runs: Array<{ start: number; end: number; reads: number[]; cancelled: boolean }> = [];
    const gets: number[] = [];
    const bytes = (start: number, length: number) => Uint8Array.from({ length }, (_, i) => (start + i) % 256);
    const port: HttpRange = {
      probeSize: async () => 0,
      get: async (_url, start, end) => (gets.push(start), bytes(start, end - start)),
      openRun: async (_url, start, end, signal): Promise<RangeRun> => {
        const run = { start, end, reads: [] as number[], cancelled: false };
        runs.push(run);
        let at = start;
        return {
          read: async (length) => {
            await Promise.resolve();
            if (signal.aborted || run.cancelled) throw new Error('aborted');
            if (at === breakAt) {
              breakAt = undefined;
              throw new Error('connection reset');
            }
            run.reads.push(at);
            const out = bytes(at, length);
            at += length;
            return out;
          },
          cancel: () => void (run.cancelled = true),
        };
      },
    };
    return { port, runs, gets };
  }

  it('reads pieces asked in order from one request, each exactly its bytes', async () => {
    const { port, runs, gets } = runPort();
    const cdn = new CdnSource(port, ['https://a/x'], 100, { ...config, cdnRequestsInFlight: 4, cdnRunPieces: 8 });
    const pieces = await Promise.all([cdn.fetch(0, 100, 500), cdn.fetch(1, 100, 400), cdn.fetch(2, 100, 300), cdn.fetch(3, 100, 200)]);
    expect(pieces.map((p) => p[0])).toEqual([0, 100, 200 % 256, 300 % 256]);
    expect(runs).toEqual([{ start: 0, end: 500, reads: [0, 100, 200, 300], cancelled: false }]);
    expect(cdn.requests).toBe(1);
    // The run's last piece, then the next run starts where it ended, at most cdnRunPieces long.
    await cdn.fetch(4, 100, 50_000);
    await cdn.fetch(5, 100, 50_000);
    expect(runs.map((r) => [r.start, r.end])).toEqual([
      [0, 500],
      [500, 1300],
    ]);
    // Out of order: a request of its own; the open run stays for the pieces that follow it.
    await cdn.fetch(40, 100);
    expect(gets).toEqual([4000]);
    await cdn.fetch(6, 100);
    expect(runs[1]!.reads).toEqual([500, 600]);
    expect(cdn.requests).toBe(3);
  });

  it('a run that breaks fails the piece being read and those queued behind it, and the next URL is used', async () => {
    const { port, runs } = runPort(200);
    const cdn = new CdnSource(port, ['https://a/x', 'https://b/x'], 100, { ...config, cdnRequestsInFlight: 4, cdnRunPieces: 8 });
    const results = await Promise.allSettled([cdn.fetch(0, 100, 500), cdn.fetch(1, 100), cdn.fetch(2, 100), cdn.fetch(3, 100)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    for (const r of results.slice(2)) expect(isTabswarmError((r as PromiseRejectedResult).reason, 'cdn-error')).toBe(true);
    expect(runs[0]!.cancelled).toBe(true);
    expect(cdn.freeSlots()).toBe(4);
    // Asked again, piece 2 starts a new run.
    await cdn.fetch(2, 100, 300);
    expect(runs.map((r) => r.start)).toEqual([0, 200]);
  });

  it('a run with nothing queued for RUN_IDLE_MS is closed; the next piece in order opens another', async () => {
    const { port, runs } = runPort();
    const cdn = new CdnSource(port, ['https://a/x'], 100, { ...config, cdnRunPieces: 8 });
    await cdn.fetch(0, 100, 800);
    await vi.advanceTimersByTimeAsync(RUN_IDLE_MS - 100);
    expect(runs[0]!.cancelled).toBe(false);
    await cdn.fetch(1, 100, 700);
    await vi.advanceTimersByTimeAsync(RUN_IDLE_MS + 1);
    await Promise.resolve();
    expect(runs[0]!.cancelled).toBe(true);
    await cdn.fetch(2, 100, 600);
    expect(runs.map((r) => [r.start, r.end])).toEqual([
      [0, 800],
      [200, 800],
    ]);
    // abortAll closes the open run too.
    cdn.abortAll();
    await Promise.resolve();
    expect(runs[1]!.cancelled).toBe(true);
  });
});
