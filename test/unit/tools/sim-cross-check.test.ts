/**
 * The simulator's cross-check with Chromium (bench/sim-cross-check.ts): it reads the swarm
 * demo's progress lines back (the demo's own line view writes them here, so a change of their
 * text fails this test rather than the benchmark), and measures the tab-to-tab rate from them.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CrossCheckError } from '../../../bench/sim-check/errors.js';
import { calibrateLink } from '../../../bench/sim-check/link-calibration.js';
import { parseProgressLine, progressPoints, type ProgressPoint } from '../../../bench/sim-check/progress-lines.js';
import { createLiveView } from '../../../swarm/live-view.js';
import type { PeerSample } from '../../../swarm/peers.js';

const MiB = 1024 * 1024;

function sample(bytesFromPeers: number, bytesFromCdn: number, state = 'downloading'): PeerSample {
  return { state, fileSize: 64 * MiB, bytesDone: bytesFromPeers + bytesFromCdn, bytesFromPeers, bytesFromCdn, downloadBps: 3e6, links: 7, strikes: {}, banned: [], completeAt: 0, strikeLog: [], peerLog: [] };
}

describe('progress lines', () => {
  it('reads back what the demo writes to a pipe', () => {
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    const view = createLiveView(2, 64 * MiB, out);
    view.update({ elapsedSec: 12.4, fileSize: 64 * MiB, samples: [sample(24 * MiB, 8 * MiB), sample(0, 0, 'verifying')], cdnBytes: 64 * MiB });
    view.stop();
    const points = progressPoints(`noise\n${text}{"json":1}\n`);
    expect(points).toEqual([{ t: 12.4, done: 0.25, peerShare: 0.75, cdnMiB: 64 }]);
  });

  it('ignores other lines', () => {
    expect(parseProgressLine('checking each copy: Save file, then SHA-256 of the saved file…')).toBeUndefined();
    expect(parseProgressLine('1 (9f8bb438)            49.0          15.0     26.0              0             0        yes')).toBeUndefined();
  });
});

describe('calibrateLink', () => {
  // 8 tabs, 64 MiB: nothing until 6 s, then the peer bytes grow at 24 MB/s in all until 26 s.
  const peers = 8;
  const fileBytes = 64 * MiB;
  const all = peers * fileBytes;
  const points: ProgressPoint[] = [];
  for (let t = 1; t <= 27; t++) {
    const peerBytes = Math.min(24e6 * Math.max(0, t - 6), 0.8 * all);
    const cdnBytes = t > 5 ? 0.2 * all * Math.min(1, (t - 5) / 2) : 0;
    const done = (peerBytes + cdnBytes) / all;
    points.push({ t, done, peerShare: done === 0 ? 0 : peerBytes / (peerBytes + cdnBytes), cdnMiB: cdnBytes / MiB });
  }

  it('takes the middle 80% of the peer bytes over their time, per tab', () => {
    const c = calibrateLink({ points, peers, fileBytes, bytesFromPeers: 0.8 * all, httpDelayMs: 4000 });
    expect(c.swarmPeerBps).toBeCloseTo(24e6, -3);
    expect(c.perTabBps).toBeCloseTo(3e6, -3);
    expect(c.windowS[0]).toBeGreaterThan(6);
    expect(c.windowS[1]).toBeLessThan(26);
    expect(c.firstBytesS).toBe(5.5);
    expect(c.startupS).toBeCloseTo(1.5);
  });

  it('refuses a run with no trading to measure', () => {
    const cdnOnly = points.map((p) => ({ ...p, peerShare: 0 }));
    expect(() => calibrateLink({ points: cdnOnly, peers, fileBytes, bytesFromPeers: 0, httpDelayMs: 4000 })).toThrow(CrossCheckError);
  });
});
