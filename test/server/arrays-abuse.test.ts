/**
 * What one client can make the Arrays service hold: `ban` messages (rate-limited past a
 * burst, repeats free, released when the banner leaves the swarm or its socket goes), open
 * sockets in total (HTTP 503 past the cap). Upgrades of an unknown WebSocket version on the
 * uWebSockets port: uws-upgrades.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startArrays, type ArraysHarness } from './arrays-harness.js';
import { TestClient, peerId, sha256Hex, sleep, type AnyMessage } from './helpers.js';

const C = sha256Hex(new TextEncoder().encode('abuse'));
const BURST = 10;

describe('Arrays: ban reports and the socket cap', () => {
  let harness: ArraysHarness;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    harness = await startArrays({ banBurst: BURST, banRatePerSec: 1, maxArraysSockets: 8, maxSocketsPerAddress: 100 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sleep(50);
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function join_(n: number, address = '10.9.0.1', left = 1000): Promise<{ client: TestClient; peerId: string; peers: string[] }> {
    const client = await harness.connect(address);
    clients.push(client);
    client.announce(C, peerId(n), { left, peersWanted: 50 });
    const reply = await client.next();
    return { client, peerId: peerId(n), peers: (reply.peers as Array<{ peerId: string }>).map((p) => p.peerId) };
  }

  /** Every message until the socket is quiet for `ms`. */
  async function drain(c: TestClient, ms = 300): Promise<AnyMessage[]> {
    const out: AnyMessage[] = [];
    for (;;) {
      try {
        out.push(await c.next(ms));
      } catch {
        return out;
      }
    }
  }

  it('answers new bans past the burst rate-limited without a strike; repeats cost nothing; others are served', async () => {
    const flooder = await join_(1);
    for (let i = 0; i < 200; i++) flooder.client.send({ type: 'ban', contentId: C, peerId: peerId(1000 + i) });
    // Repeats of the bans it holds: no reply at all.
    for (let i = 0; i < 50; i++) flooder.client.send({ type: 'ban', contentId: C, peerId: peerId(1000 + (i % BURST)) });
    const replies = await drain(flooder.client);
    const limited = replies.filter((m) => m.type === 'error' && m.code === 'rate-limited');
    // The burst, plus at most a token or two refilled while the test ran.
    expect(limited.length).toBeGreaterThanOrEqual(200 - BURST - 2);
    expect(limited.length).toBeLessThanOrEqual(200 - BURST);
    expect(limited[0]).toMatchObject({ inReplyTo: { type: 'ban', contentId: C } });
    // No strike: well past the 10 strikes that close a socket, it is still open and served.
    flooder.client.announce(C, flooder.peerId, { left: 1000 });
    expect((await flooder.client.next()).type).toBe('peers');
    const other = await join_(2, '10.9.0.2');
    expect(other.peers).toContain(flooder.peerId);
  });

  it('releases a peer’s bans when it leaves the swarm, and when its socket goes', async () => {
    const banned = await join_(10, '10.9.0.10', 0);
    const banner = await join_(11, '10.9.0.11');
    expect(banner.peers).toContain(banned.peerId);
    banner.client.send({ type: 'ban', contentId: C, peerId: banned.peerId });
    banner.client.announce(C, banner.peerId, { left: 1000, peersWanted: 50 });
    expect((await banner.client.next()).peers.map((p: { peerId: string }) => p.peerId)).not.toContain(banned.peerId);
    // It leaves and comes back: the ban went with it.
    banner.client.send({ type: 'leave', contentId: C });
    banner.client.announce(C, banner.peerId, { left: 1000, peersWanted: 50 });
    expect((await banner.client.next()).peers.map((p: { peerId: string }) => p.peerId)).toContain(banned.peerId);
    // Banned again, then its socket goes: a new socket of the same peer starts with no bans.
    banner.client.send({ type: 'ban', contentId: C, peerId: banned.peerId });
    banner.client.close();
    await sleep(100);
    const again = await join_(11, '10.9.0.11');
    expect(again.peers).toContain(banned.peerId);
  });

  it('refuses sockets past the total cap with HTTP 503, whatever their address; a freed place is taken again', async () => {
    for (let i = 0; i < 8; i++) clients.push(await harness.connect(`10.9.1.${i + 1}`));
    await expect(harness.connect('10.9.2.1')).rejects.toThrow(/503/);
    clients.shift()!.close();
    await sleep(100);
    clients.push(await harness.connect('10.9.2.1'));
  });
});
