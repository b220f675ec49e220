/**
 * Players' deadlines in the scheduler (download/deadlines.ts, Scheduler.pumpDeadlines), over
 * memory ports and a fake clock, one decision at a time: a piece a player needs goes to the
 * CDN before the HTTP delay when no peer can deliver it in time, to a peer that can, taken
 * back from a peer that will miss it; a seek moves the deadlines; a background download keeps
 * its delay; deadlines lapse; the rest is still traded rarest first.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DownloadOptions } from '../../../src/core/download.js';
import { Deadlines, deadlinesFor } from '../../../src/core/download/deadlines.js';
import { makeContent, type TestContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';
import { memoryDownload } from '../../helpers/memory-download.js';
import { seededStore, startLiar } from '../../helpers/sim-peer.js';

const PIECE = 64 * 1024;

const download = (content: TestContent, cdn: MemoryCdn, net: MemoryNetwork, options: Partial<DownloadOptions> = {}) => memoryDownload(content, cdn, { ...options, net });

async function runUntil(done: () => boolean, maxMs: number, stepMs = 5): Promise<void> {
  for (let t = 0; t < maxMs && !done(); t += stepMs) await vi.advanceTimersByTimeAsync(stepMs);
}

const cdnPieces = (cdn: MemoryCdn) => cdn.starts.map((s) => s / PIECE);
const now = () => Date.now();

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Deadlines', () => {
  it('gives each missing piece the earliest deadline any player set, earliest first, and lets a player lapse', () => {
    const dl = new Deadlines(10);
    dl.set('a', [{ index: 3, at: 500 }, { index: 4, at: 900 }, { index: 12, at: 1 }, { index: 5, at: NaN }], 0, 1000);
    dl.set('b', [{ index: 4, at: 200 }, { index: 6, at: 300 }], 0, 5000);
    expect(dl.due(0, () => true)).toEqual([
      { index: 4, at: 200 },
      { index: 6, at: 300 },
      { index: 3, at: 500 },
    ]);
    expect(dl.due(0, (i) => i !== 4).map((p) => p.index)).toEqual([6, 3]);
    expect(dl.nextExpiry()).toBe(1000);
    // 'a' lapses at 1000; 'b' says something new (a seek): only its new set counts.
    dl.set('b', [{ index: 9, at: 1500 }], 1000, 5000);
    expect(dl.due(1000, () => true)).toEqual([{ index: 9, at: 1500 }]);
    dl.clear('b');
    expect(dl.active(1000)).toBe(false);
  });

  it('deadlinesFor: the piece under the position is due now, each later one when the player reaches it', () => {
    const at = deadlinesFor({ position: 1500, end: 10_000, fileSize: 5000, pieceSize: 1000, bytesPerSec: 1000, now: 100, readAhead: 2 });
    expect(at).toEqual([
      { index: 1, at: 100 },
      { index: 2, at: 600 },
      { index: 3, at: 1600 },
    ]);
    expect(deadlinesFor({ position: 4999, end: 5000, fileSize: 5000, pieceSize: 1000, bytesPerSec: 1, now: 0, readAhead: 8 })).toEqual([{ index: 4, at: 0 }]);
    expect(deadlinesFor({ position: 5000, end: 6000, fileSize: 5000, pieceSize: 1000, bytesPerSec: 1, now: 0, readAhead: 8 })).toEqual([]);
    expect(deadlinesFor({ position: -1, end: 10, fileSize: 5000, pieceSize: 1000, bytesPerSec: 1, now: 0, readAhead: 8 })).toEqual([]);
    // A player reading ahead of its playhead: what it reads is due when playback gets there.
    expect(deadlinesFor({ position: 3500, end: 5000, fileSize: 5000, pieceSize: 1000, bytesPerSec: 1000, now: 0, readAhead: 1, playhead: 1200 })).toEqual([
      { index: 3, at: 1800 },
      { index: 4, at: 2800 },
    ]);
    // A playhead past the read position (a seek not yet followed) counts as the position.
    expect(deadlinesFor({ position: 2000, end: 5000, fileSize: 5000, pieceSize: 1000, bytesPerSec: 1000, now: 0, readAhead: 0, playhead: 4000 })).toEqual([{ index: 2, at: 0 }]);
  });
});

describe('Download: players first', () => {
  it('alone within the HTTP delay, takes the pieces a player needs now from the CDN at once, and nothing else before the delay', async () => {
    const content = makeContent(16 * PIECE, 21, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const { d, pieces } = download(content, cdn, new MemoryNetwork(), { config: { httpDelayMs: 5000, streamCdnLeadMs: 1000 } });
    void d.start();
    const t0 = now();
    await runUntil(() => false, 20);
    d.setDeadlines('player', [
      { index: 9, at: now() },
      { index: 10, at: now() + 300 },
      { index: 11, at: now() + 4000 },
    ]);
    await runUntil(() => pieces.length >= 2, 500);
    expect(cdnPieces(cdn)).toEqual([9, 10]);
    // Piece 11 is due later: it goes to the CDN once its deadline is streamCdnLeadMs away.
    await runUntil(() => cdn.starts.length >= 3, 4000);
    expect(cdnPieces(cdn)).toEqual([9, 10, 11]);
    expect(now() - t0, 'well within the HTTP delay').toBeLessThan(4100);
    await runUntil(() => d.state === 'complete', 10_000);
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
  });

  it('takes a player\'s pieces first from a seeding peer that delivers them in time, then the rest from it as before, nothing from the CDN', async () => {
    const content = makeContent(12 * PIECE, 22, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const net = new MemoryNetwork();
    const seed = download(content, cdn, net, { store: await seededStore(content), config: { httpDelayMs: 60_000 } });
    void seed.d.start();
    await runUntil(() => seed.d.state === 'complete', 1000);
    const leech = download(content, cdn, net, { config: { httpDelayMs: 60_000, streamCdnLeadMs: 200 } });
    leech.d.setDeadlines('player', [
      { index: 7, at: now() + 2000 },
      { index: 8, at: now() + 2500 },
    ]);
    void leech.d.start();
    await runUntil(() => leech.d.state === 'complete', 20_000);
    expect(leech.d.state).toBe('complete');
    expect(leech.pieces.slice(0, 2).map((p) => p.index)).toEqual([7, 8]);
    expect(leech.pieces.every((p) => p.kind === 'peer')).toBe(true);
    expect(cdn.bytesServed).toBe(0);
  });

  it('takes a player\'s piece back from a peer that will miss its deadline and gets it from the CDN; the peer is not struck', async () => {
    const content = makeContent(8 * PIECE, 23, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const net = new MemoryNetwork();
    // Claims everything, answers nothing: a peer that will never deliver.
    const staller = startLiar(net, content, (p) => p, { shape: 'silent' });
    const { d, pieces } = download(content, cdn, net, { config: { httpDelayMs: 60_000, streamCdnLeadMs: 1000, peerDeadlineGraceMs: 60_000, peerIdleMs: 60_000 } });
    const t0 = now();
    void d.start();
    const linked = () => d.diagnostics().peers.some((p) => p.peerId === staller.peerId && p.ready);
    await runUntil(linked, 3000);
    await runUntil(() => d.diagnostics().inFlight.length > 0, 3000);
    const asked = d.diagnostics().inFlight.map((f) => f.index);
    expect(asked).toHaveLength(1); // a stranger gets one request
    const index = asked[0]!;
    d.setDeadlines('player', [{ index, at: now() + 3000 }]);
    // Not before the deadline is streamCdnLeadMs away...
    await runUntil(() => false, 1500);
    expect(cdn.requests).toBe(0);
    // ...then from the CDN.
    await runUntil(() => pieces.some((p) => p.index === index), 1500);
    expect(pieces.find((p) => p.index === index)?.kind).toBe('cdn');
    expect(now() - t0, 'within the HTTP delay').toBeLessThan(60_000);
    expect(d.snapshot().peersBanned).toBe(0);
    staller.stop();
  });

  it('a seek moves the deadlines: the next pieces asked are the new position\'s', async () => {
    const content = makeContent(32 * PIECE, 24, PIECE);
    const cdn = new MemoryCdn(content.bytes, 50);
    const { d } = download(content, cdn, new MemoryNetwork(), { config: { httpDelayMs: 60_000, streamCdnLeadMs: 500, cdnRequestsInFlight: 2 } });
    void d.start();
    await runUntil(() => false, 20);
    const at = now();
    d.setDeadlines('player', deadlinesFor({ position: 0, end: content.bytes.byteLength, fileSize: content.bytes.byteLength, pieceSize: PIECE, bytesPerSec: 10 * PIECE, now: at, readAhead: 6 }));
    await runUntil(() => cdn.starts.length >= 2, 200);
    d.setDeadlines('player', deadlinesFor({ position: 20 * PIECE + 5, end: content.bytes.byteLength, fileSize: content.bytes.byteLength, pieceSize: PIECE, bytesPerSec: 10 * PIECE, now: now(), readAhead: 6 }));
    await runUntil(() => cdn.starts.length >= 6, 2000);
    // The two asked before the seek stay asked (every piece is still wanted); then 20, 21, ...
    expect(cdnPieces(cdn).slice(0, 2)).toEqual([0, 1]);
    expect(cdnPieces(cdn).slice(2, 6)).toEqual([20, 21, 22, 23]);
  });

  it('a background download keeps its HTTP delay: its player waits on peers until then', async () => {
    const content = makeContent(8 * PIECE, 25, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const { d } = download(content, cdn, new MemoryNetwork(), {
      config: { isBackground: true, httpDelayBackgroundMs: 3000, minBackgroundBytesPerSec: 0, streamCdnLeadMs: 1000 },
    });
    void d.start();
    d.setDeadlines('player', [{ index: 4, at: now() }]);
    await runUntil(() => false, 2900);
    expect(cdn.requests).toBe(0);
    await runUntil(() => cdn.requests > 0, 500);
    expect(cdnPieces(cdn)[0]).toBe(4);
  });

  it('deadlines lapse after streamDeadlineTtlMs unless renewed', async () => {
    const content = makeContent(8 * PIECE, 26, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const { d } = download(content, cdn, new MemoryNetwork(), { config: { httpDelayMs: 60_000, streamCdnLeadMs: 500, streamDeadlineTtlMs: 1000 } });
    void d.start();
    await runUntil(() => false, 20);
    d.setDeadlines('player', [{ index: 5, at: now() + 2000 }]);
    await runUntil(() => false, 3000);
    expect(cdn.requests, 'the player went away before the piece was due').toBe(0);
    d.setDeadlines('player', [{ index: 5, at: now() + 800 }]);
    await runUntil(() => cdn.requests > 0, 1000);
    expect(cdnPieces(cdn)).toEqual([5]);
  });

  it('a player\'s pieces that come while the store still opens are offered as they arrive and kept, not fetched again', async () => {
    const content = makeContent(8 * PIECE, 27, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    // The browser's storage estimate takes 300 ms: the room check holds the store's opening.
    const room = { estimate: () => new Promise<{ quota: number; usage: number }>((r) => setTimeout(() => r({ quota: 1e12, usage: 0 }), 300)) };
    const { d, pieces } = download(content, cdn, new MemoryNetwork(), { room, config: { httpDelayMs: 60_000, streamCdnLeadMs: 500 } });
    const arrived: Array<{ index: number; good: boolean }> = [];
    d.events.on('arrived', ({ index, bytes }) => arrived.push({ index, good: Buffer.from(bytes).equals(content.bytes.subarray(index * PIECE, (index + 1) * PIECE)) }));
    void d.start();
    d.setDeadlines('player', [
      { index: 0, at: now() },
      { index: 1, at: now() + 100 },
    ]);
    await runUntil(() => false, 100);
    expect(arrived, 'before the store is open').toEqual([
      { index: 0, good: true },
      { index: 1, good: true },
    ]);
    expect(pieces).toEqual([]);
    await runUntil(() => pieces.length >= 2, 1000);
    expect(pieces.map((p) => p.index).sort()).toEqual([0, 1]);
    expect(cdnPieces(cdn), 'each asked once').toEqual([0, 1]);
    // Pieces no player asked for are not offered.
    d.setDeadlines('player', []);
    d.setDeadlines('other', [{ index: 6, at: now() }]);
    await runUntil(() => pieces.length >= 3, 1000);
    expect(arrived.map((a) => a.index)).toEqual([0, 1, 6]);
  });
});
