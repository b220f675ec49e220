/**
 * The core Download on its own, over memory ports (MemoryNetwork, MemoryCdn, MemoryStore, the
 * node hasher) and a fake clock (vitest's: Date and the timers move only when the test moves
 * them): the scheduler's decisions (the HTTP delay, in order when alone, the CDN share), the
 * intake's blame (a bad CDN piece is counted and fetched again; a lying peer is struck and
 * banned), serving (a stored piece that went bad is never served), and a background
 * download's top-up. The swarm simulations (swarm-simulation.test.ts) run many Downloads
 * together in real time; this file pins each decision down one at a time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';
import { MemoryStore } from '../../helpers/memory-store.js';
import { memoryDownload } from '../../helpers/memory-download.js';
import { seededStore, startLiar } from '../../helpers/sim-peer.js';

const PIECE = 64 * 1024;

const download = memoryDownload;

/** Moves the fake clock in small steps (so that promise chains between timers run) until `done` or `maxMs`. */
async function runUntil(done: () => boolean, maxMs: number, stepMs = 5): Promise<void> {
  for (let t = 0; t < maxMs && !done(); t += stepMs) await vi.advanceTimersByTimeAsync(stepMs);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Download: scheduling', () => {
  it('waits the HTTP delay for peers, then takes every piece from the CDN, in order when alone', async () => {
    const content = makeContent(12 * PIECE + 100, 3, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const { d, pieces } = download(content, cdn, { net: new MemoryNetwork(), config: { httpDelayMs: 2000 } });
    void d.start();
    await runUntil(() => false, 1990);
    expect(cdn.requests, 'no CDN request within the HTTP delay').toBe(0);
    await runUntil(() => d.state === 'complete', 5000);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(pieces.map((p) => p.kind)).toEqual(Array(13).fill('cdn'));
    expect(pieces.map((p) => p.index)).toEqual([...Array(13).keys()]);
    expect(d.snapshot().bytesFromCdn).toBe(content.bytes.byteLength);
  });

  it('with no way to peer (no signaling), goes to the CDN at once', async () => {
    const content = makeContent(4 * PIECE, 4, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const { d } = download(content, cdn, { config: { httpDelayMs: 60_000 } });
    expect(d.peering).toBe(false);
    void d.start();
    await runUntil(() => d.state === 'complete', 1000);
    expect(d.state).toBe('complete');
  });

  it('takes what a seeding peer holds from it, not the CDN, within the HTTP delay', async () => {
    const content = makeContent(8 * PIECE, 5, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const net = new MemoryNetwork();
    const seed = download(content, cdn, { net, store: await seededStore(content), config: { httpDelayMs: 10_000 } });
    void seed.d.start();
    await runUntil(() => seed.d.state === 'complete', 1000);
    const leech = download(content, cdn, { net, config: { httpDelayMs: 10_000 } });
    void leech.d.start();
    await runUntil(() => leech.d.state === 'complete', 9000);
    expect(leech.d.state).toBe('complete');
    expect(leech.d.fileSha256).toBe(content.metadata.fileSha256);
    expect(leech.pieces.every((p) => p.kind === 'peer' && p.source === seed.peerId)).toBe(true);
    expect(leech.pieces).toHaveLength(8);
    expect(cdn.bytesServed).toBe(0);
  });
});

describe('Download: storage behind', () => {
  it('asks no source for more while piecesAwaitingStorage pieces wait to be stored, and completes once storage catches up', async () => {
    const content = makeContent(20 * PIECE, 6, PIECE);
    // A request per piece, so that requests count the pieces asked (runs: cdn-source.test.ts).
    const cdn = new MemoryCdn(content.bytes).withoutRuns();
    // A store whose writes wait until the test lets them through.
    let open = false;
    const waiting: Array<() => void> = [];
    class SlowStore extends MemoryStore {
      override async put(contentId: string, index: number, data: Uint8Array): Promise<void> {
        if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
        return super.put(contentId, index, data);
      }
    }
    const { d } = download(content, cdn, { store: new SlowStore(), config: { cdnRequestsInFlight: 4, piecesAwaitingStorage: 3 } });
    void d.start();
    await runUntil(() => false, 500);
    // Requests stopped once 3 pieces waited; those already sent (4 at most) landed too, and
    // every request made is a piece waiting: nothing more was asked of the CDN in 500 ms.
    expect(waiting.length).toBeGreaterThanOrEqual(3);
    expect(waiting.length).toBeLessThanOrEqual(3 + 4);
    expect(cdn.requests).toBe(waiting.length);
    open = true;
    for (const release of waiting.splice(0)) release();
    await runUntil(() => d.state === 'complete', 2000);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(cdn.requests).toBe(20);
  });
});

describe('Download: CDN runs', () => {
  it('alone, asks the CDN for consecutive missing pieces in runs of cdnRunPieces, skipping what it holds, and verifies each piece of a run', async () => {
    const content = makeContent(20 * PIECE + 7, 21, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    // A resumed download: pieces 9 and 10 already stored.
    const store = new MemoryStore();
    for (const i of [9, 10]) await store.put(content.contentId, i, content.bytes.subarray(i * PIECE, (i + 1) * PIECE));
    // One piece inside a run comes back wrong: it is rejected and asked again.
    let tampered = 0;
    cdn.tamper = (start, bytes) => (start === 3 * PIECE && tampered++ === 0 ? bytes.map((b) => b ^ 1) : bytes);
    const { d, rejected } = download(content, cdn, { store, config: { cdnRunPieces: 4, cdnRequestsInFlight: 4, httpDelayMs: 0 } });
    void d.start();
    await runUntil(() => d.state === 'complete', 5000);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(rejected.map((r) => r.index)).toEqual([3]);
    // 19 pieces to fetch: runs 0-3, 4-7, 11-14, 15-18 and 19-20 around the held 9 and 10; 8
    // alone (9 is held) and 3 again (alone: those after it are asked or held) on their own.
    expect(cdn.runs).toBe(5);
    expect(cdn.requests).toBe(7);
    expect(cdn.bytesServed).toBe(content.bytes.byteLength - 2 * PIECE + PIECE);
  });
});

describe('Download: diagnostics', () => {
  it('tells what a download waits on: its pieces, the requests in flight and each peer', async () => {
    const content = makeContent(8 * PIECE, 6, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const net = new MemoryNetwork();
    const seed = download(content, cdn, { net, store: await seededStore(content), config: { httpDelayMs: 60_000 } });
    void seed.d.start();
    await runUntil(() => seed.d.state === 'complete', 1000);
    const leech = download(content, cdn, { net, config: { httpDelayMs: 60_000 } });
    const before = leech.d.diagnostics();
    expect(before).toMatchObject({ state: 'idle', have: 0, pieceCount: 8, inFlight: [], peers: [] });
    void leech.d.start();
    await runUntil(() => leech.d.diagnostics().inFlight.length > 0, 3000, 1);
    const during = leech.d.diagnostics();
    expect(during.state).toBe('downloading');
    expect(during.inFlight.every((f) => f.source === seed.peerId)).toBe(true);
    expect(during.peers).toEqual([expect.objectContaining({ peerId: seed.peerId, ready: true, remoteHas: 8 })]);
    await runUntil(() => leech.d.state === 'complete', 9000);
    expect(leech.d.diagnostics()).toMatchObject({ state: 'complete', have: 8, inFlight: [], heldByNoUsefulPeer: 0 });
  });
});

describe('Download: intake and blame', () => {
  it('counts a CDN piece with wrong bytes as a CDN error, never stores it, and fetches it again', async () => {
    const content = makeContent(6 * PIECE, 6, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    let tampered = 0;
    cdn.tamper = (start, bytes) => {
      if (start !== 2 * PIECE || tampered > 0) return bytes;
      tampered++;
      const bad = bytes.slice();
      bad[0] = bad[0]! ^ 0xff;
      return bad;
    };
    const { d, rejected, pieces } = download(content, cdn);
    void d.start();
    await runUntil(() => d.state === 'complete', 20_000);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(rejected).toEqual([{ index: 2, source: 'cdn', reason: 'piece 2 failed SHA-256 verification' }]);
    expect(d.snapshot()).toMatchObject({ piecesRejected: 1, cdnErrors: 1 });
    expect(pieces.filter((p) => p.index === 2)).toHaveLength(1);
  });

  it('strikes and bans a peer whose piece fails (a stranger at its first), and takes that piece from the CDN', async () => {
    const content = makeContent(6 * PIECE, 7, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const net = new MemoryNetwork();
    const liar = startLiar(net, content, (piece) => {
      const bad = piece.slice();
      bad[10] = bad[10]! ^ 1;
      return bad;
    });
    const { d, rejected, pieces } = download(content, cdn, { net, config: { httpDelayMs: 3000 } });
    const events: string[] = [];
    d.events.on('peer', (e) => events.push(`${e.event}:${e.peerId === liar.peerId ? 'liar' : e.peerId}`));
    void d.start();
    await runUntil(() => d.state === 'complete', 20_000);
    liar.stop();
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(rejected.length).toBe(1);
    expect(rejected[0]!.source).toBe(liar.peerId);
    expect(events).toContain('strike:liar');
    expect(events).toContain('banned:liar');
    expect(d.stats.peer(liar.peerId)).toMatchObject({ strikes: 1, banned: true, piecesFrom: 0 });
    expect(pieces.every((p) => p.kind === 'cdn')).toBe(true);
  });
});

describe('Download: the whole-file check', () => {
  it('a stored piece changed since it was verified is found after the whole-file mismatch, dropped and fetched again', async () => {
    const content = makeContent(6 * PIECE, 9, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const store = await seededStore(content);
    store.pieces.get(`${content.contentId}#4`)![100]! ^= 0xff;
    const { d, rejected, pieces } = download(content, cdn, { store, config: { httpDelayMs: 0 } });
    void d.start();
    await runUntil(() => d.state === 'complete' || d.state === 'failed', 5000);
    expect(d.state).toBe('complete');
    expect(d.fileSha256).toBe(content.metadata.fileSha256);
    expect(rejected).toEqual([expect.objectContaining({ index: 4, source: 'store' })]);
    expect(pieces).toEqual([{ index: 4, source: 'cdn', kind: 'cdn' }]);
    expect(store.pieces.get(`${content.contentId}#4`)).toEqual(content.bytes.subarray(4 * PIECE, 5 * PIECE));
  });
});

describe('Download: serving', () => {
  it('never serves a stored piece that no longer matches its hash: the seeder rejects it, the leecher gets it from the CDN', async () => {
    const content = makeContent(4 * PIECE, 8, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const net = new MemoryNetwork();
    const store = await seededStore(content);
    const seed = download(content, cdn, { net, store, trustStored: true, config: { httpDelayMs: 1000 } });
    void seed.d.start();
    await runUntil(() => seed.d.state === 'complete', 500);
    // The stored copy of piece 1 goes bad after it was verified (a disk, an extension).
    const key = `${content.contentId}#1`;
    const bad = store.pieces.get(key)!.slice();
    bad[5] = bad[5]! ^ 0x80;
    store.pieces.set(key, bad);
    const leech = download(content, cdn, { net, config: { httpDelayMs: 1000 } });
    void leech.d.start();
    await runUntil(() => leech.d.state === 'complete', 20_000);
    expect(leech.d.state).toBe('complete');
    expect(leech.d.fileSha256).toBe(content.metadata.fileSha256);
    expect(seed.rejected).toEqual([expect.objectContaining({ index: 1, source: 'store' })]);
    expect(leech.rejected).toEqual([]);
    expect(leech.pieces.find((p) => p.index === 1)?.kind).toBe('cdn');
    expect(leech.pieces.filter((p) => p.kind === 'peer')).toHaveLength(3);
  });
});

describe('Download: background top-up', () => {
  it('with no peers, a background download tops up from the CDN at about its minimum rate before its HTTP delay ends', async () => {
    const content = makeContent(40 * PIECE, 9, PIECE);
    const cdn = new MemoryCdn(content.bytes);
    const minimum = 4 * PIECE; // bytes per second
    const { d, pieces } = download(content, cdn, {
      net: new MemoryNetwork(),
      config: { isBackground: true, httpDelayBackgroundMs: 60_000, minBackgroundBytesPerSec: minimum },
    });
    void d.start();
    await runUntil(() => false, 1000);
    expect(pieces).toHaveLength(0); // the top-up is not decided before 1.5 s
    await runUntil(() => false, 5000);
    expect(d.limits().topUpBytesPerSec).toBeGreaterThan(0.9 * minimum);
    // About 4 pieces a second from 1.5 s on, in 5 more seconds: 13-24 pieces, far from all 40.
    const got = pieces.length;
    expect(got).toBeGreaterThanOrEqual(13);
    expect(got).toBeLessThanOrEqual(24);
    expect(pieces.every((p) => p.kind === 'cdn')).toBe(true);
    d.stop();
  });
});
