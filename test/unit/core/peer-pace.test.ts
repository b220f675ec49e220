/**
 * PeerPace on a test clock: what a missed deadline costs a peer that is still sending (an
 * overloaded honest machine) against one that fell quiet or trickles, and what `missedLast`
 * (which keeps its pieces from holding up the CDN) follows.
 */
import { describe, expect, it } from 'vitest';
import { PeerPace, type PaceConfig } from '../../../src/core/peer-pace.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CONFIG: PaceConfig = {
  peerRequestsInFlight: 8,
  strangerRequestsInFlight: 1,
  minPeerBytesPerSec: 64 * KiB,
  peerDeadlineGraceMs: 6000,
  peerIdleMs: 3000,
};

/** The test clock's start (the clock is milliseconds since the epoch). */
const T0 = 1_000_000;

/** A stranger asked for one piece at T0 that sends `bytesPerSec` in 1 s steps until T0 + `until`. */
function sending(bytesPerSec: number, until: number): { pace: PeerPace; deadline: number } {
  const pace = new PeerPace(CONFIG);
  pace.sent(T0, 1);
  const deadline = pace.deadline(T0, 0, MiB);
  for (let t = T0 + 1000; t <= Math.min(T0 + until, deadline); t += 1000) pace.data(t, bytesPerSec);
  return { pace, deadline };
}

describe('PeerPace: a missed deadline', () => {
  it('gives a 1 MiB request the grace and the piece at the minimum rate', () => {
    expect(sending(0, 0).deadline).toBe(T0 + 6000 + 16_000);
  });

  it('keeps a window of one for a peer still sending at a quarter of the minimum rate, and marks it behind until a piece completes', () => {
    const { pace, deadline } = sending(20 * KiB, Infinity);
    expect(pace.miss(deadline)).toBe(false);
    expect(pace.limit(MiB)).toBe(1);
    expect(pace.missedLast).toBe(true);
    pace.sent(deadline + 1, 1);
    pace.complete(deadline + 5000, deadline + 1, MiB, 0);
    expect(pace.missedLast).toBe(false);
  });

  it('drops a peer that sent at first and then fell quiet (half a piece, then silence)', () => {
    const { pace, deadline } = sending(256 * KiB, 2000);
    expect(pace.miss(deadline)).toBe(true);
    expect(pace.limit(MiB)).toBe(0);
  });

  it('drops a peer that trickles below a quarter of the minimum rate (a 64 KiB chunk every 5 s)', () => {
    const pace = new PeerPace(CONFIG);
    pace.sent(T0, 1);
    const deadline = pace.deadline(T0, 0, MiB);
    for (let t = T0 + 5000; t <= deadline; t += 5000) pace.data(t, 64 * KiB);
    pace.data(deadline - 1000, 1);
    expect(pace.miss(deadline)).toBe(true);
  });

  it('halves a trusted peer’s window on each miss while it keeps sending, never below one', () => {
    const pace = new PeerPace(CONFIG);
    pace.sent(T0, 1);
    pace.complete(T0 + 1000, T0, MiB, 0);
    pace.verified(); // window 2
    pace.verified(); // window 4
    pace.sent(T0 + 2000, 1);
    for (let t = T0 + 3000; t <= T0 + 30_000; t += 1000) pace.data(t, 32 * KiB);
    expect(pace.miss(T0 + 30_000)).toBe(false);
    expect(pace.miss(T0 + 30_000)).toBe(false);
    expect(pace.miss(T0 + 30_000)).toBe(false);
    expect(pace.limit(MiB)).toBe(1);
  });
});

describe('PeerPace: a piece taken back', () => {
  it('asks a stranger for nothing for the grace after a take-back (it does not lag: what it holds still counts); not a trusted peer', () => {
    // 64 KiB every 2 s: never quiet for the idle time, under the minimum rate after the grace.
    const pace = new PeerPace(CONFIG);
    pace.sent(T0, 1);
    for (let t = T0 + 2000; t <= T0 + 6000; t += 2000) pace.data(t, 64 * KiB);
    expect(pace.check(T0 + 6000, 1)).toBe(true);
    expect(pace.isLagging).toBe(true);
    // The endgame takes its piece back: it owes nothing now, and still lags.
    pace.idle();
    pace.takenBack(T0 + 6000);
    expect(pace.isLagging).toBe(false);
    expect(pace.isCooling(T0 + 11_999)).toBe(true);
    // The scheduler is woken when it may be asked again.
    expect(pace.nextCheckAt(T0 + 6000, 0)).toBe(T0 + 12_000);
    expect(pace.isCooling(T0 + 12_000)).toBe(false);
    expect(pace.nextCheckAt(T0 + 12_000, 0)).toBe(Infinity);

    const trusted = new PeerPace(CONFIG);
    trusted.trust();
    trusted.takenBack(T0);
    expect(trusted.isCooling(T0 + 1)).toBe(false);
  });
});

describe('PeerPace: a server (a cache node)', () => {
  it('is on probation like anyone, opens its window to the most at its first verified piece, and is halved by a miss', () => {
    const server = new PeerPace(CONFIG);
    const tab = new PeerPace(CONFIG);
    expect(server.limit(64 * KiB)).toBe(1);
    server.verified(true);
    tab.verified();
    expect(server.limit(64 * KiB)).toBe(8);
    expect(tab.limit(64 * KiB)).toBe(2);
    server.sent(T0, 1);
    expect(server.miss(T0 + 60_000)).toBe(false);
    expect(server.limit(64 * KiB)).toBe(4);
    // After a miss it grows by one, as any peer.
    server.verified(true);
    expect(server.limit(64 * KiB)).toBe(5);
  });
});
