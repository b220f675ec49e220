/**
 * Adversarial swarms in real Chromium: honest browser peers (one context each) share a file
 * with Node peers that speak the real protocol over real WebRTC (test/helpers/node-peer.ts)
 * and lie in one way or another. Every honest peer must finish with the right bytes, ban each
 * liar after exactly its number of strikes (1 for a stranger, a peer that has delivered no
 * verified piece yet; `strikesToBan`, 3, for one that has), never relink with it, and never
 * strike an honest peer. Each Node peer has an address of its own (node-datachannel bound to a
 * 127.0.0.x address): a tab refuses the address of a peer it banned, so liars must not share
 * the honest peers' address.
 *
 * Leechers run with `?httpDelayMs=60000`, so the CDN cannot hide a liar: every piece comes
 * from a peer. The order is fixed so that each liar is certainly asked: each test starts its
 * Node peers, opens the leechers, waits until every leecher has asked each Node peer for 3
 * pieces (or banned it), and only then brings in the honest seeder, so liars and seeder then
 * serve side by side. The seeder is an honest Node peer where it is a leecher's only source,
 * and otherwise a browser tab that got the file from the CDN once (beforeAll) and then left
 * the swarm ("parked": navigated away with seeding off, its pieces kept in IndexedDB); it comes back by
 * reopening the content link, resuming from IndexedDB.
 *
 * The Node peers open with the core's own timing (`eager`); 'wire timing' also forces their
 * first frames to arrive before the browser sees the link open.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { startNodePeer, type Behaviour, type NodePeer } from '../helpers/node-peer.js';
import {
  openLoggedPeer,
  peerEvents,
  peerIdOf,
  savedFileSha256,
  startTestServer,
  stats,
  testContentBytes,
  waitComplete,
  type PeerPage,
  type TestContentBytes,
  type TestSwarmServer,
} from './fixtures.js';
import type { PeerStats, StatsSnapshot } from '../../src/core/stats.js';

const MiB = 1024 * 1024;
/** 13 pieces, the last one short (so index and length checks meet a piece of another size). */
const SIZE = 12 * MiB + 12_345;
const PIECES = 13;
const STRIKES_TO_BAN = 3;
/** Strikes that ban a stranger (a peer that delivered no verified piece yet): probation. */
const STRANGER_STRIKES_TO_BAN = 1;
/** The strikes that ban a liar, as the leecher saw it: 3 once it has delivered a verified piece. */
const strikesToBanOf = (p: PeerStats): number => (p.piecesFrom > 0 ? STRIKES_TO_BAN : STRANGER_STRIKES_TO_BAN);
/** Node peers re-announce this often, so a banned liar keeps knocking at its victims. */
const KNOCK_MS = 1000;
/** Node peers whose pieces are the true ones (they may finish a leecher before the seeder is back). */
const SERVES_VALID_PIECES = new Set<Behaviour>(['honest', 'flood', 'flood-held']);

/** One server, its content, and (for the swarms with several browsers) a browser seeder parked outside the swarm between tests. */
interface Bench {
  swarm: TestSwarmServer;
  content: TestContentBytes;
  seeder: ParkedSeeder | undefined;
}

class ParkedSeeder {
  private loads = 0;
  private constructor(
    readonly peer: PeerPage,
    private readonly swarm: TestSwarmServer,
  ) {}

  /** Opens a tab that downloads the whole file from the CDN, then parks it. */
  static async create(browser: Browser, swarm: TestSwarmServer): Promise<ParkedSeeder> {
    const peer = await openLoggedPeer(browser, `${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
    await waitComplete(peer.page, 60_000);
    const seeder = new ParkedSeeder(peer, swarm);
    await seeder.park();
    return seeder;
  }

  /**
   * The tab leaves the swarm: a page without a content link (its pieces stay in IndexedDB),
   * with the seeding limit at 0, since a page otherwise seeds what its cache holds.
   */
  async park(): Promise<void> {
    await this.peer.page.goto(`${this.swarm.server.url}/?maxSeededContents=0&parked=${++this.loads}`);
  }

  /** The tab reopens the content link: it resumes from IndexedDB, complete, and seeds. Returns its new peer ID. */
  async unpark(): Promise<string> {
    await this.peer.page.goto(`${this.swarm.server.url}/?httpDelayMs=0&seeding=${++this.loads}#c=${this.swarm.contentId}`);
    await waitComplete(this.peer.page, 30_000);
    return peerIdOf(this.peer.page);
  }
}

async function openBench(browser: Browser, seed: number, browserSeeder: boolean): Promise<Bench> {
  const swarm = await startTestServer(SIZE, seed);
  const content = await testContentBytes(swarm, seed);
  const seeder = browserSeeder ? await ParkedSeeder.create(browser, swarm) : undefined;
  return { swarm, content, seeder };
}

async function closeBench(bench: Bench | undefined): Promise<void> {
  await bench?.seeder?.peer.context.close();
  await bench?.swarm.close();
}

/** What one test opened, closed whatever happens. */
class Cleanup {
  private readonly pages: PeerPage[] = [];
  private readonly nodes: NodePeer[] = [];
  page(p: PeerPage): PeerPage {
    this.pages.push(p);
    return p;
  }
  node(n: NodePeer): NodePeer {
    this.nodes.push(n);
    return n;
  }
  async run(bench: Bench | undefined): Promise<void> {
    await Promise.all(this.pages.map((p) => p.context.close().catch(() => undefined)));
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => undefined)));
    await bench?.seeder?.park().catch(() => undefined);
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Node peer of the suite, opening with the core's own timing unless told otherwise. */
function nodePeer(bench: Bench, behaviour: Behaviour, handshake: 'polite' | 'eager' | 'hasty' = 'eager', honestFirst = 0): Promise<NodePeer> {
  return startNodePeer({
    serverUrl: bench.swarm.server.url,
    contentId: bench.swarm.contentId,
    metadata: bench.content.metadata,
    fileBytes: bench.content.fileBytes,
    behaviour,
    handshake,
    honestFirst,
    announceEveryMs: KNOCK_MS,
  });
}

function leecherUrl(bench: Bench): string {
  return `${bench.swarm.server.url}/?httpDelayMs=60000#c=${bench.swarm.contentId}`;
}

function peerIn(s: StatsSnapshot, peerId: string, who: string): PeerStats {
  const p = s.peers.find((x) => x.peerId === peerId);
  expect(p, `${who} (${peerId.slice(0, 8)}) in the leecher's stats`).toBeDefined();
  return p!;
}

/** The download's scheduler state (Download.diagnostics()), for a stalled leecher's evidence. */
function leecherInternals(page: Page): Promise<unknown> {
  return page.evaluate(() => window.tabswarm.current()?.download.diagnostics());
}

interface LeecherResult {
  peerId: string;
  stats: StatsSnapshot;
  seconds: number;
}

/**
 * - `gated` (the tests): Node peers first, then the leechers, the gate (every leecher asked every
 *   Node peer for >= 3 pieces, or banned it), then the honest seeder; so every liar is asked.
 * - `seeder-first` (timing only): the seeder, then the Node peers, then the leechers, no gate;
 *   a liar may then be asked little or nothing.
 * The seeder is the bench's browser seeder, or else an honest Node peer started then.
 */
type Order = 'gated' | 'seeder-first';

interface SwarmRun {
  nodes: NodePeer[];
  leechers: PeerPage[];
  seederId: string;
  results: LeecherResult[];
  seconds: number;
}

/** Waits until every leecher asked every Node peer for 3 pieces, or banned it (garbage needs a single request). */
async function gate(nodes: NodePeer[], leechers: PeerPage[], leecherIds: string[]): Promise<void> {
  try {
    await until('every leecher asked every Node peer for 3 pieces or banned it', async () => {
      const logs = await Promise.all(leechers.map((l) => peerEvents(l.page)));
      return nodes.every((n) => leecherIds.every((id, i) => n.requestsFrom(id) >= 3 || logs[i]!.bans.some((b) => b.peerId === n.peerId)));
    });
  } catch (e) {
    const views = await Promise.all(leechers.map((l) => leecherInternals(l.page).catch((x: unknown) => String(x))));
    const asked = nodes.map((n) => `${n.behaviour} ${n.peerId.slice(0, 8)} asked ${leecherIds.map((id) => n.requestsFrom(id)).join('/')}, linked to ${n.linkedPeers().map((x) => x.slice(0, 8)).join(',')}`);
    throw new Error(`${(e as Error).message}: ${asked.join('; ')}; leechers ${leecherIds.map((x) => x.slice(0, 8)).join(',')} see ${JSON.stringify(views)}`);
  }
}

/** Runs a swarm in `order` and waits until every leecher completes. */
async function runSwarm(
  bench: Bench,
  browser: Browser,
  cleanup: Cleanup,
  behaviours: Behaviour[],
  leecherCount: number,
  order: Order = 'gated',
  honestFirst = 0,
): Promise<SwarmRun> {
  const extra: NodePeer[] = [];
  const startSeeder = async (): Promise<string> => {
    if (bench.seeder) return bench.seeder.unpark();
    const seeder = cleanup.node(await nodePeer(bench, 'honest'));
    extra.push(seeder);
    return seeder.peerId;
  };
  const early = order === 'seeder-first' ? await startSeeder() : undefined;
  const nodes: NodePeer[] = [];
  for (const b of behaviours) nodes.push(cleanup.node(await nodePeer(bench, b, 'eager', honestFirst)));
  const t0 = Date.now();
  const leechers = await Promise.all(Array.from({ length: leecherCount }, async () => cleanup.page(await openLoggedPeer(browser, leecherUrl(bench)))));
  const leecherIds = await Promise.all(leechers.map((l) => peerIdOf(l.page)));
  if (process.env.DEBUG) console.log(`${new Date().toISOString().slice(11, 23)} leechers ${leecherIds.join(', ')}; node peers ${nodes.map((n) => `${n.behaviour} ${n.peerId}`).join(', ')}`);
  if (early === undefined) await gate(nodes, leechers, leecherIds);
  const seederId = early ?? (await startSeeder());
  if (process.env.DEBUG) console.log(`${new Date().toISOString().slice(11, 23)} seeder back as ${seederId}`);
  const results = await Promise.all(
    leechers.map(async (l, i) => {
      try {
        await waitComplete(l.page, 30_000);
      } catch (e) {
        throw new Error(
          `leecher ${leecherIds[i]} did not complete: ${(e as Error).message.split('\n')[0]}; seeder ${seederId}; ` +
            `its scheduler: ${JSON.stringify(await leecherInternals(l.page))}; its stats: ${JSON.stringify(await stats(l.page))}; ` +
            `its events: ${JSON.stringify(await peerEvents(l.page))}; ` +
            `Node peers: ${[...nodes, ...extra].map((n) => `${n.behaviour} ${n.peerId.slice(0, 8)} ${n.crashed ? `crashed (${n.crashed})` : 'running'}`).join(', ')}` +
            (bench.seeder ? `; the seeder's stats: ${JSON.stringify(await stats(bench.seeder.peer.page))}` : ''),
        );
      }
      const seconds = (Date.now() - t0) / 1000;
      // A flood does not stand in the way of completion: its strikes may land just after the
      // last piece. Gated, every liar was asked, so its ban must come; wait for it (bounded)
      // before the snapshot the tests read, instead of racing it.
      if (order === 'gated') {
        const liars = nodes.filter((n) => n.behaviour !== 'honest');
        // A timeout is not thrown here: the tests' ban assertions then fail with the evidence.
        await until('every lying Node peer banned', async () => {
          const log = await peerEvents(l.page);
          return liars.every((n) => log.bans.some((b) => b.peerId === n.peerId));
        }).catch(() => undefined);
      }
      return { peerId: leecherIds[i]!, stats: await stats(l.page), seconds };
    }),
  );
  await Promise.all([...nodes, ...extra].map((n) => n.sync()));
  noteCrashes([...nodes, ...extra]);
  return { nodes, leechers, seederId, results, seconds: Math.max(...results.map((r) => r.seconds)) };
}

/** A Node peer whose process died on its own (the native WebRTC module) is noted, not hidden. */
function noteCrashes(nodes: NodePeer[]): void {
  for (const n of nodes) {
    if (n.crashed) {
      console.warn(`node peer ${n.behaviour} ${n.peerId} crashed (${n.crashed})`);
      test.info().annotations.push({ type: 'node peer crashed', description: `${n.behaviour} ${n.peerId}: ${n.crashed}` });
    }
  }
}

/** Every leecher: the right bytes, all of them from peers, and the honest peers never struck. */
async function expectHonestOutcome(bench: Bench, run: SwarmRun): Promise<void> {
  for (const [i, l] of run.leechers.entries()) {
    const r = run.results[i]!;
    expect(await savedFileSha256(l.page), `leecher ${i + 1}'s saved file`).toBe(bench.swarm.fileSha256);
    expect(r.stats.bytesFromCdn, `leecher ${i + 1} took nothing from the CDN`).toBe(0);
    expect(r.stats.piecesFromPeers).toBe(PIECES);
    // Where no Node peer delivers valid pieces, the seeder (or the other leecher) must have.
    const seeder = r.stats.peers.find((x) => x.peerId === run.seederId);
    if (run.nodes.every((n) => !SERVES_VALID_PIECES.has(n.behaviour))) {
      expect(seeder?.piecesFrom ?? 0, `leecher ${i + 1}: pieces from the honest seeder`).toBeGreaterThan(0);
    }
    expect(seeder?.strikes ?? 0, `leecher ${i + 1}: strikes against the honest seeder`).toBe(0);
    expect(seeder?.banned ?? false).toBe(false);
    for (const other of run.results) {
      if (other === r) continue;
      const p = r.stats.peers.find((x) => x.peerId === other.peerId);
      expect(p?.strikes ?? 0, `leecher ${i + 1}: strikes against the other (honest) leecher`).toBe(0);
      expect(p?.banned ?? false).toBe(false);
    }
    const log = await peerEvents(l.page);
    const liars = new Set(run.nodes.filter((n) => n.behaviour !== 'honest').map((n) => n.peerId));
    const struckHonest = log.strikes.filter((s) => !liars.has(s.peerId));
    expect(struckHonest, `leecher ${i + 1}: strikes against honest peers`).toEqual([]);
    const rejectedHonest = log.rejected.filter((x) => !liars.has(x.source));
    expect(rejectedHonest, `leecher ${i + 1}: pieces from honest peers rejected`).toEqual([]);
    expect(log.rejected.length, `leecher ${i + 1}: rejected events vs piecesRejected`).toBe(r.stats.piecesRejected);
  }
}

/** One leecher's view of one liar: banned at exactly its strikes (1 or 3), once, and never relinked. */
async function expectBanned(leecher: PeerPage, r: LeecherResult, liar: NodePeer): Promise<void> {
  const what = `leecher ${r.peerId.slice(0, 8)} vs ${liar.behaviour} liar ${liar.peerId.slice(0, 8)}`;
  const p = peerIn(r.stats, liar.peerId, `the ${liar.behaviour} liar`);
  const log = await peerEvents(leecher.page);
  const evidence = `strikes ${JSON.stringify(log.strikes.filter((s) => s.peerId === liar.peerId).map((s) => s.reason))}, timeouts ${p.timeouts}, requests it got ${liar.requestsFrom(r.peerId)}, piecesFrom ${p.piecesFrom}`;
  expect.soft(p.banned, `${what}: banned (${evidence})`).toBe(true);
  expect.soft(p.strikes, `${what}: strikes (${evidence})`).toBe(strikesToBanOf(p));
  expect.soft(log.bans.filter((b) => b.peerId === liar.peerId).length, `${what}: ban events`).toBe(1);
  expect.soft(p.connected, `${what}: still connected`).toBe(false);
  // The liar re-announces every second and offers again; a banned peer is never relinked.
  // A liar whose process died (the native WebRTC module, noted by noteCrashes) relinks nothing
  // and may have died before reporting its link: the ban above is then all there is to check.
  if (liar.crashed) return;
  const bannedAt = log.bans.find((b) => b.peerId === liar.peerId)?.at ?? Infinity;
  const opens = liar.linkOpensWith(r.peerId);
  expect.soft(opens.length, `${what}: data channels opened`).toBeGreaterThanOrEqual(1);
  expect.soft(opens.filter((t) => t > bannedAt), `${what}: data channels opened after the ban`).toEqual([]);
}

// -------------------------------------------------------------------------------------------

// The seeder is an honest Node peer here: it is the leecher's only source once the liar is
// banned, and a browser seeder's link can lose its 'ready' (see 'wire timing'), which would
// leave the leecher waiting for the 60 s HTTP delay.
test.describe('one liar, one honest seeder, one leecher', () => {
  let bench: Bench | undefined;
  let cleanup: Cleanup;
  test.beforeAll(async ({ browser }) => {
    bench = await openBench(browser, 41, false);
  });
  test.afterAll(async () => closeBench(bench));
  test.beforeEach(() => {
    cleanup = new Cleanup();
  });
  test.afterEach(async () => cleanup.run(bench));

  /**
   * What the leecher's snapshot must show besides the ban. `rejected`: 'zero' when no piece can
   * reach verification (the frames are refused first, or the pieces are true), 'hash' when
   * pieces fail SHA-256: then at least the hash-failure strikes and at most the requests the
   * liar got (pieces already received when the last strike bans it are verified and rejected
   * too, so the exact number races the worker). Strikes are always exactly those that ban it
   * (1 for a stranger, 3 for a peer that delivered a good piece): a banned peer gets no more.
   */
  const cases: Array<{ behaviour: Behaviour; rejected: 'zero' | 'hash'; honestFirst?: number }> = [
    // Every piece it answers fails SHA-256: a strike per piece. Pieces already received when
    // the 3rd failure bans it are still verified and discarded, so rejected >= 3.
    { behaviour: 'flip', rejected: 'hash' },
    // The last chunk never comes: the next piece's first chunk shows the cut (a violation each).
    // A stranger is asked one piece at a time, so there is no next piece to show it: that one
    // is dropped at its deadline (test/e2e/hostage.spec.ts, half-then-silent). Here the liar
    // serves two pieces honestly first, is trusted, asked for several at once, and banned at 3.
    { behaviour: 'truncate', rejected: 'zero', honestFirst: 2 },
    // The last chunk runs past the piece: the decoder refuses the frame (a violation each).
    { behaviour: 'oversize', rejected: 'zero' },
    // Frames labelled with the next index: a piece never requested (violation) or, when that
    // index is also pending with the liar, a piece filled with the wrong bytes (hash failure).
    { behaviour: 'wrong-index', rejected: 'hash' },
    // Random frames: each one is malformed (a violation each); nothing reaches verification.
    { behaviour: 'garbage', rejected: 'zero' },
    // 10,000 REQUESTs the moment the leecher's bitfield arrives (it holds nothing yet); honest pieces.
    { behaviour: 'flood', rejected: 'zero' },
    // 10,000 REQUESTs for pieces the leecher holds, once it holds one; honest pieces.
    { behaviour: 'flood-held', rejected: 'zero' },
  ];

  for (const c of cases) {
    test(`${c.behaviour}: the leecher completes with the right bytes and bans the liar (1 strike for a stranger, 3 after a good piece)`, async ({ browser }) => {
      const b = bench!;
      const run = await runSwarm(b, browser, cleanup, [c.behaviour], 1, 'gated', c.honestFirst);
      const liar = run.nodes[0]!;
      const r = run.results[0]!;
      const log = await peerEvents(run.leechers[0]!.page);
      const p = peerIn(r.stats, liar.peerId, 'the liar');
      console.log(
        `${c.behaviour}: ${r.seconds.toFixed(1)} s, rejected ${r.stats.piecesRejected}, banned ${r.stats.peersBanned}, liar strikes ${p.strikes} ` +
          `(${[...new Set(log.strikes.map((s) => s.reason.replace(/\d+/g, '#')))].join('; ')}), liar timeouts ${p.timeouts}, ` +
          `requests to liar ${liar.requestsFrom(r.peerId)}, liar frames sent ${liar.stats.framesSent}, liar saw ${liar.stats.violationsSeen} violations`,
      );
      await expectHonestOutcome(b, run);
      await expectBanned(run.leechers[0]!, r, liar);
      expect(r.stats.peersBanned, 'peers banned').toBe(1);
      if (c.rejected === 'zero') {
        expect(r.stats.piecesRejected, 'pieces rejected').toBe(0);
      } else {
        // All from the liar (checked above), each one also a strike until the ban, so at least
        // as many as the strikes that were hash failures, at most as many as it was asked for.
        const hashStrikes = log.strikes.filter((s) => s.peerId === liar.peerId && /SHA-256|has \d+ bytes$/.test(s.reason)).length;
        expect(r.stats.piecesRejected).toBeGreaterThanOrEqual(hashStrikes);
        expect(r.stats.piecesRejected).toBeLessThanOrEqual(liar.requestsFrom(r.peerId));
        if (c.behaviour === 'flip') expect(r.stats.piecesRejected, 'flip: every strike is a hash failure').toBeGreaterThanOrEqual(STRANGER_STRIKES_TO_BAN);
      }
      if (c.behaviour !== 'flood' && c.behaviour !== 'flood-held') expect(p.piecesFrom, 'valid pieces from the liar').toBe(c.honestFirst ?? 0);
    });
  }
});

// -------------------------------------------------------------------------------------------

test.describe('wire timing', () => {
  let bench: Bench | undefined;
  let cleanup: Cleanup;
  test.beforeAll(async ({ browser }) => {
    bench = await openBench(browser, 43, false);
  });
  test.afterAll(async () => closeBench(bench));
  test.beforeEach(() => {
    cleanup = new Cleanup();
  });
  test.afterEach(async () => cleanup.run(bench));

  // The protocol has each side send HANDSHAKE and BITFIELD as soon as its side of the channel
  // opens, and the core's own PeerSession does (`eager`). When those frames beat simple-peer's
  // 'connect' on the browser side they wait in the link's early buffer and reach the new
  // PeerSession inside its constructor, which emits 'ready' before Download.onLink subscribes.
  // The peer is then never asked for anything (availability stays 0) until some other event
  // runs the scheduler; here, with the only peer and no CDN for 60 s, nothing does.
  // Unforced, the race goes either way (from never to about half the time in this sandbox,
  // browser-to-browser links included); the leecher's getStats() is slowed by 300 ms so that
  // its 'connect' is certainly late, as on a loaded machine.
  test('an honest peer whose handshake arrives before the leecher sees the link open is asked for pieces', async ({ browser }) => {
    const b = bench!;
    const peer = cleanup.node(await nodePeer(b, 'honest', 'eager'));
    const leecher = cleanup.page(await openLoggedPeer(browser, leecherUrl(b), { slowGetStatsMs: 300 }));
    const leecherId = await peerIdOf(leecher.page);
    try {
      await until('the leecher asked its only peer for a piece', () => peer.requestsFrom(leecherId) > 0, 10_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; the Node peer is linked to ${peer.linkedPeers().join(',')}; the leecher's scheduler: ${JSON.stringify(await leecherInternals(leecher.page))}`);
    }
    await waitComplete(leecher.page, 30_000);
    const s = await stats(leecher.page);
    expect(s.bytesFromCdn).toBe(0);
    expect(peerIn(s, peer.peerId, 'the peer').piecesFrom).toBe(PIECES);
    expect(await savedFileSha256(leecher.page)).toBe(b.swarm.fileSha256);
  });
});

// -------------------------------------------------------------------------------------------

interface TimingRow {
  swarm: string;
  order: Order;
  'rejected (per leecher)': string;
  'banned (per leecher)': string;
  'strikes on the Node peer': string;
  seconds: number;
}
const timings: TimingRow[] = [];

function timingRow(run: SwarmRun, order: Order): TimingRow {
  const node = run.nodes[0]!;
  return {
    swarm: `seeder + ${node.behaviour === 'honest' ? 'honest Node peer' : `${node.behaviour} liar`} + ${run.leechers.length} leechers`,
    order,
    'rejected (per leecher)': run.results.map((r) => r.stats.piecesRejected).join(', '),
    'banned (per leecher)': run.results.map((r) => r.stats.peersBanned).join(', '),
    'strikes on the Node peer': run.results.map((r) => r.stats.peers.find((p) => p.peerId === node.peerId)?.strikes ?? 0).join(', '),
    seconds: +run.seconds.toFixed(2),
  };
}

test.describe('swarms with several honest peers', () => {
  let bench: Bench | undefined;
  let cleanup: Cleanup;
  test.beforeAll(async ({ browser }) => {
    bench = await openBench(browser, 42, true);
  });
  test.afterAll(async () => closeBench(bench));
  test.beforeEach(() => {
    cleanup = new Cleanup();
  });
  test.afterEach(async () => cleanup.run(bench));

  test('one liar among three peers: both leechers ban it at its first bad piece (a stranger)', async ({ browser }) => {
    const b = bench!;
    const run = await runSwarm(b, browser, cleanup, ['flip'], 2);
    timings.push(timingRow(run, 'gated'));
    const liar = run.nodes[0]!;
    await expectHonestOutcome(b, run);
    for (const [i, r] of run.results.entries()) {
      await expectBanned(run.leechers[i]!, r, liar);
      expect(r.stats.peersBanned, `leecher ${i + 1}: peers banned`).toBe(1);
      expect(r.stats.piecesRejected, `leecher ${i + 1}: pieces rejected`).toBeGreaterThanOrEqual(STRANGER_STRIKES_TO_BAN);
      expect(peerIn(r.stats, liar.peerId, 'the liar').piecesFrom).toBe(0);
    }
    // The seeder answered no request from the liar and was asked for nothing it lacks.
    const seederStats = await stats(b.seeder!.peer.page);
    expect(seederStats.piecesRejected).toBe(0);
    expect(seederStats.peersBanned).toBe(0);
  });

  test('half the peers lying: 3 liars among 6, each banned by each leecher', async ({ browser }) => {
    const b = bench!;
    const run = await runSwarm(b, browser, cleanup, ['flip', 'garbage', 'wrong-index'], 2);
    await expectHonestOutcome(b, run);
    for (const [i, r] of run.results.entries()) {
      for (const liar of run.nodes) await expectBanned(run.leechers[i]!, r, liar);
      expect(r.stats.peersBanned, `leecher ${i + 1}: peers banned`).toBe(3);
    }
    const seederStats = await stats(b.seeder!.peer.page);
    expect(seederStats.piecesRejected).toBe(0);
    expect(seederStats.peersBanned).toBe(0);
    expect(await savedFileSha256(b.seeder!.peer.page), "the seeder's own file").toBe(b.swarm.fileSha256);
  });

  test('timing: the one-liar swarm beside the same swarm with an honest Node peer', async ({ browser }) => {
    const b = bench!;
    const measure = async (behaviour: Behaviour, order: Order): Promise<SwarmRun> => {
      const run = await runSwarm(b, browser, cleanup, [behaviour], 2, order);
      timings.push(timingRow(run, order));
      await expectHonestOutcome(b, run);
      await cleanup.run(b);
      cleanup = new Cleanup();
      return run;
    };
    // The one-liar test's row is there unless it ran in another worker (it failed).
    if (!timings.some((t) => t.swarm.includes('liar') && t.order === 'gated')) await measure('flip', 'gated');
    const honest = await measure('honest', 'gated');
    await measure('flip', 'seeder-first');
    await measure('honest', 'seeder-first');
    console.log(
      `completion of ${honest.leechers.length} browser leechers, ${(SIZE / MiB).toFixed(2)} MiB (${PIECES} pieces), from opening them to the last one complete;\n` +
        `gated: Node peer and leechers first, the seeder back once the Node peer was asked for 3 pieces; seeder-first: everyone present from the start`,
    );
    console.table(timings);
    for (const r of honest.results) expect(r.stats.piecesRejected).toBe(0);
  });
});
