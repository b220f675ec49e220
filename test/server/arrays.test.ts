import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/protocol/limits.js';
import { serverMessageSchema } from '../../src/protocol/arrays-messages.js';
import { CLOSE_REPLACED, MAX_STRIKES } from '../../signaling/arrays.js';
import type { ServerHandle } from '../../signaling/server.js';
import { TEST_ARRAYS_TRANSPORT, TestClient, makeTempDir, peerId, peerSecret, publishDeterministic, removeDir, startServer, waitFor } from './helpers.js';

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } as const;
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } } as const;

describe('Arrays service', () => {
  let dir: string;
  let server: ServerHandle;
  let content1: string;
  let content2: string;
  const clients: TestClient[] = [];

  async function connect(): Promise<TestClient> {
    const c = await TestClient.connect(server.arraysUrl);
    clients.push(c);
    return c;
  }

  /** Connects, announces, and returns the client with its `peers` reply (schema-checked). */
  async function join_(contentId: string, n: number, opts: { left?: number; peersWanted?: number } = {}) {
    const c = await connect();
    c.announce(contentId, peerId(n), opts);
    const reply = await c.next();
    expect(serverMessageSchema.parse(reply).type).toBe('peers');
    return { client: c, reply, peerId: peerId(n) };
  }

  beforeAll(async () => {
    dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    content1 = (await publishDeterministic(dir, contentDir, 1000, 1)).contentId;
    content2 = (await publishDeterministic(dir, contentDir, 1000, 2)).contentId;
    server = await startServer(contentDir, { announceIntervalMs: 15_000 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await waitFor(async () => (await server.arrays.stats()).peers === 0, 2000, 'all peers gone');
  });
  afterAll(async () => {
    await server?.close();
    await removeDir(dir);
  });

  it('gives a peer the other members of its swarm, and no one else', async () => {
    const a = await join_(content1, 1, { left: 0 });
    // Every client here comes from 127.0.0.1: one origin tag (docs/protocol.md, "Origin tags").
    expect(a.reply).toEqual({ type: 'peers', contentId: content1, peers: [], intervalMs: 15_000, origin: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const origin = a.reply.origin as string;
    const b = await join_(content1, 2, { left: 500 });
    expect(b.reply.peers).toEqual([{ peerId: a.peerId, left: 0, origin }]);
    const c = await join_(content2, 3);
    expect(c.reply.peers).toEqual([]);
    // Announcing again refreshes and lists the others, not itself.
    a.client.announce(content1, a.peerId);
    expect((await a.client.next()).peers).toEqual([{ peerId: b.peerId, left: 500, origin }]);
    expect(await server.arrays.swarmSize(content1)).toBe(2);
    expect(await server.arrays.swarmSize(content2)).toBe(1);
  });

  it('lists seeders first and caps the reply at peersWanted', async () => {
    const leechers = [];
    for (let i = 0; i < 5; i++) leechers.push(await join_(content1, 10 + i, { left: 1000 }));
    const seeder = await join_(content1, 20, { left: 0 });
    const asker = await join_(content1, 21, { left: 1000, peersWanted: 2 });
    expect(asker.reply.peers).toHaveLength(2);
    expect(asker.reply.peers[0]).toEqual({ peerId: seeder.peerId, left: 0, origin: asker.reply.origin });
    // Ties are spread: over several asks, more than one leecher gets listed second (fewer
    // than the announce burst of 20, so none is rate-limited).
    const seconds = new Set<string>();
    for (let i = 0; i < 15; i++) {
      asker.client.announce(content1, asker.peerId, { left: 1000, peersWanted: 2 });
      seconds.add((await asker.client.next()).peers[1].peerId);
    }
    expect(seconds.size).toBeGreaterThan(1);
    asker.client.announce(content1, asker.peerId, { peersWanted: 0 });
    expect((await asker.client.next()).peers).toEqual([]);
  });

  it('relays signals within a swarm, with `from` set by the server', async () => {
    const a = await join_(content1, 1);
    const b = await join_(content1, 2);
    a.client.send({ type: 'signal', contentId: content1, to: b.peerId, data: OFFER });
    const origin = a.reply.origin as string;
    expect(await b.client.next()).toEqual({ type: 'signal', contentId: content1, from: a.peerId, data: OFFER, origin });
    b.client.send({ type: 'signal', contentId: content1, to: a.peerId, data: CANDIDATE });
    expect(await a.client.next()).toEqual({ type: 'signal', contentId: content1, from: b.peerId, data: CANDIDATE, origin });

    // A forged `from` is not part of the client message: refused, nothing relayed.
    a.client.send({ type: 'signal', contentId: content1, to: b.peerId, from: peerId(99), data: OFFER });
    expect(await a.client.next()).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(await b.client.silentFor(150)).toBe(true);
  });

  it('does not relay across swarms or for peers that have not announced', async () => {
    const a = await join_(content1, 1);
    const c = await join_(content2, 3);
    a.client.send({ type: 'signal', contentId: content1, to: c.peerId, data: OFFER });
    expect(await a.client.next()).toMatchObject({ type: 'error', code: 'unknown-peer' });
    a.client.send({ type: 'signal', contentId: content2, to: c.peerId, data: OFFER });
    expect(await a.client.next()).toMatchObject({ type: 'error', code: 'not-in-swarm' });
    const stranger = await connect();
    stranger.hello(peerSecret(77));
    stranger.send({ type: 'signal', contentId: content1, to: a.peerId, data: OFFER });
    expect(await stranger.next()).toMatchObject({ type: 'error', code: 'not-in-swarm' });
    a.client.send({ type: 'signal', contentId: content1, to: peerId(404), data: OFFER });
    expect(await a.client.next()).toMatchObject({ type: 'error', code: 'unknown-peer' });
    expect(await c.client.silentFor(150)).toBe(true);
    expect(await a.client.silentFor(0)).toBe(true);
  });

  it('stops listing a peer to the peer that banned it, and stops relaying its signals to it', async () => {
    const liar = await join_(content1, 1, { left: 0 });
    const honest = await join_(content1, 2, { left: 0 });
    const asker = await join_(content1, 3, { left: 1000 });
    expect(asker.reply.peers.map((p: { peerId: string }) => p.peerId).sort()).toEqual([liar.peerId, honest.peerId].sort());
    asker.client.send({ type: 'ban', contentId: content1, peerId: liar.peerId });
    asker.client.announce(content1, asker.peerId, { left: 1000 });
    expect((await asker.client.next()).peers).toEqual([{ peerId: honest.peerId, left: 0, origin: asker.reply.origin }]);
    // The banned peer can no longer reach the banner, but others still can, and others still see the liar.
    liar.client.send({ type: 'signal', contentId: content1, to: asker.peerId, data: OFFER });
    expect(await liar.client.next()).toMatchObject({ type: 'error', code: 'unknown-peer' });
    expect(await asker.client.silentFor(150)).toBe(true);
    honest.client.announce(content1, honest.peerId, { left: 0 });
    expect((await honest.client.next()).peers.map((p: { peerId: string }) => p.peerId)).toContain(liar.peerId);
    // A ban before announcing is refused.
    const stranger = await connect();
    stranger.hello(peerSecret(78));
    stranger.send({ type: 'ban', contentId: content1, peerId: liar.peerId });
    expect(await stranger.next()).toMatchObject({ type: 'error', code: 'not-in-swarm' });
  });

  it('refuses swarms for content it does not publish', async () => {
    const c = await connect();
    c.announce('a'.repeat(64), peerId(1));
    expect(await c.next()).toMatchObject({ type: 'error', code: 'unknown-content' });
    expect(await server.arrays.swarmSize('a'.repeat(64))).toBe(0);
  });

  it('answers bad frames with errors and keeps working', async () => {
    const a = await join_(content1, 1);
    const bad: Array<string | Buffer> = [
      'not json',
      '{"type":"hello"}',
      JSON.stringify({ type: 'announce', contentId: content1, peerId: 'short', report: {} }),
      JSON.stringify({ type: 'leave', contentId: content1, extra: 1 }),
      '[]',
      Buffer.from([1, 2, 3]),
    ];
    for (const frame of bad) {
      a.client.ws.send(frame);
      const reply = await a.client.next();
      expect(serverMessageSchema.parse(reply)).toMatchObject({ type: 'error', code: 'bad-message' });
    }
    a.client.announce(content1, a.peerId);
    expect((await a.client.next()).type).toBe('peers');
  });

  it('closes a socket that sends an oversized frame (1009); others are unaffected', async () => {
    const a = await join_(content1, 1);
    const big = await join_(content1, 2);
    big.client.send({ type: 'leave', contentId: content1, pad: 'x'.repeat(LIMITS.maxSignalingMessageBytes) });
    // uWebSockets cuts the connection without a close frame: the client sees 1006.
    expect((await big.client.closed).code).toBe(TEST_ARRAYS_TRANSPORT === 'uws' ? 1006 : 1009);
    await waitFor(async () => (await server.arrays.swarmSize(content1)) === 1);
    a.client.announce(content1, a.peerId);
    expect((await a.client.next()).peers).toEqual([]);
    const fresh = await join_(content1, 3);
    expect(fresh.reply.peers).toEqual([{ peerId: a.peerId, left: 0, origin: fresh.reply.origin }]);
  });

  it(`closes a socket after ${MAX_STRIKES} bad messages (1008)`, async () => {
    const c = await connect();
    for (let i = 0; i < MAX_STRIKES; i++) c.send('{');
    for (let i = 0; i < MAX_STRIKES; i++) expect((await c.next()).code).toBe('bad-message');
    expect((await c.closed).code).toBe(1008);
    const after = await join_(content1, 1);
    expect(after.reply.type).toBe('peers');
  });

  it('binds the peer ID of the hello secret to the socket: nothing before hello, no other ID after it', async () => {
    const silent = await connect();
    silent.announce(content1, 'ab'.repeat(16)); // an ID with no known secret: no hello is sent
    expect(await silent.next()).toMatchObject({ type: 'error', code: 'hello-first', inReplyTo: { type: 'announce', contentId: content1 } });
    const a = await join_(content1, 1);
    expect(a.client.welcomes).toEqual([a.peerId]);
    // Another socket that does not hold the secret cannot announce the ID: its own hello binds
    // its own ID, and announcing another one is a mismatch (a strike).
    const thief = await connect();
    thief.hello(peerSecret(99));
    thief.announce(content1, a.peerId);
    expect(await thief.next()).toMatchObject({ type: 'error', code: 'peer-id-mismatch', inReplyTo: { type: 'announce', peerId: a.peerId } });
    expect(thief.welcomes).toEqual([peerId(99)]);
    thief.hello(peerSecret(98));
    expect(await thief.next()).toMatchObject({ type: 'error', code: 'hello-again' });
    a.client.announce(content2, peerId(2));
    expect(await a.client.next()).toMatchObject({ type: 'error', code: 'peer-id-mismatch' });
    // The same ID works in another swarm on its own socket.
    a.client.announce(content2, a.peerId);
    expect((await a.client.next()).type).toBe('peers');
    expect(await server.arrays.swarmSize(content1)).toBe(1);
  });

  it('a tab that comes back on a new socket takes its peer ID back at once; the old socket is closed', async () => {
    const gone = await join_(content1, 40);
    // The old socket of a tab that came back: open to the server, but it reads nothing any more.
    (gone.client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const back = await connect();
    const t0 = Date.now();
    back.announce(content1, gone.peerId);
    expect((await back.next()).type).toBe('peers');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(back.welcomes).toEqual([gone.peerId]);
    (gone.client.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await gone.client.closed).code).toBe(CLOSE_REPLACED);
    expect(await server.arrays.swarmSize(content1)).toBe(1);
    // A signal to the ID reaches the new socket.
    const other = await join_(content1, 41, { left: 1000 });
    other.client.send({ type: 'signal', contentId: content1, to: gone.peerId, data: OFFER });
    expect(await back.next()).toMatchObject({ type: 'signal', from: other.peerId });
  });

  it('removes a peer on leave and on close', async () => {
    const a = await join_(content1, 1);
    const b = await join_(content1, 2);
    expect(await server.arrays.swarmSize(content1)).toBe(2);
    b.client.send({ type: 'leave', contentId: content1 });
    await waitFor(async () => (await server.arrays.swarmSize(content1)) === 1);
    a.client.announce(content1, a.peerId);
    expect((await a.client.next()).peers).toEqual([]);
    // A peer that left cannot signal in that swarm any more.
    b.client.send({ type: 'signal', contentId: content1, to: a.peerId, data: OFFER });
    expect(await b.client.next()).toMatchObject({ code: 'not-in-swarm' });
    a.client.close();
    await waitFor(async () => (await server.arrays.swarmSize(content1)) === 0);
    expect(server.arrays.connections).toBe(1);
  });
});

describe('Arrays expiry and shutdown', () => {
  let dir: string;
  let contentId: string;
  beforeAll(async () => {
    dir = await makeTempDir();
    contentId = (await publishDeterministic(dir, join(dir, 'content'), 1000, 1)).contentId;
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('drops peers that stop announcing', async () => {
    const server = await startServer(join(dir, 'content'), { peerExpiryMs: 200 });
    try {
      const a = await TestClient.connect(server.arraysUrl);
      const b = await TestClient.connect(server.arraysUrl);
      a.announce(contentId, peerId(1));
      b.announce(contentId, peerId(2));
      await a.next();
      expect((await b.next()).peers).toHaveLength(1);
      // b keeps announcing, a falls silent.
      const started = Date.now();
      while (Date.now() - started < 600) {
        b.announce(contentId, peerId(2));
        await b.next();
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await server.arrays.swarmSize(contentId)).toBe(1);
      b.announce(contentId, peerId(2));
      expect((await b.next()).peers).toEqual([]);
      // The expired peer is out of the swarm: it must announce again to signal.
      a.send({ type: 'signal', contentId, to: peerId(2), data: OFFER });
      expect(await a.next()).toMatchObject({ code: 'not-in-swarm' });
      a.close();
      b.close();
    } finally {
      await server.close();
    }
  });

  it('close() terminates WebSocket clients and open HTTP connections promptly', async () => {
    const server = await startServer(join(dir, 'content'));
    const a = await TestClient.connect(server.arraysUrl);
    a.announce(contentId, peerId(1));
    await a.next();
    await fetch(`${server.url}/api/health`); // leaves a keep-alive connection open
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await a.closed).code).toBe(1001);
    await expect(fetch(`${server.url}/api/health`)).rejects.toThrow();
  });
});
