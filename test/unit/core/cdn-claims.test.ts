/**
 * A big swarm's CDN fetches, asked of the Arrays service and heard back (docs/protocol.md, "CDN
 * slots"), with real core Downloads over the memory network and CDN: a tab asks to fetch the
 * pieces of its slot and fetches those granted (and those unanswered after `claimGrantWaitMs`);
 * a piece the swarm fetched is not fetched again by its slot's owner, but comes from peers; a tab
 * whose peers deliver nothing falls back to the CDN at once for pieces the swarm has not
 * fetched, asked and granted as its own are, and for the others only after `fetchedStallMs`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cdnShareOfSlot } from '../../../src/core/cdn-share.js';
import type { ClientConfig } from '../../../src/core/config.js';
import type { CdnSlot } from '../../../src/protocol/arrays-messages.js';
import { encodeFetched, slotOwnerOf } from '../../../src/protocol/cdn-slots.js';
import { makeContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryNetwork } from '../../helpers/memory-network.js';
import { seededStore, startPeer, storedBytes, waitFor, type SimPeer } from '../../helpers/sim-peer.js';

const MiB = 1024 * 1024;
const PIECES = 16;
/** A swarm of 40 downloaders: big for tabs of 16 links (more than twice). */
const OF = 40;
const running: SimPeer[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.download.stop();
});

/** Slot `slot`'s pieces. */
const ownedBy = (slot: number) => Array.from({ length: PIECES }, (_, i) => i).filter((i) => slotOwnerOf(i, OF) === slot);
/** A slot that owns at least two of the pieces. */
const SLOT = Array.from({ length: OF }, (_, s) => s).find((s) => ownedBy(s).length >= 2)!;
const bitmapOf = (pieces: number[]) => {
  const bits = new Uint8Array(PIECES / 8);
  for (const i of pieces) bits[i >> 3]! |= 0x80 >> (i & 7);
  return encodeFetched(bits);
};

/** Timings for a test: the CDN after 100 ms, no stall fallback within the test, and no pacing of first copies (a tab alone never sends one). */
const CONFIG: Partial<ClientConfig> = { httpDelayMs: 100, maxPeers: 16, peerStallMs: 60_000, fetchedStallMs: 60_000, firstCopyPaceMs: 0 };

/** The CDN's pieces of a tab, by arrival, with the milliseconds since `t0`. */
function cdnPieces(tab: SimPeer, t0: number): Array<{ index: number; ms: number }> {
  const got: Array<{ index: number; ms: number }> = [];
  tab.download.events.on('piece', (p) => {
    if (p.kind === 'cdn') got.push({ index: p.index, ms: Date.now() - t0 });
  });
  return got;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a big swarm's CDN fetches, told to the service", () => {
  it('(the cases below have a slot with pieces of its own)', () => {
    expect(ownedBy(SLOT).length).toBeGreaterThanOrEqual(2);
  });

  it("a tab asks the service for its slot's pieces at once, and fetches them once granted", async () => {
    const content = makeContent(PIECES * MiB, 82);
    const net = new MemoryNetwork();
    net.cdnSlotOf = (): CdnSlot => ({ slot: SLOT, of: OF });
    const tab = startPeer(net, content, new MemoryCdn(content.bytes), { config: CONFIG });
    running.push(tab);
    const got = cdnPieces(tab, Date.now());
    const mine = ownedBy(SLOT);
    const end = Date.now() + 5000;
    while ((net.cdnClaims.get(tab.peerId)?.length ?? 0) < mine.length && Date.now() < end) await sleep(20);
    expect([...new Set(net.cdnClaims.get(tab.peerId))].sort((a, b) => a - b)).toEqual(mine);
    await sleep(300);
    // Only its own pieces: the others wait for peers (or a stall, 60 s away here).
    expect(got.map((p) => p.index).sort((a, b) => a - b)).toEqual(mine);
  });

  it('with no peer to pass a first copy to, asks for the next piece of its slot only after firstCopyPaceMs', async () => {
    const content = makeContent(PIECES * MiB, 86);
    const net = new MemoryNetwork();
    net.cdnSlotOf = (): CdnSlot => ({ slot: SLOT, of: OF });
    const firstCopyPaceMs = 700;
    const tab = startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...CONFIG, firstCopyPaceMs } });
    running.push(tab);
    const got = cdnPieces(tab, Date.now());
    const mine = ownedBy(SLOT);
    const end = Date.now() + 5000;
    while (got.length < 2 && Date.now() < end) await sleep(20);
    expect(new Set(got.map((p) => p.index)).size).toBe(2);
    expect(got.every((p) => mine.includes(p.index))).toBe(true);
    // One at a time: the second was asked for once the first had waited its pace.
    expect(got[1]!.ms - got[0]!.ms).toBeGreaterThanOrEqual(firstCopyPaceMs - 50);
  });

  it('fetches only what the service grants: a piece granted to another owner first is left to peers', async () => {
    const content = makeContent(PIECES * MiB, 84);
    const mine = ownedBy(SLOT);
    const [granted, ...refused] = mine;
    const net = new MemoryNetwork();
    // Another owner (the slot's owner before the swarm grew) was granted the rest first: the
    // reply that refuses them shows them fetched.
    let refusedOnce = false;
    net.cdnSlotOf = (): CdnSlot => ({ slot: SLOT, of: OF, ...(refusedOnce ? { fetched: bitmapOf(refused) } : {}) });
    net.cdnGrant = (_, pieces) => {
      if (pieces.some((i) => refused.includes(i))) refusedOnce = true;
      return pieces.filter((i) => i === granted);
    };
    const tab = startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...CONFIG, claimGrantWaitMs: 500 } });
    running.push(tab);
    const got = cdnPieces(tab, Date.now());
    const end = Date.now() + 5000;
    while (got.length === 0 && Date.now() < end) await sleep(20);
    // Past the wait for an answer: what was refused is not fetched, and not asked again.
    await sleep(1000);
    expect(got.map((p) => p.index)).toEqual([granted]);
    expect([...new Set(net.cdnClaims.get(tab.peerId))].sort((a, b) => a - b)).toEqual(mine);
    expect(net.cdnClaims.get(tab.peerId)).toHaveLength(mine.length);
    expect(refused.length).toBeGreaterThan(0);
  });

  it('fetches the pieces it asked for when the service does not answer within claimGrantWaitMs', async () => {
    const content = makeContent(PIECES * MiB, 85);
    const net = new MemoryNetwork();
    net.cdnSlotOf = (): CdnSlot => ({ slot: SLOT, of: OF });
    net.cdnGrant = () => undefined;
    const claimGrantWaitMs = 800;
    const tab = startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...CONFIG, claimGrantWaitMs } });
    running.push(tab);
    const t0 = Date.now();
    const got = cdnPieces(tab, t0);
    const mine = ownedBy(SLOT);
    const end = Date.now() + 5000;
    while (got.length < mine.length && Date.now() < end) await sleep(20);
    expect(got.map((p) => p.index).sort((a, b) => a - b)).toEqual(mine);
    // Asked after the HTTP delay (100 ms), then the wait.
    for (const p of got) expect(p.ms).toBeGreaterThanOrEqual(claimGrantWaitMs);
  });

  it("does not fetch again the pieces the swarm fetched: they come from a peer (the control, without the service's word, fetches them)", async () => {
    const content = makeContent(PIECES * MiB, 82);
    const mine = ownedBy(SLOT);
    async function run(told: boolean): Promise<{ fromCdn: number[]; tab: SimPeer }> {
      const net = new MemoryNetwork();
      net.cdnSlotOf = (): CdnSlot => ({ slot: SLOT, of: OF, ...(told ? { fetched: bitmapOf(mine) } : {}) });
      const tab = startPeer(net, content, new MemoryCdn(content.bytes), { config: CONFIG });
      running.push(tab);
      const got = cdnPieces(tab, Date.now());
      // The peer that holds the file comes a second later.
      await sleep(1000);
      const seeder = startPeer(net, content, new MemoryCdn(content.bytes), { store: await seededStore(content), config: CONFIG });
      running.push(seeder);
      await waitFor(tab.download, 'complete');
      return { fromCdn: got.map((p) => p.index).sort((a, b) => a - b), tab };
    }
    const control = await run(false);
    expect(control.fromCdn).toEqual(mine);
    const told = await run(true);
    expect(told.fromCdn).toEqual([]);
    expect(Buffer.from(await storedBytes(told.tab, content)).equals(Buffer.from(content.bytes))).toBe(true);
  });

  it('with peers silent, falls back to the CDN for the pieces the swarm has not fetched, and for the others only after fetchedStallMs', async () => {
    const content = makeContent(PIECES * MiB, 83);
    const share = cdnShareOfSlot(SLOT, OF, PIECES, 16);
    // The pieces of the slot's fallback group (one of two: 40 slots of 16 links), not its own.
    const group = Array.from({ length: PIECES }, (_, i) => i).filter((i) => share.fallback!(i) && !share.ours(i));
    const fetched = group.filter((_, k) => k % 2 === 0);
    const unfetched = group.filter((_, k) => k % 2 === 1);
    expect(fetched.length).toBeGreaterThan(0);
    expect(unfetched.length).toBeGreaterThan(0);
    const net = new MemoryNetwork();
    net.cdnSlotOf = (): CdnSlot => ({ slot: SLOT, of: OF, fetched: bitmapOf([...fetched, ...ownedBy(SLOT)]) });
    const [peerStallMs, fetchedStallMs] = [500, 2500];
    const tab = startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...CONFIG, peerStallMs, fetchedStallMs } });
    running.push(tab);
    const got = cdnPieces(tab, Date.now());
    const end = Date.now() + 15_000;
    while (!group.every((i) => got.some((p) => p.index === i)) && Date.now() < end) await sleep(50);
    await sleep(300);
    // The group's pieces, and no other: there are no peers, and the rest is other groups' to fetch.
    expect(got.map((p) => p.index).sort((a, b) => a - b)).toEqual(group);
    for (const p of got) if (fetched.includes(p.index)) expect(p.ms).toBeGreaterThanOrEqual(fetchedStallMs);
    const firstOfSwarm = Math.min(...got.filter((p) => fetched.includes(p.index)).map((p) => p.ms));
    const lastOfOthers = Math.max(...got.filter((p) => unfetched.includes(p.index)).map((p) => p.ms));
    expect(lastOfOthers).toBeLessThan(firstOfSwarm);
    // Those the swarm had not fetched were asked for first (and granted); the others never.
    const asked = new Set(net.cdnClaims.get(tab.peerId));
    expect(unfetched.every((i) => asked.has(i))).toBe(true);
    expect(fetched.some((i) => asked.has(i))).toBe(false);
  });

  it('with peers silent, leaves to fetchedStallMs a piece of its fallback group that the service refuses (another tab was granted it first)', async () => {
    const content = makeContent(PIECES * MiB, 87);
    const share = cdnShareOfSlot(SLOT, OF, PIECES, 16);
    const group = Array.from({ length: PIECES }, (_, i) => i).filter((i) => share.fallback!(i) && !share.ours(i));
    const [taken, ...free] = group;
    expect(free.length).toBeGreaterThan(0);
    const net = new MemoryNetwork();
    // Our own pieces are the swarm's already; the group's first piece goes to another tab
    // between our view and our ask: the reply that refuses it shows it fetched.
    let refused = false;
    net.cdnSlotOf = (): CdnSlot => ({ slot: SLOT, of: OF, fetched: bitmapOf([...ownedBy(SLOT), ...(refused ? [taken!] : [])]) });
    net.cdnGrant = (_, pieces) => {
      if (pieces.includes(taken!)) refused = true;
      return pieces.filter((i) => i !== taken);
    };
    const [peerStallMs, fetchedStallMs] = [500, 3000];
    const tab = startPeer(net, content, new MemoryCdn(content.bytes), { config: { ...CONFIG, peerStallMs, fetchedStallMs, claimGrantWaitMs: 500 } });
    running.push(tab);
    const got = cdnPieces(tab, Date.now());
    const end = Date.now() + 15_000;
    while (!group.every((i) => got.some((p) => p.index === i)) && Date.now() < end) await sleep(50);
    expect(net.cdnClaims.get(tab.peerId)).toContain(taken);
    expect(got.map((p) => p.index).sort((a, b) => a - b)).toEqual(group);
    // Refused, it waited for the swarm as any piece the swarm fetched: past the wait for an answer.
    expect(got.find((p) => p.index === taken)!.ms).toBeGreaterThanOrEqual(fetchedStallMs);
    for (const p of got) if (p.index !== taken) expect(p.ms).toBeLessThan(fetchedStallMs);
  });
});

describe("cdnShareOfSlot with the swarm's fetched pieces", () => {
  it('leaves out of our share what the swarm fetched, and says which those are', () => {
    const fetched = new Uint8Array([0xf0, 0x0f]);
    const shares = Array.from({ length: OF }, (_, s) => cdnShareOfSlot(s, OF, PIECES, 16, fetched));
    const plain = Array.from({ length: OF }, (_, s) => cdnShareOfSlot(s, OF, PIECES, 16));
    for (let i = 0; i < PIECES; i++) {
      const inSwarm = (fetched[i >> 3]! & (0x80 >> (i & 7))) !== 0;
      expect(shares.filter((sh) => sh.ours(i))).toHaveLength(inSwarm ? 0 : 1);
      expect(shares.every((sh) => sh.fetched!(i) === inSwarm)).toBe(true);
      // Without the service's word, every piece has its owner; the fallback groups are the same.
      expect(plain.filter((sh) => sh.ours(i))).toHaveLength(1);
      expect(plain.every((sh) => sh.fetched!(i) === false)).toBe(true);
      expect(shares.map((sh) => sh.fallback!(i))).toEqual(plain.map((sh) => sh.fallback!(i)));
    }
  });
});
