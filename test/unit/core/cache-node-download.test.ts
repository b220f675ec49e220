/**
 * A download with a cache node in its swarm (issue 17: DO's Connected Cache), in the in-process
 * simulation (real core Downloads over memory links; the memory Arrays service lists cache
 * nodes with `cache: true`). The cache node is an honest or lying wire peer (sim-peer.ts
 * startLiar) that tabs connect to and that offers to no one: a tab knows a peer is a cache node
 * from its `peers` lists, and one that offered first would be an ordinary peer to the tab until
 * its next list. Its peer ID sorts above every tab's, so that in glare it answers theirs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientConfig } from '../../../src/core/config.js';
import { downloadStatus } from '../../../src/core/status.js';
import { makeContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';
import { startLiar, startPeer, storedBytes, waitFor, type SimPeer } from '../../helpers/sim-peer.js';

const KiB = 1024;
const CACHE_ID = 'f'.repeat(32);
const running: SimPeer[] = [];
const stops: Array<() => void> = [];
const track = (p: SimPeer): SimPeer => (running.push(p), p);

afterEach(() => {
  for (const p of running.splice(0)) p.download.stop();
  for (const stop of stops.splice(0)) stop();
});

/** Polls `cond` until true; fails after `ms`. */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type ServerOptions = Parameters<typeof startLiar>[3];

/** An honest wire peer that never downloads: it serves what it claims (all by default). */
function server(net: MemoryNetwork, content: ReturnType<typeof makeContent>, options: ServerOptions = {}) {
  const s = startLiar(net, content, (p) => p, options);
  stops.push(() => s.stop());
  return s;
}

/** A cache node: listed with `cache: true`; honest unless `corrupt` says otherwise. */
function cacheNode(net: MemoryNetwork, content: ReturnType<typeof makeContent>, options: ServerOptions = {}, corrupt = (p: Uint8Array) => p) {
  net.cacheNodes.add(CACHE_ID);
  const s = startLiar(net, content, corrupt, { peerId: CACHE_ID, offers: false, ...options });
  stops.push(() => s.stop());
  return s;
}

/** Which source each stored piece came from. */
function sources(p: SimPeer): Map<number, string> {
  const from = new Map<number, string>();
  p.download.events.on('piece', ({ index, source }) => from.set(index, source));
  return from;
}

const peerRow = (p: SimPeer, id: string) => p.download.snapshot().peers.find((r) => r.peerId === id);
/** No CDN within the test: every byte comes from peers. */
const NO_CDN: Partial<ClientConfig> = { httpDelayMs: 60_000 };

describe('a download and a cache node', () => {
  it('links to the cache node with maxPeers links open, keeps it as the others churn, and links again after it drops', async () => {
    const content = makeContent(64 * 16 * KiB, 81, 16 * KiB);
    const net = new MemoryNetwork();
    // Three peers with nothing to give: each link they hold is a slot taken. (A fourth would
    // offer to the full tab, be refused, and stall the tab's later offer in glare for the
    // connect time: not what this test is about.)
    const idle = [0, 1, 2].map(() => server(net, content, { claimsPieces: false }));
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...NO_CDN, maxPeers: 3, relinkBackoffMs: 300 } }));
    await until('the tab holds maxPeers links', () => tab.download.connectedPeers === 3);
    // A slow cache node (a piece every 50 ms) that the tab is still downloading from when it drops.
    const cache = cacheNode(net, content, { shape: 'slow', timing: { slowEveryMs: 50 }, relinkBackoffMs: 100 });
    await until('the tab links to the cache node', () => peerRow(tab, CACHE_ID)?.connected === true && tab.download.connectedPeers === 4);
    // Churn: a peer leaves, a newcomer takes its slot; the cache node keeps its link.
    idle[0]!.stop();
    await until('the leaver is gone', () => peerRow(tab, idle[0]!.peerId)?.connected === false);
    const newcomer = server(net, content, { claimsPieces: false });
    await until('the newcomer takes the slot', () => peerRow(tab, newcomer.peerId)?.connected === true);
    expect(tab.download.connectedPeers).toBe(4);
    expect(cache.linksWith(tab.peerId)).toBe(1);
    expect(peerRow(tab, CACHE_ID)?.connected).toBe(true);
    const before = peerRow(tab, CACHE_ID)!.piecesFrom;
    expect(tab.download.state).toBe('downloading');
    // The cache node's link drops: the tab links to it again, though its other slots are full.
    cache.closeLinkTo(tab.peerId);
    await until('the tab links to the cache node again', () => cache.linksWith(tab.peerId) === 2, 5000);
    await waitFor(tab.download, 'complete', 15_000);
    const s = tab.download.snapshot();
    expect(peerRow(tab, CACHE_ID)!.piecesFrom).toBeGreaterThan(before);
    expect(s.bytesFromCacheNodes).toBe(content.metadata.fileSize);
    expect(s.bytesFromCdn).toBe(0);
  });

  it('bans a cache node that sends a bad piece, as any peer, and completes from an honest one', async () => {
    const content = makeContent(16 * 16 * KiB, 82, 16 * KiB);
    const net = new MemoryNetwork();
    const seeder = server(net, content, { shape: 'slow', timing: { slowEveryMs: 20 } });
    const liar = cacheNode(net, content, {}, (p) => p.map((b) => b ^ 0xff));
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: NO_CDN }));
    await waitFor(tab.download, 'complete', 15_000);
    expect(Buffer.from(await storedBytes(tab, content)).equals(Buffer.from(content.bytes))).toBe(true);
    const s = tab.download.snapshot();
    expect(liar.asked()).toBeGreaterThan(0);
    expect(peerRow(tab, CACHE_ID)).toMatchObject({ cacheNode: true, banned: true, strikes: 1, piecesFrom: 0 });
    expect(net.bans.get(`${content.contentId}:${tab.peerId}`)?.has(CACHE_ID)).toBe(true);
    expect(s.bytesFromCacheNodes).toBe(0);
    expect(peerRow(tab, seeder.peerId)?.piecesFrom).toBe(16);
  });

  it('takes most pieces from a cache node that holds everything, and still trades with the tabs that hold some', async () => {
    const content = makeContent(32 * 16 * KiB, 83, 16 * KiB);
    const net = new MemoryNetwork();
    cacheNode(net, content);
    const a = server(net, content, { claimsTo: (_, i) => i >= 20 && i < 26 });
    const b = server(net, content, { claimsTo: (_, i) => i >= 26 });
    const cdn = new MemoryCdn(content.bytes);
    const tab = track(startPeer(net, content, cdn, { config: NO_CDN }));
    await waitFor(tab.download, 'complete', 15_000);
    const s = tab.download.snapshot();
    const fromCache = peerRow(tab, CACHE_ID)!.downloaded;
    console.log(`from the cache node ${fromCache / KiB} KiB, from a ${peerRow(tab, a.peerId)?.piecesFrom} pieces, from b ${peerRow(tab, b.peerId)?.piecesFrom}`);
    expect(fromCache).toBeGreaterThan(content.metadata.fileSize / 2);
    expect(s.bytesFromCacheNodes).toBe(fromCache);
    expect(peerRow(tab, a.peerId)!.piecesFrom).toBeGreaterThan(0);
    expect(peerRow(tab, b.peerId)!.piecesFrom).toBeGreaterThan(0);
    expect(s.bytesFromPeers).toBe(content.metadata.fileSize);
    expect(cdn.bytesServed).toBe(0);
  });

  it('asks the cache node for no piece that a useful tab holds: that tab serves it, the cache node the rest', async () => {
    const content = makeContent(32 * 16 * KiB, 84, 16 * KiB);
    const net = new MemoryNetwork();
    // A tab holding pieces 8-31, at a piece every 40 ms (400 KiB/s: useful above 64 KiB/s).
    const holder = server(net, content, { claimsTo: (_, i) => i >= 8, shape: 'slow', timing: { slowEveryMs: 40 } });
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...NO_CDN, slowPeerBytesPerSec: 64 * KiB } }));
    const from = sources(tab);
    await until('the holder has delivered a piece (it is trusted: its pieces count)', () => (peerRow(tab, holder.peerId)?.piecesFrom ?? 0) > 0);
    cacheNode(net, content);
    await waitFor(tab.download, 'complete', 15_000);
    const fromCache = [...from].filter(([, source]) => source === CACHE_ID).map(([i]) => i);
    expect(fromCache.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(peerRow(tab, holder.peerId)!.piecesFrom).toBe(24);
  });

  it('asks the CDN for nothing when a cache node holds everything, and says so in the status', async () => {
    const content = makeContent(16 * 16 * KiB, 85, 16 * KiB);
    const net = new MemoryNetwork();
    const other = server(net, content, { claimsPieces: false });
    cacheNode(net, content);
    const cdn = new MemoryCdn(content.bytes);
    const startedAt = Date.now();
    const tab = track(startPeer(net, content, cdn, { config: { httpDelayMs: 1000 } }));
    await waitFor(tab.download, 'complete', 15_000);
    expect(cdn.requests).toBe(0);
    const st = downloadStatus(tab.download, { mode: 'lan', background: false, startedAt, endedAt: Date.now(), now: Date.now() });
    expect(st).toMatchObject({ BytesFromPeers: content.metadata.fileSize, BytesFromCacheServer: content.metadata.fileSize, BytesFromHTTP: 0 });
    expect(st.Peers.find((p) => p.PeerId === CACHE_ID)).toMatchObject({ CacheNode: true, BytesFrom: content.metadata.fileSize });
    expect(st.Peers.find((p) => p.PeerId === other.peerId)).toMatchObject({ CacheNode: false, BytesFrom: 0 });
  });
});
