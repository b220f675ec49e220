/**
 * The pieces of its CDN slot a tab would fetch are asked of the Arrays service with an announce
 * (`cdnPieces`): at once (one announce for the asks of one turn), or `claimAnnounceMs` after the
 * last announce that carried asks; at most `maxCdnPiecesPerAnnounce` an announce, the rest with
 * the next, no ask lost or sent twice.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import type { Signaling } from '../../../src/core/ports.js';
import { Announcer } from '../../../src/core/swarm/announcer.js';
import { LIMITS } from '../../../src/protocol/limits.js';

const PROGRESS = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 };

function setup(claimAnnounceMs: number) {
  const sent: Array<{ at: number; cdnPieces: readonly number[] | undefined }> = [];
  const signaling = { announce: (_c: string, _p: string, _r: unknown, cdnPieces?: readonly number[]) => void sent.push({ at: Date.now(), cdnPieces }) } as unknown as Signaling;
  const announcer = new Announcer({
    contentId: 'c'.repeat(64),
    peerId: 'a'.repeat(32),
    signaling,
    config: { ...DEFAULT_CONFIG, downloadMode: 'internet', claimAnnounceMs },
    report: () => PROGRESS,
  });
  announcer.intervalMs = 60_000;
  return { announcer, sent };
}

/** An announcer past the young swarm's announces (1, 2 and 4 s) on fake timers; `before`: the announces so far. */
function started(claimAnnounceMs: number) {
  vi.useFakeTimers({ now: 0 });
  const { announcer, sent } = setup(claimAnnounceMs);
  announcer.announce();
  vi.advanceTimersByTime(7_000);
  return { announcer, sent, before: sent.length };
}

describe('Announcer: pieces asked of the CDN', () => {
  afterEach(() => vi.useRealTimers());

  it('go with an announce at once, at most maxCdnPiecesPerAnnounce each, the rest claimAnnounceMs later', () => {
    const { announcer, sent, before } = started(250);
    expect(sent.every((s) => s.cdnPieces === undefined)).toBe(true);
    const claims = Array.from({ length: LIMITS.maxCdnPiecesPerAnnounce + 10 }, (_, i) => 3 * i);
    for (const i of claims) announcer.claim(i);
    // One announce for the asks of one turn, after it.
    expect(sent.length).toBe(before);
    vi.advanceTimersByTime(0);
    expect(sent[before]!.cdnPieces).toHaveLength(LIMITS.maxCdnPiecesPerAnnounce);
    vi.advanceTimersByTime(249);
    expect(sent.length).toBe(before + 1);
    vi.advanceTimersByTime(1);
    expect(sent[before + 1]!.cdnPieces).toHaveLength(10);
    expect([...sent[before]!.cdnPieces!, ...sent[before + 1]!.cdnPieces!]).toEqual(claims);
    // An ask after a quiet spell goes at once again.
    vi.advanceTimersByTime(1_000);
    announcer.claim(7);
    vi.advanceTimersByTime(0);
    expect(sent[before + 2]!.cdnPieces).toEqual([7]);
    // Then back to the service's interval, with nothing to say.
    vi.advanceTimersByTime(30_000);
    expect(sent).toHaveLength(before + 3);
  });

  it('never sends claims more often than every 100 ms, whatever claimAnnounceMs says', () => {
    const { announcer, sent, before } = started(1);
    for (let k = 0; k < 20; k++) {
      announcer.claim(k);
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(1_000);
    const times = sent.slice(before).map((s) => s.at);
    expect(times.length).toBeGreaterThan(1);
    for (let k = 1; k < times.length; k++) expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(100);
    expect(sent.slice(before).flatMap((s) => s.cdnPieces ?? [])).toEqual(Array.from({ length: 20 }, (_, k) => k));
  });

  it('with claimAnnounceMs 0, claims wait for the next announce', () => {
    const { announcer, sent, before } = started(0);
    announcer.claim(5);
    vi.advanceTimersByTime(10_000);
    expect(sent.length).toBe(before);
    announcer.announce();
    expect(sent.at(-1)!.cdnPieces).toEqual([5]);
  });

  it('forgets the oldest claims past a bound, and pieces past the bitmap', () => {
    vi.useFakeTimers({ now: 0 });
    const { announcer, sent } = setup(0);
    for (let i = 0; i < 1000; i++) announcer.claim(i);
    announcer.claim(LIMITS.maxCdnClaimPieces);
    const all: number[] = [];
    for (let k = 0; k < 10; k++) {
      announcer.announce();
      all.push(...(sent.at(-1)!.cdnPieces ?? []));
    }
    expect(all.length).toBeLessThan(1000);
    expect(all.at(-1)).toBe(999);
    expect(all).not.toContain(LIMITS.maxCdnClaimPieces);
  });
});
