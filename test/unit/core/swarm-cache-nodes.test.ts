/**
 * Cache nodes in the Swarm's link rules (swarm/cache-nodes.ts): a peer listed with `cache: true`
 * is linked first, takes a link beyond `maxPeers` (up to `maxCacheNodeLinks`), keeps it while
 * ordinary links come and go, and is linked again as soon as its relink back-off ends, with no
 * new list; a banned cache node is not. Driven with fake links and timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { Emitter } from '../../../src/core/emitter.js';
import type { PeerConnector, Signaling, SignalingEvents } from '../../../src/core/ports.js';
import { Swarm } from '../../../src/core/swarm.js';
import type { PeerInfo } from '../../../src/protocol/arrays-messages.js';
import { FakeLink } from '../../helpers/fake-link.js';

const CONTENT = 'c'.repeat(64);
const ME = '5'.repeat(32);
const PROGRESS = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 };
const id = (n: number) => n.toString(16).padStart(32, '0');
/** Cache nodes' IDs sort above ours: in glare they answer our offer. */
const CACHE = ['e'.repeat(32), 'f'.repeat(32), 'd'.repeat(32)];

function setup(config: Partial<typeof DEFAULT_CONFIG> = {}, complete = false) {
  const signalingEvents = new Emitter<SignalingEvents>();
  let announces = 0;
  const signaling = {
    announce: () => void announces++,
    signal: () => undefined,
    leave: () => undefined,
    ban: () => undefined,
    on: (event, listener) => signalingEvents.on(event, listener),
  } as Signaling;
  const links: FakeLink[] = [];
  const connector: PeerConnector = {
    connect: (remoteId) => {
      const link = new FakeLink(remoteId);
      links.push(link);
      // Every link opens at once (the data channel of a test).
      queueMicrotask(() => link.closed || link.events.emit('open', undefined));
      return link;
    },
  };
  const swarm = new Swarm({
    contentId: CONTENT,
    peerId: ME,
    signaling,
    connector,
    config: { ...DEFAULT_CONFIG, maxPeers: 3, maxCacheNodeLinks: 2, relinkBackoffMs: 10_000, connectTimeoutMs: 60_000, ...config },
    report: () => PROGRESS,
    onLink: () => undefined,
    isComplete: () => complete,
  });
  swarm.start();
  const list = (peers: PeerInfo[]) => signalingEvents.emit('peers', { contentId: CONTENT, peers, intervalMs: 3_600_000 });
  const offer = (from: string) => signalingEvents.emit('signal', { contentId: CONTENT, from, data: { type: 'offer', sdp: 'v=0' } });
  const open = () => links.filter((l) => !l.closed).map((l) => l.remoteId);
  return { swarm, links, list, offer, open, announces: () => announces };
}

const peer = (peerId: string, cache = false): PeerInfo => ({ peerId, left: 5, ...(cache ? { cache: true as const } : {}) });

describe('Swarm and cache nodes', () => {
  afterEach(() => vi.useRealTimers());

  it('links to cache nodes beyond maxPeers, up to maxCacheNodeLinks; a third one needs an ordinary slot', async () => {
    const { swarm, list, open, offer } = setup();
    list([1, 2, 3, 4].map((n) => peer(id(n))));
    expect(open()).toEqual([id(1), id(2), id(3)]);
    list([...[1, 2, 3, 4].map((n) => peer(id(n))), peer(CACHE[0]!, true), peer(CACHE[1]!, true), peer(CACHE[2]!, true)]);
    await Promise.resolve();
    expect(open()).toEqual([id(1), id(2), id(3), CACHE[0], CACHE[1]]);
    expect(swarm.isCacheNode(CACHE[0]!)).toBe(true);
    expect(swarm.isCacheNode(id(1))).toBe(false);
    // Full: an ordinary peer's offer is refused, as is the third cache node's.
    offer(id(4));
    offer(CACHE[2]!);
    expect(open()).toHaveLength(5);
    swarm.stop();
  });

  it('offers to cache nodes first: with no room beyond maxPeers, the cache node takes the free slot', () => {
    const { swarm, list, open } = setup({ maxPeers: 1, maxCacheNodeLinks: 0 });
    list([peer(id(1)), peer(id(2)), peer(CACHE[0]!, true)]);
    expect(open()).toEqual([CACHE[0]]);
    swarm.stop();
  });

  it("accepts a cache node's offer when every ordinary slot is taken, and no ordinary peer's", () => {
    // A complete tab offers to no seed: the cache node (listed with nothing left) offers itself.
    const { swarm, list, offer, open } = setup({}, true);
    list([peer(id(1)), peer(id(2)), peer(id(3)), { peerId: CACHE[0]!, left: 0, cache: true }, { peerId: id(4), left: 0 }]);
    expect(open()).toEqual([id(1), id(2), id(3)]);
    offer(id(4));
    expect(open()).toEqual([id(1), id(2), id(3)]);
    offer(CACHE[0]!);
    expect(open()).toEqual([id(1), id(2), id(3), CACHE[0]]);
    swarm.stop();
  });

  it('keeps the cache node linked while ordinary links close and are replaced', async () => {
    vi.useFakeTimers();
    const { swarm, links, list, open } = setup();
    const all = [peer(CACHE[0]!, true), ...[1, 2, 3, 4, 5].map((n) => peer(id(n)))];
    list(all);
    await vi.advanceTimersByTimeAsync(0);
    expect(open()).toEqual([CACHE[0], id(1), id(2), id(3)]);
    for (const l of links.filter((l) => l.remoteId === id(1) || l.remoteId === id(2))) l.close();
    list(all);
    expect(open()).toEqual([CACHE[0], id(3), id(4), id(5)]);
    const cacheLink = links.find((l) => l.remoteId === CACHE[0])!;
    expect(cacheLink.closed).toBe(false);
    expect(links.filter((l) => l.remoteId === CACHE[0])).toHaveLength(1);
    swarm.stop();
  });

  it('links again to a cache node when its back-off ends, with no new list; not to an ordinary peer', async () => {
    vi.useFakeTimers();
    const { swarm, links, list, open, announces } = setup();
    await vi.advanceTimersByTimeAsync(8000); // past the early announces (1, 2 and 4 s apart)
    list([peer(CACHE[0]!, true), peer(id(1))]);
    await vi.advanceTimersByTimeAsync(0);
    const before = announces();
    for (const l of [...links]) l.close(); // both links drop (closed by the remote)
    expect(open()).toEqual([]);
    await vi.advanceTimersByTimeAsync(9_900);
    expect(open()).toEqual([]); // the back-off holds for cache nodes too
    await vi.advanceTimersByTimeAsync(200);
    expect(open()).toEqual([CACHE[0]]);
    expect(links.filter((l) => l.remoteId === CACHE[0])).toHaveLength(2);
    expect(announces()).toBe(before); // no list was asked for: the last one named it
    // Dropped (for lagging) from our side: the same, with the back-off doubled.
    swarm.drop(CACHE[0]!);
    await vi.advanceTimersByTimeAsync(19_900);
    expect(open()).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(open()).toEqual([CACHE[0]]);
    swarm.stop();
  });

  it('asks for a fresh list when the cache node was not in the last one', async () => {
    vi.useFakeTimers();
    const { swarm, links, list, announces } = setup();
    await vi.advanceTimersByTimeAsync(8000);
    list([peer(CACHE[0]!, true)]);
    await vi.advanceTimersByTimeAsync(0);
    list([peer(id(1))]);
    const before = announces();
    links.find((l) => l.remoteId === CACHE[0])!.close();
    await vi.advanceTimersByTimeAsync(10_100);
    expect(announces()).toBe(before + 1);
    swarm.stop();
  });

  it('never links again to a banned cache node, and stops relinking when stopped', async () => {
    vi.useFakeTimers();
    const { swarm, links, list, open } = setup();
    list([peer(CACHE[0]!, true), peer(CACHE[1]!, true)]);
    await vi.advanceTimersByTimeAsync(0);
    swarm.ban(CACHE[0]!);
    links.find((l) => l.remoteId === CACHE[1])!.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(open()).toEqual([CACHE[1]]);
    list([peer(CACHE[0]!, true)]);
    expect(links.filter((l) => l.remoteId === CACHE[0])).toHaveLength(1);
    links.find((l) => !l.closed)!.close();
    swarm.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(open()).toEqual([]);
  });

  it('treats cache nodes as ordinary peers with maxCacheNodeLinks 0', () => {
    const { swarm, list, open } = setup({ maxCacheNodeLinks: 0 });
    list([1, 2, 3].map((n) => peer(id(n))));
    list([peer(CACHE[0]!, true)]);
    expect(open()).toEqual([id(1), id(2), id(3)]);
    swarm.stop();
  });
});
