/**
 * Peers that play unfair, in the in-process swarm simulation (real core Downloads over memory
 * links and a memory CDN): peers that claim every piece and then stall in one way or another,
 * a request/cancel churner, and the relink back-off. Timings are scaled down (a 100 ms HTTP
 * delay, 100 ms idle time) so that each case takes a fraction of a second; the browser suite
 * (test/e2e/hostage.spec.ts) meets the same peers at the real timings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cdnShareOf, cdnShareOfSlot } from '../../../src/core/cdn-share.js';
import { DEFAULT_CONFIG, type ClientConfig } from '../../../src/core/config.js';
import { makeContent, type TestContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';
import { MemoryStore } from '../../helpers/memory-store.js';
import { SHAPES } from '../../helpers/shapers.js';
import { seededStore, startChurner, startLiar, startPeer, storedBytes, waitFor, type SimPeer } from '../../helpers/sim-peer.js';

const MiB = 1024 * 1024;
const running: SimPeer[] = [];
const stops: Array<() => void> = [];
const track = (p: SimPeer): SimPeer => (running.push(p), p);

afterEach(() => {
  for (const p of running.splice(0)) p.download.stop();
  for (const stop of stops.splice(0)) stop();
});

/** The scheduler's timings, scaled down about 15 times. */
const FAST: Partial<ClientConfig> = { httpDelayMs: 100, peerIdleMs: 100, peerDeadlineGraceMs: 200, relinkBackoffMs: 60_000, channelDeathRecheckMs: 100 };
/** Timings of the shaped peers, scaled down the same way. */
const TIMING = { trickleBytes: 1024, trickleEveryMs: 1000, slowEveryMs: 150 };

/** Polls `cond` until true; fails after `ms`. */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function timed(p: SimPeer): Promise<number> {
  const t0 = Date.now();
  await waitFor(p.download, 'complete', 15_000);
  return Date.now() - t0;
}

async function expectRightBytes(p: SimPeer, content: TestContent): Promise<void> {
  expect(Buffer.from(await storedBytes(p, content)).equals(Buffer.from(content.bytes))).toBe(true);
}

describe('a peer that claims every piece and stalls holds no download hostage', () => {
  for (const shape of SHAPES) {
    it(`${shape}: the tab finishes from the CDN about as fast as with that peer gone, and strikes nobody`, async () => {
      const content = makeContent(8 * MiB + 333, 70);
      // Clean: the same tab, the same CDN, nobody else in the swarm.
      const clean = track(startPeer(new MemoryNetwork(), content, new MemoryCdn(content.bytes), { config: FAST }));
      const cleanMs = await timed(clean);
      const net = new MemoryNetwork();
      const staller = startLiar(net, content, (p) => p, { shape, timing: TIMING });
      stops.push(() => staller.stop());
      await new Promise((r) => setTimeout(r, 20));
      const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: FAST }));
      const ms = await timed(tab);
      await expectRightBytes(tab, content);
      const s = tab.download.snapshot();
      const st = s.peers.find((p) => p.peerId === staller.peerId);
      console.log(`${shape}: ${ms} ms with the peer, ${cleanMs} ms without; from it ${st?.piecesFrom ?? 0} pieces, timeouts ${st?.timeouts ?? 0}, drops ${st?.drops ?? 0}`);
      expect(st, 'the staller was linked').toBeDefined();
      expect(st!.strikes).toBe(0);
      expect(st!.banned).toBe(false);
      expect(s.bytesFromCdn + s.bytesFromPeers).toBe(content.metadata.fileSize);
      // Unfixed, the tab waits for as long as the peer stays (the test's 15 s timeout). The
      // bound is loose on purpose (the ratio is measured by the benchmark and the browser test,
      // test/e2e/hostage.spec.ts): the time without it, plus the idle time to notice, plus slack
      // for a loaded machine.
      expect(ms).toBeLessThan(2 * cleanMs + 4 * FAST.peerIdleMs! + 1500);
    });
  }

  it('two tabs that each asked a silent peer for a piece of their own CDN share do not wait for its deadline', async () => {
    const content = makeContent(8 * MiB, 73);
    const net = new MemoryNetwork();
    const cdn = new MemoryCdn(content.bytes);
    // Long deadlines (1 MiB at 8 KiB/s) and no stall rule: only the endgame can end the wait.
    const config = { ...FAST, minPeerBytesPerSec: 8 * 1024, peerStallMs: 60_000 };
    const tabs: SimPeer[] = [];
    // It tells each tab it holds one piece only, the first of that tab's own share: each tab
    // asks it for that piece, and needs the other's, which the other tab never gets.
    const staller = startLiar(net, content, (p) => p, {
      shape: 'silent',
      claimsTo: (remoteId, i) => {
        const share = cdnShareOf(remoteId, tabs.map((t) => t.peerId), content.metadata.pieceSha256.length);
        return i === content.metadata.pieceSha256.findIndex((_, k) => share.ours(k));
      },
    });
    stops.push(() => staller.stop());
    await new Promise((r) => setTimeout(r, 20));
    tabs.push(...[0, 1].map(() => track(startPeer(net, content, cdn, { config }))));
    await Promise.all(tabs.map((t) => waitFor(t.download, 'complete', 10_000)));
    expect(staller.asked(), 'pieces the tabs asked of the staller').toBe(2);
    for (const t of tabs) {
      await expectRightBytes(t, content);
      const st = t.download.snapshot().peers.find((p) => p.peerId === staller.peerId);
      expect(st, 'the staller was linked').toBeDefined();
      // Taken back before its deadline (1 MiB at 8 KiB/s: 128 s), not timed out.
      expect(st!.timeouts).toBe(0);
      expect(st!.strikes).toBe(0);
    }
  });

  it('with no CDN at all (a classroom share), an honest peer takes over the pieces a stalled one was asked for', async () => {
    const content = makeContent(6 * MiB, 71);
    const net = new MemoryNetwork();
    const staller = startLiar(net, content, (p) => p, { shape: 'silent' });
    stops.push(() => staller.stop());
    const seeder = track(startPeer(net, content, new MemoryCdn(content.bytes), { store: await seededStore(content), noCdn: true, config: FAST }));
    await waitFor(seeder.download, 'complete');
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { noCdn: true, config: FAST }));
    await timed(tab);
    await expectRightBytes(tab, content);
    const s = tab.download.snapshot();
    expect(s.bytesFromCdn).toBe(0);
    expect(s.peers.find((p) => p.peerId === seeder.peerId)?.piecesFrom).toBe(6);
  });

  it('a silent stranger misses its deadline, is dropped, and not linked again while its relink back-off lasts', async () => {
    const content = makeContent(6 * MiB, 72);
    const net = new MemoryNetwork();
    const staller = startLiar(net, content, (p) => p, { shape: 'silent' });
    stops.push(() => staller.stop());
    // No CDN, so nothing takes its piece back before the deadline: 200 ms + 1 MiB at 16 MiB/s.
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { noCdn: true, config: { ...FAST, minPeerBytesPerSec: 8 * 16 * MiB } }));
    await until('the staller is dropped', () => (tab.download.snapshot().peers.find((p) => p.peerId === staller.peerId)?.drops ?? 0) > 0);
    // It announces every 200 ms and offers again; the tab links to nobody it dropped.
    await new Promise((r) => setTimeout(r, 600));
    const st = tab.download.snapshot().peers.find((p) => p.peerId === staller.peerId)!;
    expect(st.timeouts).toBe(1);
    expect(st.drops).toBe(1);
    expect(st.strikes).toBe(0);
    expect(st.connected).toBe(false);
    expect(staller.links()).toBe(1);
  });

  it('an honest slow peer (under the CDN but over the minimum rate) is used for what it gives, and never struck or dropped', async () => {
    const content = makeContent(8 * MiB, 73);
    const net = new MemoryNetwork();
    // 64 KiB every 100 ms: 640 KiB/s, over the 128 KiB/s minimum.
    const slow = startLiar(net, content, (p) => p, { shape: 'slow', timing: { slowEveryMs: 100 } });
    stops.push(() => slow.stop());
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...FAST, peerIdleMs: DEFAULT_CONFIG.peerIdleMs, httpDelayMs: 1500 } }));
    await timed(tab);
    await expectRightBytes(tab, content);
    const st = tab.download.snapshot().peers.find((p) => p.peerId === slow.peerId)!;
    expect(st.piecesFrom).toBeGreaterThan(0);
    expect(st.strikes).toBe(0);
    expect(st.timeouts).toBe(0);
    expect(st.drops).toBe(0);
  });
});

describe('a slow peer at the end of a download', () => {
  // 64 KiB every 25 ms (2.5 MiB/s): slow by `slowPeerBytesPerSec` (8 MiB/s), well over the minimum.
  // The HTTP delay lets the service's reply (and its slot) come first.
  const SLOW_RUN = { ...FAST, peerIdleMs: DEFAULT_CONFIG.peerIdleMs, httpDelayMs: 300, slowPeerBytesPerSec: 8 * MiB };
  /**
   * A tab that holds pieces 0 and 1 of 4 and gets 2 and 3 from a slow peer. In the big swarm its
   * slot (1 of 33, 16 peers a tab) gives it no piece of its own and pieces 1-3 to fetch when
   * peers fail them, so only the endgame rule stands between piece 3 and the CDN.
   */
  async function slowEnd(bigSwarm: boolean): Promise<{ tab: SimPeer; cdn: MemoryCdn; content: TestContent }> {
    const content = makeContent(4 * MiB, 76);
    const net = new MemoryNetwork();
    if (bigSwarm) {
      net.cdnSlotOf = () => ({ slot: 1, of: 33 });
      const share = cdnShareOfSlot(1, 33, 4, 16);
      expect([0, 1, 2, 3].map((i) => [share.ours(i), share.fallback!(i)])).toEqual([[false, false], [false, true], [false, true], [false, true]]);
    }
    const slow = startLiar(net, content, (p) => p, { shape: 'slow', timing: { slowEveryMs: 25 } });
    stops.push(() => slow.stop());
    const store = new MemoryStore();
    for (const i of [0, 1]) await store.put(content.contentId, i, content.bytes.subarray(i * MiB, (i + 1) * MiB));
    const cdn = new MemoryCdn(content.bytes);
    const tab = track(startPeer(net, content, cdn, { store, config: { ...SLOW_RUN, maxPeers: 16 } }));
    await timed(tab);
    await expectRightBytes(tab, content);
    return { tab, cdn, content };
  }

  // The control: the same tab without a slot does use the CDN (here for the piece the peer, a
  // stranger until its first verified piece, is not counted for), so the case below is not a
  // tab that never asks the CDN anyway.
  it('in a small swarm, the CDN serves some of it', async () => {
    const { cdn } = await slowEnd(false);
    expect(cdn.bytesServed).toBeGreaterThan(0);
  });

  it('in a big swarm (a CDN slot), the CDN takes nothing over: both pieces come from the peer', async () => {
    const { tab, cdn } = await slowEnd(true);
    expect(cdn.bytesServed).toBe(0);
    expect(tab.download.snapshot().bytesFromPeers).toBe(2 * MiB);
  });
});

describe('no upload amplification', () => {
  it('a churner that claims every piece gets nothing from a downloading tab, and is banned', async () => {
    const content = makeContent(8 * MiB, 74);
    const net = new MemoryNetwork();
    const churner = startChurner(net, content, { claimsAll: true, everyMs: 1 });
    stops.push(() => churner.stop());
    // The victim downloads from a slow CDN, announcing each piece as it comes.
    const victim = track(startPeer(net, content, new MemoryCdn(content.bytes, 100), { config: { httpDelayMs: 0 } }));
    await waitFor(victim.download, 'complete');
    const s = victim.download.snapshot();
    expect(churner.stats().requests).toBeGreaterThan(0);
    expect(churner.stats().bytesReceived).toBe(0);
    expect(s.bytesUploaded).toBe(0);
    expect(s.peers.find((p) => p.peerId === churner.peerId)?.banned).toBe(true);
  });

  it('a churner that claims nothing gets at most the file once plus the waste budget from a seeder, and is banned for its churn', async () => {
    const content = makeContent(8 * MiB, 75);
    const net = new MemoryNetwork();
    const seeder = track(startPeer(net, content, new MemoryCdn(content.bytes), { store: await seededStore(content), config: { httpDelayMs: 60_000 } }));
    await waitFor(seeder.download, 'complete');
    const churner = startChurner(net, content, { claimsAll: false, everyMs: 1 });
    stops.push(() => churner.stop());
    await new Promise((r) => setTimeout(r, 1500));
    const s = seeder.download.snapshot();
    console.log(`churner: ${churner.stats().requests} requests, ${churner.stats().cancels} cancels, ${churner.stats().bytesReceived} bytes received`);
    expect(s.bytesUploaded).toBeLessThanOrEqual(content.metadata.fileSize + DEFAULT_CONFIG.uploadWasteBytes + content.metadata.pieceSize);
    expect(s.peers.find((p) => p.peerId === churner.peerId)?.banned).toBe(true);
  });
});

describe('honest peers under load strike nobody', () => {
  it('leechers that take pieces back from a lagging seeder and from each other never strike an honest peer', async () => {
    const content = makeContent(6 * MiB, 76);
    const net = new MemoryNetwork();
    // An honest seeder that sends in bursts with pauses longer than the idle time: it lags, is
    // taken from, and recovers, again and again.
    const seeder = startLiar(net, content, (p) => p, { shape: 'slow', timing: { slowEveryMs: 130 } });
    stops.push(() => seeder.stop());
    const fast = { ...FAST, peerIdleMs: 100, relinkBackoffMs: 200, maxRelinkBackoffMs: 400 };
    const honest = track(startPeer(net, content, new MemoryCdn(content.bytes), { store: await seededStore(content), noCdn: true, config: fast }));
    await waitFor(honest.download, 'complete');
    const leechers = [1, 2, 3, 4, 5].map(() => track(startPeer(net, content, new MemoryCdn(content.bytes), { noCdn: true, config: fast })));
    const strikes: string[] = [];
    for (const p of [honest, ...leechers]) {
      p.download.events.on('peer', (e) => {
        if (e.event === 'strike') strikes.push(`${p.peerId.slice(0, 6)} struck ${e.peerId.slice(0, 6)}: ${e.reason}`);
      });
    }
    await Promise.all(leechers.map((l) => waitFor(l.download, 'complete', 30_000)));
    expect(strikes).toEqual([]);
  });
});

describe('a channel that dies under a link counts against the peer', () => {
  it('a stranger whose channel dies (an oversized frame) is banned by the tab alone: not reported, not linked again', async () => {
    const content = makeContent(4 * MiB, 79);
    const net = new MemoryNetwork();
    const killer = startLiar(net, content, (p) => p, { abortAfter: 0, relinkBackoffMs: 50 });
    stops.push(() => killer.stop());
    // Short relink back-offs on both sides: only the ban keeps it away.
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...FAST, relinkBackoffMs: 50 } }));
    await waitFor(tab.download, 'complete', 15_000);
    await expectRightBytes(tab, content);
    await new Promise((r) => setTimeout(r, 400)); // it announces every 200 ms and offers again
    const st = tab.download.snapshot().peers.find((p) => p.peerId === killer.peerId)!;
    expect(st.strikes).toBe(1);
    expect(st.banned).toBe(true);
    expect(killer.links()).toBe(1);
    // A crashed browser's channel dies the same way: the Arrays service hears nothing of it.
    expect(net.bans.get(`${content.contentId}:${tab.peerId}`) ?? new Set()).not.toContain(killer.peerId);
  });

  it('a trusted peer whose channel dies gets a strike each time, is linked again after its back-off, and serves again', async () => {
    const content = makeContent(8 * MiB, 80);
    const net = new MemoryNetwork();
    const flaky = startLiar(net, content, (p) => p, { abortAfter: 3, relinkBackoffMs: 50 });
    stops.push(() => flaky.stop());
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { noCdn: true, config: { ...FAST, relinkBackoffMs: 50 } }));
    await waitFor(tab.download, 'complete', 15_000);
    await expectRightBytes(tab, content);
    const st = tab.download.snapshot().peers.find((p) => p.peerId === flaky.peerId)!;
    // Eight pieces, three per link: three links, two deaths, two strikes (a third would ban it).
    expect(flaky.links()).toBe(3);
    expect(st.piecesFrom).toBe(8);
    expect(st.strikes).toBe(2);
    expect(st.banned).toBe(false);
  });

  it('a peer whose channel dies as it leaves the swarm (a page that closed) is struck by no one', async () => {
    const content = makeContent(4 * MiB, 82);
    const net = new MemoryNetwork();
    const leaver = startLiar(net, content, (p) => p, { abortAfter: 1, leaveOnAbort: true });
    stops.push(() => leaver.stop());
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: FAST }));
    const struck: string[] = [];
    tab.download.events.on('peer', (e) => {
      if (e.event === 'strike' || e.event === 'banned') struck.push(`${e.event}: ${e.reason}`);
    });
    await waitFor(tab.download, 'complete', 15_000);
    await expectRightBytes(tab, content);
    // Well past the recheck: the tab asked the service again and the leaver was not listed.
    await new Promise((r) => setTimeout(r, 500));
    const st = tab.download.snapshot().peers.find((p) => p.peerId === leaver.peerId)!;
    expect(st.piecesFrom).toBe(1);
    expect(struck).toEqual([]);
    expect(st.strikes).toBe(0);
    expect(leaver.links()).toBe(1);
  });

  it('a peer banned at a dead channel after bad pieces is reported like any liar', async () => {
    const content = makeContent(8 * MiB, 81);
    const net = new MemoryNetwork();
    // Its first piece is good (it is trusted), the next two are bad, and the fourth kills the channel.
    let served = 0;
    const liar = startLiar(
      net,
      content,
      (p) => {
        served++;
        if (served === 2 || served === 3) p[0] = p[0]! ^ 0xff;
        return p;
      },
      { abortAfter: 3 },
    );
    stops.push(() => liar.stop());
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: FAST }));
    await waitFor(tab.download, 'complete', 15_000);
    await expectRightBytes(tab, content);
    // The dead channel (its third strike) may come after the tab completed from the CDN.
    await until('the liar is banned', () => tab.download.snapshot().peers.some((p) => p.peerId === liar.peerId && p.banned));
    const st = tab.download.snapshot().peers.find((p) => p.peerId === liar.peerId)!;
    expect(st.piecesFrom).toBe(1);
    expect(st.strikes).toBe(3);
    expect(st.banned).toBe(true);
    expect(net.bans.get(`${content.contentId}:${tab.peerId}`)).toContain(liar.peerId);
  });
});

describe('a liar pays per address, not per peer ID (LAN mode)', () => {
  it('a tab that banned a liar refuses, and bans, a new peer ID at its address; a peer at its own address is never refused for it', async () => {
    const content = makeContent(6 * MiB, 77);
    const net = new MemoryNetwork();
    const flip = (p: Uint8Array) => {
      p[0] = p[0]! ^ 0xff;
      return p;
    };
    const first = startLiar(net, content, flip, { peerId: '1'.repeat(32) });
    net.addressOf.set(first.peerId, '192.168.1.66');
    stops.push(() => first.stop());
    // The tab and an honest seeder share one device's address.
    const seederStore = await seededStore(content);
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: { httpDelayMs: 60_000 } }));
    net.addressOf.set(tab.peerId, '192.168.1.10');
    await until('the first liar is banned', () => tab.download.snapshot().peers.some((p) => p.peerId === first.peerId && p.banned));
    const s1 = tab.download.snapshot();
    expect(s1.peers.find((p) => p.peerId === first.peerId)?.banned).toBe(true);
    expect(s1.piecesRejected).toBe(1);
    // The liar comes back under a new peer ID, from the same address: refused before any piece.
    const second = startLiar(net, content, flip, { peerId: '2'.repeat(32) });
    net.addressOf.set(second.peerId, '192.168.1.66');
    stops.push(() => second.stop());
    const seeder = track(startPeer(net, content, new MemoryCdn(content.bytes), { store: seederStore, config: { httpDelayMs: 60_000 } }));
    net.addressOf.set(seeder.peerId, '192.168.1.10');
    await waitFor(tab.download, 'complete');
    const s2 = tab.download.snapshot();
    expect(s2.peers.find((p) => p.peerId === second.peerId)?.banned).toBe(true);
    expect(s2.piecesRejected).toBe(1);
    expect(s2.peers.find((p) => p.peerId === seeder.peerId)?.banned).toBe(false);
    expect(s2.peers.find((p) => p.peerId === seeder.peerId)?.piecesFrom).toBe(6);
    expect(net.bans.get(`${content.contentId}:${tab.peerId}`)).toEqual(new Set([first.peerId, second.peerId]));
  });

  it("a liar at the tab's own address (the same device) is banned per ID only: the honest tabs there are not refused", async () => {
    const content = makeContent(4 * MiB, 78);
    const net = new MemoryNetwork();
    const liar = startLiar(net, content, (p) => {
      p[0] = p[0]! ^ 0xff;
      return p;
    });
    net.addressOf.set(liar.peerId, '192.168.1.10');
    stops.push(() => liar.stop());
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: { httpDelayMs: 60_000 } }));
    net.addressOf.set(tab.peerId, '192.168.1.10');
    await until('the liar is banned', () => tab.download.snapshot().peers.some((p) => p.peerId === liar.peerId && p.banned));
    const seeder = track(startPeer(net, content, new MemoryCdn(content.bytes), { store: await seededStore(content), config: { httpDelayMs: 60_000 } }));
    net.addressOf.set(seeder.peerId, '192.168.1.10');
    await waitFor(tab.download, 'complete');
    const s = tab.download.snapshot();
    expect(s.peers.find((p) => p.peerId === seeder.peerId)?.banned).toBe(false);
    expect(s.peers.find((p) => p.peerId === seeder.peerId)?.piecesFrom).toBe(4);
  });
});

describe('a liar pays per origin tag, before any link (LAN and group modes)', () => {
  const flip = (p: Uint8Array) => {
    p[0] = p[0]! ^ 0xff;
    return p;
  };

  /** A liar banned by the tab, then a second ID with the same origin tag; what the tab did. */
  async function secondIdOfOneOrigin(seed: number, config: Partial<ClientConfig>, tags: { liar: string; tab: string }) {
    const content = makeContent(4 * MiB, seed);
    const net = new MemoryNetwork();
    const first = startLiar(net, content, flip, { peerId: '1'.repeat(32) });
    net.originOf.set(first.peerId, tags.liar);
    stops.push(() => first.stop());
    const tab = track(startPeer(net, content, new MemoryCdn(content.bytes), { config: { httpDelayMs: 60_000, ...config } }));
    net.originOf.set(tab.peerId, tags.tab);
    await until('the first liar is banned', () => tab.download.snapshot().peers.some((p) => p.peerId === first.peerId && p.banned));
    // Its next ID, from the same address; an honest seeder with the tab's own tag (the same NAT) comes too.
    const second = startLiar(net, content, flip, { peerId: '2'.repeat(32) });
    net.originOf.set(second.peerId, tags.liar);
    stops.push(() => second.stop());
    const seeder = track(startPeer(net, content, new MemoryCdn(content.bytes), { store: await seededStore(content), config: { httpDelayMs: 60_000, ...config } }));
    net.originOf.set(seeder.peerId, tags.tab);
    await waitFor(tab.download, 'complete');
    await expectRightBytes(tab, content);
    return { net, content, tab, first, second, seeder };
  }

  it('a new peer ID with the tag of a banned liar is refused before any link, banned by the tab alone; the tabs of its own tag are not', async () => {
    const { net, content, tab, first, second, seeder } = await secondIdOfOneOrigin(83, {}, { liar: 'a'.repeat(16), tab: 'b'.repeat(16) });
    // The second ID announces and offers every 200 ms: never a link, never a piece.
    await new Promise((r) => setTimeout(r, 500));
    expect(second.linksWith(tab.peerId)).toBe(0);
    const s = tab.download.snapshot();
    expect(s.peers.find((p) => p.peerId === second.peerId)?.banned).toBe(true);
    expect(s.piecesRejected).toBe(1);
    expect(s.peers.find((p) => p.peerId === seeder.peerId)?.banned).toBe(false);
    expect(s.peers.find((p) => p.peerId === seeder.peerId)?.piecesFrom).toBe(4);
    // Only the ID the tab has evidence against is reported to the service.
    expect(net.bans.get(`${content.contentId}:${tab.peerId}`)).toEqual(new Set([first.peerId]));
  });

  it("a liar with the tab's own tag (one NAT) is banned per ID only: its next ID is linked, and banned at its bad piece", async () => {
    const { tab, second, seeder } = await secondIdOfOneOrigin(84, {}, { liar: 'c'.repeat(16), tab: 'c'.repeat(16) });
    expect(second.linksWith(tab.peerId)).toBe(1);
    const s = tab.download.snapshot();
    expect(s.peers.find((p) => p.peerId === second.peerId)?.banned).toBe(true);
    expect(s.piecesRejected).toBe(2);
    expect(s.peers.find((p) => p.peerId === seeder.peerId)?.banned).toBe(false);
  });

  it('in internet mode tags are not used (peers behind one address may be strangers to each other)', async () => {
    const { tab, second } = await secondIdOfOneOrigin(85, { downloadMode: 'internet' }, { liar: 'd'.repeat(16), tab: 'e'.repeat(16) });
    expect(second.linksWith(tab.peerId)).toBe(1);
    expect(tab.download.snapshot().piecesRejected).toBe(2);
  });
});
