/**
 * The in-process swarm simulation: real core Downloads (scheduler, wire protocol, peer
 * sessions, verification) over a memory transport and a memory CDN.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';
import { newPeerId, seededStore, startLiar, startPeer, storedBytes, waitFor, type SimPeer } from '../../helpers/sim-peer.js';
import { MemoryStore } from '../../helpers/memory-store.js';

const MiB = 1024 * 1024;
const running: SimPeer[] = [];
const track = (p: SimPeer): SimPeer => (running.push(p), p);

afterEach(() => {
  for (const p of running.splice(0)) p.download.stop();
});

describe('swarm simulation', () => {
  it('leechers get every byte from a seeder and nothing from the CDN', async () => {
    const content = makeContent(12 * MiB + 12345, 1);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const seeder = track(startPeer(net, content, cdn, { store: await seededStore(content), config: { httpDelayMs: 60_000 } }));
    await waitFor(seeder.download, 'complete');
    const leechers = [1, 2, 3].map(() => track(startPeer(net, content, cdn, { config: { httpDelayMs: 60_000 } })));
    await Promise.all(leechers.map((l) => waitFor(l.download, 'complete')));
    for (const l of leechers) {
      expect(Buffer.from(await storedBytes(l, content)).equals(Buffer.from(content.bytes))).toBe(true);
      const s = l.download.snapshot();
      expect(s.bytesFromPeers).toBe(content.metadata.fileSize);
      expect(s.bytesFromCdn).toBe(0);
    }
    expect(cdn.bytesServed).toBe(0);
    expect(seeder.download.snapshot().bytesUploaded).toBeGreaterThan(0);
  });

  it('seeds drop their links to other seeds, and a complete tab does not link to listed seeds, so newcomers find free slots', async () => {
    const content = makeContent(6 * MiB + 7, 31);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const seeder = track(startPeer(net, content, cdn, { store: await seededStore(content), config: { httpDelayMs: 60_000 } }));
    await waitFor(seeder.download, 'complete');
    // Two more seeds (complete from their stores) and two leechers, with room for 2 links each.
    const seeds = await Promise.all([1, 2].map(async () => track(startPeer(net, content, cdn, { store: await seededStore(content), config: { httpDelayMs: 60_000, maxPeers: 2 } }))));
    await Promise.all(seeds.map((p) => waitFor(p.download, 'complete')));
    await new Promise((r) => setTimeout(r, 50));
    for (const p of [seeder, ...seeds]) expect(p.download.connectedPeers).toBe(0);
    const leechers = [1, 2].map(() => track(startPeer(net, content, cdn, { config: { httpDelayMs: 60_000, maxPeers: 2 } })));
    await Promise.all(leechers.map((l) => waitFor(l.download, 'complete')));
    for (const l of leechers) expect(l.download.snapshot().bytesFromPeers).toBe(content.metadata.fileSize);
    await new Promise((r) => setTimeout(r, 50));
    // Everyone is a seed now: no link is left between them.
    for (const p of [seeder, ...seeds, ...leechers]) expect(p.download.connectedPeers).toBe(0);
  });

  it('a tab downloading alone gets pieces in order, so its whole-file hash reads nothing back', async () => {
    const content = makeContent(12 * MiB + 12345, 11);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const seeder = track(startPeer(net, content, cdn, { store: await seededStore(content), config: { httpDelayMs: 60_000 } }));
    await waitFor(seeder.download, 'complete');
    const fromPeer = track(startPeer(net, content, cdn, { config: { httpDelayMs: 60_000 } }));
    const fromCdn = track(startPeer(new MemoryNetwork(), content, cdn, { config: { httpDelayMs: 0 } }));
    for (const l of [fromPeer, fromCdn]) {
      await waitFor(l.download, 'complete');
      expect(Buffer.from(await storedBytes(l, content)).equals(Buffer.from(content.bytes))).toBe(true);
      expect(l.download.wholeFileReadBacks).toBe(0);
    }
    expect(fromPeer.download.snapshot().bytesFromPeers).toBe(content.metadata.fileSize);
    expect(fromCdn.download.snapshot().bytesFromCdn).toBe(content.metadata.fileSize);
  });

  it('download mode HTTP (DO 0): verified from the CDN, and no announce, link or upload even beside a seeder', async () => {
    const content = makeContent(6 * MiB + 777, 12);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const seeder = track(startPeer(net, content, cdn, { store: await seededStore(content), config: { httpDelayMs: 60_000 } }));
    await waitFor(seeder.download, 'complete');
    const httpOnly = track(startPeer(net, content, cdn, { config: { httpDelayMs: 0, downloadMode: 'http' } }));
    await waitFor(httpOnly.download, 'complete');
    expect(httpOnly.download.peering).toBe(false);
    expect(Buffer.from(await storedBytes(httpOnly, content)).equals(Buffer.from(content.bytes))).toBe(true);
    const s = httpOnly.download.snapshot();
    expect(s.bytesFromCdn).toBe(content.metadata.fileSize);
    expect(s.bytesFromPeers).toBe(0);
    expect(s.bytesUploaded).toBe(0);
    expect(httpOnly.download.connectedPeers).toBe(0);
    // The seeder never heard of it: no link was ever opened to it.
    expect(seeder.download.connectedPeers).toBe(0);
    expect(seeder.download.snapshot().bytesUploaded).toBe(0);
  });

  it('peers that start together share the CDN load instead of each fetching the file', async () => {
    const content = makeContent(32 * MiB, 2);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes, 15);
    const peers = [0, 1, 2, 3].map(() => track(startPeer(net, content, cdn, { config: { httpDelayMs: 100, cdnRequestsInFlight: 2 } })));
    await Promise.all(peers.map((p) => waitFor(p.download, 'complete', 30_000)));
    let fromPeers = 0;
    for (const p of peers) {
      expect(Buffer.from(await storedBytes(p, content)).equals(Buffer.from(content.bytes))).toBe(true);
      fromPeers += p.download.snapshot().bytesFromPeers;
    }
    // Four copies delivered; the tabs split the CDN's share, so it served about one.
    expect(cdn.bytesServed).toBeLessThan(1.5 * content.metadata.fileSize);
    expect(fromPeers).toBeGreaterThan(2 * content.metadata.fileSize);
  });

  it('links that never open (offers from peers gone since) take no share of the CDN', async () => {
    const content = makeContent(8 * MiB, 4);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    // Alone but for offers that never open; after `peerStallMs` a tab would fetch others' shares.
    const tab = track(startPeer(net, content, cdn, { config: { httpDelayMs: 0, peerStallMs: 60_000, connectTimeoutMs: 60_000 } }));
    for (let g = 0; g < 5; g++) net.ghostOffer(content.contentId, newPeerId(), tab.peerId);
    await waitFor(tab.download, 'complete', 5000);
    expect(cdn.bytesServed).toBe(content.metadata.fileSize);
  });

  it('finishes from the rest of the swarm and the CDN when the seeder leaves mid-download', async () => {
    const content = makeContent(24 * MiB, 3);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const seeder = track(startPeer(net, content, cdn, { store: await seededStore(content) }));
    await waitFor(seeder.download, 'complete');
    const leechers = [1, 2].map(() => track(startPeer(net, content, cdn, { config: { httpDelayMs: 100 } })));
    await new Promise<void>((resolve) => {
      const off = leechers[0]!.download.events.on('piece', () => {
        if (leechers[0]!.download.have.cardinality >= 4) {
          off();
          resolve();
        }
      });
    });
    seeder.download.stop();
    net.kill(seeder.peerId);
    await Promise.all(leechers.map((l) => waitFor(l.download, 'complete', 30_000)));
    for (const l of leechers) expect(Buffer.from(await storedBytes(l, content)).equals(Buffer.from(content.bytes))).toBe(true);
    const got = leechers.map((l) => l.download.snapshot());
    expect(got.some((s) => s.bytesFromCdn > 0)).toBe(true);
    expect(got.every((s) => s.bytesFromPeers > 0)).toBe(true);
  });

  it('discards a liar\'s pieces, blames only the liar, bans it at its first bad piece (a stranger), and still delivers the right bytes', async () => {
    const content = makeContent(10 * MiB, 4);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const liar = startLiar(net, content, (piece) => {
      piece[100] = piece[100]! ^ 0xff;
      return piece;
    });
    const honest = track(startPeer(net, content, cdn, { store: await seededStore(content) }));
    await waitFor(honest.download, 'complete');
    const leecher = track(startPeer(net, content, cdn, { config: { httpDelayMs: 60_000, strikesToBan: 3 } }));
    await waitFor(leecher.download, 'complete');
    liar.stop();
    expect(Buffer.from(await storedBytes(leecher, content)).equals(Buffer.from(content.bytes))).toBe(true);
    const s = leecher.download.snapshot();
    const liarStats = s.peers.find((p) => p.peerId === liar.peerId);
    const honestStats = s.peers.find((p) => p.peerId === honest.peerId);
    expect(liarStats?.banned).toBe(true);
    // Probation: a peer that never delivered a verified piece is banned at its first bad one.
    expect(liarStats?.strikes).toBe(1);
    expect(liarStats?.piecesFrom).toBe(0);
    expect(honestStats?.strikes).toBe(0);
    expect(honestStats?.banned).toBe(false);
    expect(s.piecesRejected).toBe(1);
    expect(s.peersBanned).toBe(1);
    // The ban was reported to the Arrays service, which no longer lists the liar to this peer.
    expect(net.bans.get(`${content.contentId}:${leecher.peerId}`)).toEqual(new Set([liar.peerId]));
  });

  it('does not wait forever on a connected peer that never has anything to share', async () => {
    const content = makeContent(6 * MiB, 9);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    // Speaks the protocol, counts as a downloading peer in the CDN split, never gets a piece.
    const silent = startLiar(net, content, (p) => p, { claimsPieces: false });
    const peer = track(startPeer(net, content, cdn, { config: { httpDelayMs: 150, peerStallMs: 300 } }));
    await waitFor(peer.download, 'complete');
    silent.stop();
    expect(Buffer.from(await storedBytes(peer, content)).equals(Buffer.from(content.bytes))).toBe(true);
    expect(peer.download.snapshot().bytesFromCdn).toBe(content.metadata.fileSize);
  });

  it('verifies CDN bytes too: a tampered response is discarded and fetched again', async () => {
    const content = makeContent(4 * MiB, 5);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    let tampered = 0;
    cdn.tamper = (start, bytes) => {
      if (start === 0 && tampered++ === 0) bytes[0] = bytes[0]! ^ 1;
      return bytes;
    };
    const peer = track(startPeer(net, content, cdn, { peering: false }));
    await waitFor(peer.download, 'complete');
    expect(Buffer.from(await storedBytes(peer, content)).equals(Buffer.from(content.bytes))).toBe(true);
    expect(peer.download.snapshot().piecesRejected).toBe(1);
    expect(peer.download.snapshot().cdnErrors).toBe(1);
  });

  it('backs off from a failing CDN instead of hammering it, then finishes', async () => {
    const content = makeContent(3 * MiB, 10);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    cdn.failNext = 3;
    const started = Date.now();
    const peer = track(startPeer(net, content, cdn, { peering: false, config: { cdnRequestsInFlight: 1 } }));
    await waitFor(peer.download, 'complete');
    expect(Buffer.from(await storedBytes(peer, content)).equals(Buffer.from(content.bytes))).toBe(true);
    expect(peer.download.snapshot().cdnErrors).toBe(3);
    // One request per try: 3 failed, then the 3 pieces; no request during a back-off.
    expect(cdn.requests).toBe(3 + 3);
    // Back-offs of 250, 500 and 1000 ms after the three failures.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250 + 500 + 1000 - 50);
  }, 20_000);

  it('simple mode: HTTP only, no peers, pieces kept apart from verified ones and never served', async () => {
    const content = makeContent(5 * MiB + 3, 13);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const seeder = track(startPeer(net, content, cdn, { store: await seededStore(content) }));
    await waitFor(seeder.download, 'complete');
    const simple = { ...content, metadata: { ...content.metadata, fileSha256: '', pieceSha256: [] } };
    const peer = track(startPeer(net, simple, cdn, { simpleReason: 'the metadata is unavailable' }));
    await waitFor(peer.download, 'complete');
    expect(peer.download.peering).toBe(false);
    expect(peer.download.connectedPeers).toBe(0);
    expect(peer.download.snapshot().bytesFromCdn).toBe(content.metadata.fileSize);
    expect(peer.download.fileSha256).toBe(content.metadata.fileSha256);
    expect(await peer.store.list(content.contentId)).toEqual([]);
    expect((await peer.store.list(`simple:${content.contentId}`)).length).toBe(6);
    expect(seeder.download.snapshot().bytesUploaded).toBe(0);
  });

  it('resumes from stored pieces and fetches only the rest', async () => {
    const content = makeContent(8 * MiB, 6);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    const full = await seededStore(content);
    const half = new MemoryStore();
    for (let i = 0; i < 4; i++) await half.put(content.contentId, i, (await full.get(content.contentId, i))!);
    const peer = track(startPeer(net, content, cdn, { store: half, peering: false }));
    await waitFor(peer.download, 'complete');
    expect(peer.download.snapshot().piecesFromStore).toBe(4);
    expect(cdn.bytesServed).toBe(4 * MiB);
    expect(Buffer.from(await storedBytes(peer, content)).equals(Buffer.from(content.bytes))).toBe(true);
  });

  it('fails with file-hash-mismatch when the pieces do not make the declared file', async () => {
    const content = makeContent(2 * MiB, 8);
    const bad = { ...content, metadata: { ...content.metadata, fileSha256: '0'.repeat(64) } };
    const net = new MemoryNetwork();
    const peer = track(startPeer(net, bad, new MemoryCdn(content.bytes), { peering: false }));
    await waitFor(peer.download, 'failed');
    expect(peer.download.error?.kind).toBe('file-hash-mismatch');
  });
});
