/** The simulator's link model (sim/link-model.ts): rates, latency, and sharing of each access link. */
import { describe, expect, it } from 'vitest';
import { LinkModel, LinkModelError } from '../../../sim/link-model.js';

const MiB = 1024 * 1024;

describe('LinkModel', () => {
  it('takes the slower of bytes/upload and bytes/download, plus the latencies, for one message on idle links (cut through)', () => {
    const net = new LinkModel();
    net.add('a', { uploadBps: 1 * MiB, downloadBps: 10 * MiB, latencyMs: 20 });
    net.add('b', { uploadBps: 1 * MiB, downloadBps: 2 * MiB, latencyMs: 30 });
    // 1 MiB: 1000 ms up while it goes down at 2 MiB/s behind it, then the last byte's 50 ms across.
    expect(net.send('a', 'b', MiB, 0)).toBeCloseTo(1050);
    // The other way: 10 MiB at b's 1 MiB/s uplink (a's 10 MiB/s downlink keeps up), then 50 ms.
    expect(net.send('b', 'a', 10 * MiB, 0)).toBeCloseTo(10_000 + 50);
  });

  it("shares a sender's upload fairly among the flows it sends", () => {
    const net = new LinkModel();
    net.add('seed', { uploadBps: 1 * MiB, downloadBps: 100 * MiB, latencyMs: 0 });
    for (const id of ['x', 'y']) net.add(id, { uploadBps: 1 * MiB, downloadBps: 100 * MiB, latencyMs: 0 });
    // Two flows, 64 KiB chunks sent alternately: each gets half the uplink, both end near 2 s.
    let toX = 0;
    let toY = 0;
    for (let i = 0; i < 16; i++) {
      toX = net.send('seed', 'x', 64 * 1024, 0);
      toY = net.send('seed', 'y', 64 * 1024, 0);
    }
    expect(toX).toBeGreaterThan(1900);
    expect(toY).toBeGreaterThan(1900);
    expect(Math.max(toX, toY)).toBeLessThan(2100);
    expect(net.upFreeAt('seed', 'x')).toBeGreaterThan(1900);
    // A flow sent once the others are done has the whole uplink again.
    expect(net.send('seed', 'x', MiB, 5000)).toBeCloseTo(6000, 0);
  });

  it("shares a receiver's download among what reaches it: two fast senders, one slow downlink", () => {
    const net = new LinkModel();
    net.add('s1', { uploadBps: 100 * MiB, downloadBps: 100 * MiB, latencyMs: 0 });
    net.add('s2', { uploadBps: 100 * MiB, downloadBps: 100 * MiB, latencyMs: 0 });
    net.add('r', { uploadBps: 1 * MiB, downloadBps: 1 * MiB, latencyMs: 0 });
    const first = net.send('s1', 'r', MiB, 0);
    const second = net.send('s2', 'r', MiB, 0);
    expect(first).toBeCloseTo(1000); // at the downlink's rate, from the first byte
    expect(second).toBeCloseTo(first + 1000); // the downlink carried the first one first
    expect(net.totals('r')).toEqual({ sent: 0, received: 2 * MiB });
  });

  it('lets a later message go when the links are free again: rate over time is the link rate', () => {
    const net = new LinkModel();
    net.add('a', { uploadBps: 4 * MiB, downloadBps: 4 * MiB, latencyMs: 5 });
    net.add('b', { uploadBps: 4 * MiB, downloadBps: 4 * MiB, latencyMs: 5 });
    let at = 0;
    for (let i = 0; i < 64; i++) at = net.send('a', 'b', 64 * 1024, 0); // 4 MiB queued at once
    // Pipelined: 1 s on the uplink, then the last chunk's 10 ms across.
    expect(at).toBeCloseTo(1000 + 10, 1);
  });

  it('refuses bad profiles and unknown peers with a typed error', () => {
    const net = new LinkModel();
    expect(() => net.add('a', { uploadBps: 0, downloadBps: 1, latencyMs: 0 })).toThrow(LinkModelError);
    expect(() => net.add('a', { uploadBps: 1, downloadBps: 1, latencyMs: -1 })).toThrow(/latency/);
    expect(() => net.send('a', 'b', 1, 0)).toThrow(/no peer a/);
  });
});
