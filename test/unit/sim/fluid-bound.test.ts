/** The fluid-model lower bound (sim/fluid-bound.ts), checked on cases worked by hand. */
import { describe, expect, it } from 'vitest';
import { BoundInputError, fluidBound } from '../../../sim/fluid-bound.js';

const MiB = 1024 * 1024;

describe('fluidBound', () => {
  it('is the server term when peers upload nothing: N copies through the server alone', () => {
    const peers = Array.from({ length: 10 }, () => ({ uploadBps: 0, downloadBps: 100 * MiB }));
    const b = fluidBound({ fileBytes: 100 * MiB, serverUploadBps: 10 * MiB, peers });
    // max(100/10, 100/100, 10*100/10) = 100 s: the total-upload term (the server is all there is).
    expect(b.seconds).toBeCloseTo(100);
    expect(b.limitedBy).toBe('total-upload');
    expect(b.terms).toEqual({ server: 10, slowestDownload: 1, totalUpload: 100 });
  });

  it('is the slowest download when uploads are plenty', () => {
    const peers = [
      { uploadBps: 50 * MiB, downloadBps: 50 * MiB },
      { uploadBps: 50 * MiB, downloadBps: 2 * MiB },
    ];
    const b = fluidBound({ fileBytes: 64 * MiB, serverUploadBps: 100 * MiB, peers });
    expect(b.seconds).toBeCloseTo(32);
    expect(b.limitedBy).toBe('slowest-download');
  });

  it('is the server term for one fast peer and a slow server', () => {
    const b = fluidBound({ fileBytes: 64 * MiB, serverUploadBps: 1 * MiB, peers: [{ uploadBps: 0, downloadBps: 100 * MiB }] });
    expect(b.seconds).toBeCloseTo(64);
    expect(b.limitedBy).toBe('server');
  });

  it('falls toward F/u_i as a swarm of equal peers grows (peers carry it)', () => {
    const at = (n: number) => fluidBound({ fileBytes: 256 * MiB, serverUploadBps: 10 * MiB, peers: Array.from({ length: n }, () => ({ uploadBps: 5 * MiB, downloadBps: 50 * MiB })) }).seconds;
    // N*F/(u_s + N*u): 1000*256/(10+5000) ≈ 51.1 s, above F/d = 5.12 s and F/u_s = 25.6 s.
    expect(at(1000)).toBeCloseTo((1000 * 256) / (10 + 5000), 3);
    expect(at(10_000)).toBeLessThan(at(1000) + 0.5);
  });

  it('refuses what is not a swarm', () => {
    expect(() => fluidBound({ fileBytes: 0, serverUploadBps: 1, peers: [{ uploadBps: 1, downloadBps: 1 }] })).toThrow(BoundInputError);
    expect(() => fluidBound({ fileBytes: 1, serverUploadBps: 1, peers: [] })).toThrow(/at least one peer/);
    expect(() => fluidBound({ fileBytes: 1, serverUploadBps: 1, peers: [{ uploadBps: -1, downloadBps: 1 }] })).toThrow(/peer 0: uploadBps/);
    expect(() => fluidBound({ fileBytes: 1, serverUploadBps: NaN, peers: [{ uploadBps: 1, downloadBps: 1 }] })).toThrow(/serverUploadBps/);
  });
});
