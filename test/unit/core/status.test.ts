/**
 * DO-style status records: the fields a Get-DeliveryOptimizationStatus reader expects, computed
 * from a download's counters; the per-peer rates from sampled counters; the tab's totals.
 */
import { describe, expect, it } from 'vitest';
import type { StatsSnapshot } from '../../../src/core/stats.js';
import { downloadStatus, PeerRates, perfSnapshot, type StatusSource } from '../../../src/core/status.js';

const MiB = 1024 * 1024;

function snapshot(over: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    bytesFromPeers: 0,
    bytesFromCacheNodes: 0,
    bytesFromCdn: 0,
    bytesUploaded: 0,
    piecesFromPeers: 0,
    piecesFromCdn: 0,
    piecesFromStore: 0,
    piecesRejected: 0,
    cdnErrors: 0,
    peersBanned: 0,
    downloadBps: 0,
    uploadBps: 0,
    peers: [],
    ...over,
  };
}

function source(s: StatsSnapshot, over: Partial<StatusSource> = {}): StatusSource {
  return {
    contentId: 'ab'.repeat(32),
    metadata: { name: 'course.iso', fileSize: 10 * MiB + 5, pieceSize: MiB },
    state: 'downloading',
    connectedPeers: 2,
    simpleReason: undefined,
    error: undefined,
    snapshot: () => s,
    ...over,
  };
}

describe('downloadStatus', () => {
  it('reports where the bytes came from, split by the scope of the download mode', () => {
    const s = snapshot({
      bytesFromPeers: 6 * MiB,
      bytesFromCacheNodes: 4 * MiB,
      bytesFromCdn: 2 * MiB,
      bytesUploaded: 3 * MiB,
      piecesFromStore: 2,
      piecesRejected: 1,
      peersBanned: 1,
      peers: [
        { peerId: 'p1', downloaded: 4 * MiB, uploaded: MiB, piecesFrom: 4, strikes: 0, timeouts: 0, drops: 0, banned: false, connected: true, cacheNode: true },
        { peerId: 'p2', downloaded: 2 * MiB, uploaded: 2 * MiB, piecesFrom: 2, strikes: 3, timeouts: 1, drops: 0, banned: true, connected: false, cacheNode: false },
      ],
    });
    const st = downloadStatus(source(s), { mode: 'group', background: true, startedAt: 1000, endedAt: undefined, now: 13_500 });
    expect(st).toMatchObject({
      FileId: 'ab'.repeat(32),
      FileName: 'course.iso',
      FileSize: 10 * MiB + 5,
      TotalBytesDownloaded: 8 * MiB,
      BytesFromPeers: 6 * MiB,
      BytesFromLanPeers: 0,
      BytesFromGroupPeers: 6 * MiB,
      BytesFromInternetPeers: 0,
      BytesFromCacheServer: 4 * MiB,
      BytesFromHTTP: 2 * MiB,
      BytesFromCache: 2 * MiB,
      PercentPeerCaching: 75,
      BytesToPeers: 3 * MiB,
      BytesToGroupPeers: 3 * MiB,
      BytesToLanPeers: 0,
      Status: 'Downloading',
      Priority: 'Background',
      DownloadMode: 'Group',
      DownloadModeNumber: 2,
      NumPeers: 2,
      DownloadDuration: 12.5,
      PiecesRejected: 1,
      PeersBanned: 1,
    });
    expect(st.Peers.map((p) => [p.PeerId, p.BytesFrom, p.BytesTo, p.Strikes, p.Banned, p.CacheNode])).toEqual([
      ['p1', 4 * MiB, MiB, 0, false, true],
      ['p2', 2 * MiB, 2 * MiB, 3, true, false],
    ]);
    expect(st.SimpleReason).toBeUndefined();
  });

  it('says simple mode and failures plainly, and stops the clock at the end', () => {
    const st = downloadStatus(
      source(snapshot({ bytesFromCdn: 10 * MiB + 5 }), { state: 'failed', simpleReason: 'the metadata is unavailable', error: { kind: 'cdn-error', message: 'HTTP 500' } }),
      { mode: 'lan', background: false, startedAt: 0, endedAt: 2000, now: 60_000 },
    );
    expect(st).toMatchObject({ Status: 'Failed', Priority: 'Foreground', DownloadMode: 'Lan', DownloadModeNumber: 1, PercentPeerCaching: 0, DownloadDuration: 2 });
    expect(st.SimpleReason).toBe('the metadata is unavailable');
    expect(st.Error).toBe('cdn-error: HTTP 500');
  });
});

describe('PeerRates', () => {
  it('gives bytes per second over the sampled window', () => {
    const rates = new PeerRates(5000);
    const peer = (down: number, up: number) => [{ peerId: 'p', downloaded: down, uploaded: up, piecesFrom: 0, strikes: 0, timeouts: 0, drops: 0, banned: false, connected: true, cacheNode: false }];
    rates.sample(0, peer(0, 0));
    rates.sample(1000, peer(MiB, 0));
    rates.sample(2000, peer(2 * MiB, MiB));
    expect(rates.rateOf('p', 2000, 2 * MiB, MiB)).toEqual({ down: MiB, up: MiB / 2 });
    // Older samples leave the window.
    for (let t = 3000; t <= 10_000; t += 1000) rates.sample(t, peer(2 * MiB, MiB));
    expect(rates.rateOf('p', 10_000, 2 * MiB, MiB)).toEqual({ down: 0, up: 0 });
  });
});

describe('perfSnapshot', () => {
  it('sums the downloads like Get-DeliveryOptimizationPerfSnap', () => {
    const a = downloadStatus(source(snapshot({ bytesFromPeers: 3 * MiB, bytesFromCacheNodes: 2 * MiB, bytesFromCdn: MiB, bytesUploaded: MiB })), {
      mode: 'lan',
      background: false,
      startedAt: 0,
      endedAt: undefined,
      now: 1000,
    });
    const b = downloadStatus(source(snapshot({ bytesFromPeers: MiB, bytesFromCacheNodes: MiB, bytesFromCdn: 3 * MiB }), { state: 'complete', connectedPeers: 1 }), {
      mode: 'internet',
      background: true,
      startedAt: 0,
      endedAt: 500,
      now: 1000,
    });
    expect(perfSnapshot('me', [a, b])).toMatchObject({
      PeerId: 'me',
      Files: 2,
      FilesDownloading: 1,
      FilesComplete: 1,
      TotalBytesDownloaded: 8 * MiB,
      TotalBytesFromPeers: 4 * MiB,
      TotalBytesFromLanPeers: 3 * MiB,
      TotalBytesFromInternetPeers: MiB,
      TotalBytesFromCacheServer: 3 * MiB,
      TotalBytesFromHTTP: 4 * MiB,
      TotalBytesToPeers: MiB,
      PercentPeerCaching: 50,
      NumPeers: 3,
    });
  });
});
