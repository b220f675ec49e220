/**
 * The Arrays service gives each downloader its CDN slot with every `peers` reply (docs/protocol.md,
 * "CDN slots"), and the client's schema accepts the reply: downloaders of one partition get
 * slots 0..of-1, a seeder none.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverMessageSchema, type ServerMessage } from '../../src/protocol/arrays-messages.js';
import { decodeFetched, FALLBACK_GROUP_LINKS, fallbackGroupOf, hasBit, slotOwnerOf } from '../../src/protocol/cdn-slots.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { startArrays, type ArraysHarness } from './arrays-harness.js';
import { peerId, sha256Hex, type TestClient } from './helpers.js';

const CONTENT = sha256Hex(new TextEncoder().encode('cdn-slot-content'));

describe('Arrays: CDN slots', () => {
  let harness: ArraysHarness;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    harness = await startArrays({ maxSocketsPerAddress: 100 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await harness.close();
  });

  it('numbers the downloaders of a partition in their replies; a seeder gets none', async () => {
    const replies = [];
    for (let n = 0; n < 5; n++) {
      const client = await harness.connect(`203.0.113.${n + 1}`);
      clients.push(client);
      client.announce(CONTENT, peerId(n), { left: n === 4 ? 0 : 1000, peersWanted: 20, mode: 'internet' });
      replies.push(serverMessageSchema.parse(await client.next()));
    }
    // Announced again, each sees the swarm as it is now: four downloaders.
    const again = [];
    for (const [n, client] of clients.entries()) {
      client.announce(CONTENT, peerId(n), { left: n === 4 ? 0 : 1000, peersWanted: 20, mode: 'internet' });
      again.push(serverMessageSchema.parse(await client.next()));
    }
    const slots = again.map((m) => (m.type === 'peers' ? m.cdnSlot : 'not peers'));
    expect(slots[4]).toBeUndefined();
    expect(slots.slice(0, 4).map((s) => (typeof s === 'object' ? s.of : s))).toEqual([4, 4, 4, 4]);
    expect(slots.slice(0, 4).map((s) => (typeof s === 'object' ? s.slot : s)).sort()).toEqual([0, 1, 2, 3]);
    // The first reply of the first peer: alone so far.
    expect(replies[0]!.type === 'peers' && replies[0]!.cdnSlot).toEqual({ slot: 0, of: 1 });
  });

  it("grants the pieces a slot's owner asks for once, and carries them to the partition; refuses an announce that says too much", async () => {
    // Two fallback groups: pieces of the other one are neither ours nor of our group.
    const n = 2 * FALLBACK_GROUP_LINKS;
    for (let k = 0; k < n; k++) {
      const client = await harness.connect(`203.0.113.${k + 1}`);
      clients.push(client);
      client.announce(CONTENT, peerId(k), { left: 1000, peersWanted: 5, mode: 'internet' });
      await client.next();
    }
    const reply = async (k: number, extra: { cdnPieces?: number[] } = {}): Promise<Extract<ServerMessage, { type: 'peers' }>> => {
      clients[k]!.announce(CONTENT, peerId(k), { left: 1000, peersWanted: 5, mode: 'internet', ...extra });
      const m = serverMessageSchema.parse(await clients[k]!.next());
      if (m.type !== 'peers') throw new Error(`expected peers, got ${JSON.stringify(m)}`);
      return m;
    };
    const first = await reply(0);
    expect(first.cdnSlot!.of).toBe(n);
    expect(first.cdnSlot!.fetched).toBeUndefined();
    // Granted only in the reply to an announce that asks.
    expect(first.cdnSlot!.granted).toBeUndefined();
    const { slot, of } = first.cdnSlot!;
    const owned = Array.from({ length: 400 }, (_, i) => i).filter((i) => slotOwnerOf(i, of) === slot).slice(0, 3);
    const notOwned = Array.from({ length: 400 }, (_, i) => i).filter((i) => slotOwnerOf(i, of) !== slot && fallbackGroupOf(i, 2) !== slot % 2).slice(0, 3);
    expect((await reply(0, { cdnPieces: [...owned, ...notOwned] })).cdnSlot!.granted).toEqual(owned);
    // Asked again: granted once only.
    expect((await reply(0, { cdnPieces: owned })).cdnSlot!.granted).toEqual([]);
    const seen = decodeFetched((await reply(11)).cdnSlot!.fetched!);
    expect(owned.map((i) => hasBit(seen, i))).toEqual([true, true, true]);
    expect(notOwned.map((i) => hasBit(seen, i))).toEqual([false, false, false]);

    // Too many pieces, or one past the bitmap: a malformed announce, answered with an error.
    clients[1]!.announce(CONTENT, peerId(1), { left: 1000, mode: 'internet', cdnPieces: Array.from({ length: LIMITS.maxCdnPiecesPerAnnounce + 1 }, (_, i) => i) });
    expect(serverMessageSchema.parse(await clients[1]!.next()).type).toBe('error');
    clients[2]!.announce(CONTENT, peerId(2), { left: 1000, mode: 'internet', cdnPieces: [LIMITS.maxCdnClaimPieces] });
    expect(serverMessageSchema.parse(await clients[2]!.next()).type).toBe('error');
  });
});
