/**
 * Liars pay per person, not per peer ID (signaling/address-guard.ts, through the Arrays
 * service): new peer IDs per address and content are rate limited, and an address whose peer
 * IDs peers of other addresses keep banning is quarantined for that content. Sockets are put
 * behind test addresses by the harness (all of them private, so all in one LAN partition, as
 * on a school's network).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startArrays, type ArraysHarness } from './arrays-harness.js';
import { peerId, sha256Hex, type AnyMessage, type TestClient } from './helpers.js';

const OFFER = { type: 'offer', sdp: 'v=0\r\n' } as const;
const CONTENT = sha256Hex(new TextEncoder().encode('liars-content'));
const OTHER = sha256Hex(new TextEncoder().encode('liars-other'));
/** New peer IDs one address may bring into one swarm at once, in these tests. */
const BURST = 6;

describe('Arrays: per-address limits on peer IDs, and quarantine', () => {
  let harness: ArraysHarness;
  const clients: TestClient[] = [];

  /** Connects from `address`, announces as test peer `n`; `peers`: the IDs listed, or the error. */
  async function join(address: string, n: number, contentId = CONTENT, left = 1000): Promise<{ client: TestClient; peerId: string; peers: string[] | AnyMessage }> {
    const client = await harness.connect(address);
    clients.push(client);
    client.announce(contentId, peerId(n), { left, peersWanted: 50 });
    const reply = await client.next();
    return { client, peerId: peerId(n), peers: reply.type === 'peers' ? (reply.peers as Array<{ peerId: string }>).map((p) => p.peerId) : reply };
  }

  beforeEach(async () => {
    harness = await startArrays({ newPeerIdsBurst: BURST, newPeerIdsPerMinute: 6, quarantineBannedIds: 3, quarantineReporters: 2, maxSocketsPerAddress: 100 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await harness.close();
  });

  it('limits how fast new peer IDs come into one swarm from one address; a reconnecting ID is not new', async () => {
    const address = '192.168.7.50';
    const first = await join(address, 100);
    for (let n = 101; n < 100 + BURST; n++) expect(Array.isArray((await join(address, n)).peers)).toBe(true);
    // One new ID more at once from that address, for that content: refused, and it is not listed.
    const over = 100 + BURST;
    const refused = await join(address, over);
    expect(refused.peers).toMatchObject({ type: 'error', code: 'too-many-peer-ids', inReplyTo: { type: 'announce', contentId: CONTENT, peerId: peerId(over) } });
    const other = await join('192.168.7.51', 200);
    expect(other.peers).not.toContain(peerId(over));
    expect(other.peers).toContain(first.peerId);
    // Another content, another address: their own budgets.
    expect(Array.isArray((await join(address, 150, OTHER)).peers)).toBe(true);
    expect(Array.isArray((await join('192.168.7.52', 151)).peers)).toBe(true);
    // The first peer comes back on a new socket with its own ID: admitted.
    first.client.close();
    expect(Array.isArray((await join(address, 100)).peers)).toBe(true);
  });

  async function banFrom(reporter: { client: TestClient; peerId: string }, banned: string): Promise<void> {
    reporter.client.send({ type: 'ban', contentId: CONTENT, peerId: banned });
    // Bans have no reply: an announce after it shows it was handled (frames of a socket go in order).
    reporter.client.announce(CONTENT, reporter.peerId, { left: 1000, peersWanted: 50 });
    await reporter.client.next();
  }

  it('quarantines an address for a content once peers of two other addresses banned three of its IDs: listed to no one, relayed to no one', async () => {
    const liarAddress = '10.0.0.66';
    const a = await join('10.0.0.1', 1);
    const b = await join('10.0.0.2', 2);
    const liars = [await join(liarAddress, 11), await join(liarAddress, 12), await join(liarAddress, 13)];
    // A bystander at the liar's address that nobody banned, in the same swarm.
    const bystander = await join(liarAddress, 14);
    await banFrom(a, liars[0]!.peerId);
    await banFrom(a, liars[1]!.peerId);
    await banFrom(a, liars[2]!.peerId);
    // One reporter alone quarantines nobody: a fresh peer still sees the liar's other IDs.
    const probe = await join('10.0.0.3', 3);
    expect(probe.peers).toContain(bystander.peerId);
    await banFrom(b, liars[0]!.peerId);
    // Two reporting addresses, three banned IDs: quarantined. Every ID of that address is out.
    const fresh = await join('10.0.0.4', 4);
    for (const l of [...liars, bystander]) expect(fresh.peers).not.toContain(l.peerId);
    expect(fresh.peers).toContain(a.peerId);
    // A new ID from that address gets nobody, and nobody hears from it or can reach it.
    const newcomer = await join(liarAddress, 15);
    expect(newcomer.peers).toEqual([]);
    newcomer.client.send({ type: 'signal', contentId: CONTENT, to: fresh.peerId, data: OFFER });
    expect(await newcomer.client.next()).toMatchObject({ type: 'error', code: 'unknown-peer' });
    expect(await fresh.client.silentFor(100)).toBe(true);
    fresh.client.send({ type: 'signal', contentId: CONTENT, to: bystander.peerId, data: OFFER });
    expect(await fresh.client.next()).toMatchObject({ type: 'error', code: 'unknown-peer' });
    // For another content the address is not quarantined.
    const elsewhere = await join(liarAddress, 16, OTHER);
    const otherPeer = await join('10.0.0.5', 5, OTHER);
    expect(otherPeer.peers).toContain(elsewhere.peerId);
  });

  it('bans reported by peers at the banned address itself, or about unknown IDs, quarantine nobody', async () => {
    const address = '10.0.0.77';
    const peers = [await join(address, 21), await join(address, 22), await join(address, 23), await join(address, 24)];
    // The same address reports its own IDs (a liar trying to get its NAT neighbours quarantined the other way round).
    for (const p of peers.slice(1)) await banFrom(peers[0]!, p.peerId);
    const r1 = await join('10.0.0.8', 8);
    const r2 = await join('10.0.0.9', 9);
    for (const r of [r1, r2]) for (let n = 900; n < 905; n++) await banFrom(r, peerId(n)); // IDs the service never saw
    const fresh = await join('10.0.0.10', 10);
    for (const p of peers) expect(fresh.peers).toContain(p.peerId);
  });

  it('tags each listed peer and each relayed signal with an origin tag: one per address and content, not the address', async () => {
    const tagsOf = (reply: AnyMessage): Record<string, string> => Object.fromEntries((reply.peers as Array<{ peerId: string; origin: string }>).map((p) => [p.peerId, p.origin]));
    const liar1 = await join('192.168.9.66', 31);
    const liar2 = await join('192.168.9.66', 32);
    const honest = await join('192.168.9.10', 33);
    const asker = await join('192.168.9.20', 34);
    asker.client.announce(CONTENT, asker.peerId, { left: 1000, peersWanted: 50 });
    const reply = await asker.client.next();
    const tags = tagsOf(reply);
    for (const t of [...Object.values(tags), reply.origin as string]) expect(t).toMatch(/^[0-9a-f]{16}$/);
    // Two IDs of one address share a tag; other addresses, the asker's own included, differ.
    expect(tags[liar1.peerId]).toBe(tags[liar2.peerId]);
    expect(new Set([tags[liar1.peerId], tags[honest.peerId], reply.origin]).size).toBe(3);
    // The asker's own tag is the one others see for it.
    honest.client.announce(CONTENT, honest.peerId, { left: 1000, peersWanted: 50 });
    expect(tagsOf(await honest.client.next())[asker.peerId]).toBe(reply.origin);
    // A relayed signal carries the sender's tag.
    liar2.client.send({ type: 'signal', contentId: CONTENT, to: asker.peerId, data: OFFER });
    expect(await asker.client.next()).toMatchObject({ type: 'signal', from: liar2.peerId, origin: tags[liar2.peerId] });
    // Another content: another tag for the same address (tags cannot be linked across contents).
    const elsewhere = await join('192.168.9.66', 35, OTHER);
    const otherAsker = await join('192.168.9.20', 36, OTHER);
    expect(otherAsker.peers).toContain(elsewhere.peerId);
    otherAsker.client.announce(OTHER, otherAsker.peerId, { left: 1000, peersWanted: 50 });
    const otherTags = tagsOf(await otherAsker.client.next());
    expect(otherTags[elsewhere.peerId]).toMatch(/^[0-9a-f]{16}$/);
    expect(otherTags[elsewhere.peerId]).not.toBe(tags[liar1.peerId]);
  });
});
