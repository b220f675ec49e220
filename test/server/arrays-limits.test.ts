/**
 * The Arrays service's limits: announce and signal rates per socket, sockets per address,
 * and answers (and candidates) only along offers the service relayed.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STRIKES } from '../../signaling/arrays.js';
import { startArrays, type ArraysHarness } from './arrays-harness.js';
import { TestClient, makeTempDir, peerId, publishDeterministic, removeDir, sha256Hex, sleep, startServer, type AnyMessage } from './helpers.js';

const C = sha256Hex(new TextEncoder().encode('limits'));
const OFFER = { type: 'offer', sdp: 'v=0\r\n' } as const;
const ANSWER = { type: 'answer', sdp: 'v=0\r\n' } as const;
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host' } } as const;

/** Drains every message that arrives until the socket closes or stays quiet for `quietMs`. */
async function drain(c: TestClient, quietMs = 300): Promise<AnyMessage[]> {
  const out: AnyMessage[] = [];
  for (;;) {
    try {
      out.push(await c.next(quietMs));
    } catch {
      return out;
    }
  }
}

describe('Arrays limits', () => {
  let harness: ArraysHarness;
  const clients: TestClient[] = [];
  let n = 0;

  /** A socket in internet mode, each from its own address (the cap here is 3 per address). */
  async function join_(opts: { mode?: 'lan' | 'internet' } = {}) {
    const client = await harness.connect(`203.0.113.${n + 1}`);
    clients.push(client);
    const id = peerId(500 + n++);
    client.announce(C, id, { mode: opts.mode ?? 'internet' });
    expect((await client.next()).type).toBe('peers');
    return { client, peerId: id };
  }

  beforeAll(async () => {
    harness = await startArrays({ maxSocketsPerAddress: 3, offerTtlMs: 400 });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it(`refuses announces over the burst with rate-limited, and closes the socket after ${MAX_STRIKES} (1008)`, async () => {
    const a = await join_();
    for (let i = 0; i < 40; i++) a.client.announce(C, a.peerId, { mode: 'internet' });
    const got = await drain(a.client);
    const peers = got.filter((m) => m.type === 'peers').length;
    const limited = got.filter((m) => m.code === 'rate-limited').length;
    // The first announce took one token of the 20; the bucket refills at 10/s meanwhile.
    expect(peers).toBeGreaterThanOrEqual(19);
    expect(peers).toBeLessThanOrEqual(21);
    expect(limited).toBe(MAX_STRIKES);
    expect((await a.client.closed).code).toBe(1008);
  });

  it('refuses signals over the burst with rate-limited, and closes the flooder', async () => {
    const a = await join_();
    const b = await join_();
    for (let i = 0; i < 150; i++) a.client.send({ type: 'signal', contentId: C, to: b.peerId, data: OFFER });
    const limited = (await drain(a.client)).filter((m) => m.code === 'rate-limited').length;
    const relayed = (await drain(b.client)).filter((m) => m.type === 'signal').length;
    expect(relayed).toBeGreaterThanOrEqual(100);
    expect(relayed).toBeLessThan(110);
    expect(limited).toBe(MAX_STRIKES);
    expect((await a.client.closed).code).toBe(1008);
    // The flooded peer is fine.
    b.client.announce(C, b.peerId, { mode: 'internet' });
    expect((await b.client.next()).type).toBe('peers');
  });

  it('relays an answer only to a peer whose offer it relayed, and candidates only along that pair', async () => {
    const a = await join_();
    const b = await join_();
    const c = await join_();
    b.client.send({ type: 'signal', contentId: C, to: a.peerId, data: ANSWER });
    expect(await b.client.next()).toMatchObject({ type: 'error', code: 'unsolicited-answer' });
    b.client.send({ type: 'signal', contentId: C, to: a.peerId, data: CANDIDATE });
    expect(await b.client.next()).toMatchObject({ type: 'error', code: 'unsolicited-signal' });
    expect(await a.client.silentFor(100)).toBe(true);

    a.client.send({ type: 'signal', contentId: C, to: b.peerId, data: OFFER });
    a.client.send({ type: 'signal', contentId: C, to: b.peerId, data: CANDIDATE });
    expect(await b.client.next()).toMatchObject({ type: 'signal', from: a.peerId, data: OFFER });
    expect(await b.client.next()).toMatchObject({ type: 'signal', from: a.peerId, data: CANDIDATE });
    b.client.send({ type: 'signal', contentId: C, to: a.peerId, data: ANSWER });
    b.client.send({ type: 'signal', contentId: C, to: a.peerId, data: CANDIDATE });
    expect(await a.client.next()).toMatchObject({ type: 'signal', from: b.peerId, data: ANSWER });
    expect(await a.client.next()).toMatchObject({ type: 'signal', from: b.peerId, data: CANDIDATE });
    // The offerer cannot "answer" its own offer, and a third peer cannot answer an offer it never got.
    a.client.send({ type: 'signal', contentId: C, to: b.peerId, data: ANSWER });
    expect(await a.client.next()).toMatchObject({ code: 'unsolicited-answer' });
    c.client.send({ type: 'signal', contentId: C, to: a.peerId, data: ANSWER });
    expect(await c.client.next()).toMatchObject({ code: 'unsolicited-answer' });
    // After offerTtlMs (400 ms here) the pair is no longer open.
    await sleep(500);
    b.client.send({ type: 'signal', contentId: C, to: a.peerId, data: ANSWER });
    expect(await b.client.next()).toMatchObject({ code: 'unsolicited-answer' });
    expect(await a.client.silentFor(100)).toBe(true);
  });

  it(`closes a socket after ${MAX_STRIKES} unsolicited answers`, async () => {
    const a = await join_();
    const b = await join_();
    for (let i = 0; i < MAX_STRIKES; i++) b.client.send({ type: 'signal', contentId: C, to: a.peerId, data: ANSWER });
    expect((await drain(b.client)).filter((m) => m.code === 'unsolicited-answer')).toHaveLength(MAX_STRIKES);
    expect((await b.client.closed).code).toBe(1008);
    expect(await a.client.silentFor(50)).toBe(true);
  });

  it('caps sockets per address (HTTP 429); other addresses and freed slots are unaffected', async () => {
    const first = await harness.connect('198.51.100.9');
    clients.push(first, await harness.connect('::ffff:198.51.100.9'), await harness.connect('198.51.100.9'));
    await expect(harness.connect('198.51.100.9')).rejects.toThrow(/429/);
    // One IPv6 /64 is one address.
    clients.push(await harness.connect('2001:db8:9:9::1'), await harness.connect('2001:db8:9:9::2'), await harness.connect('2001:db8:9:9::3'));
    await expect(harness.connect('2001:db8:9:9::4')).rejects.toThrow(/429/);
    clients.push(await harness.connect('198.51.100.10'));
    first.close();
    await sleep(100);
    clients.push(await harness.connect('198.51.100.9'));
  });
});

describe('Arrays limits on the real server (socket addresses)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir();
    await publishDeterministic(dir, join(dir, 'content'), 1000, 1);
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('counts sockets by the remote address of the connection', async () => {
    const server = await startServer(join(dir, 'content'), { maxSocketsPerAddress: 2 });
    try {
      const a = await TestClient.connect(server.arraysUrl);
      const b = await TestClient.connect(server.arraysUrl);
      await expect(TestClient.connect(server.arraysUrl)).rejects.toThrow(/429/);
      // A forged X-Forwarded-For is ignored unless the server trusts a proxy.
      await expect(TestClient.connect(server.arraysUrl, { 'x-forwarded-for': '203.0.113.50' })).rejects.toThrow(/429/);
      a.close();
      b.close();
    } finally {
      await server.close();
    }
  });

  it('the defaults leave room for the browser tests, which all connect from 127.0.0.1', async () => {
    const server = await startServer(join(dir, 'content'));
    try {
      expect(server.config.maxSocketsPerAddress).toBeGreaterThanOrEqual(32);
      const many = await Promise.all(Array.from({ length: 32 }, () => TestClient.connect(server.arraysUrl)));
      for (const c of many) c.close();
    } finally {
      await server.close();
    }
  });
});
