import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { parseClientMessage, type ClientMessage, type Report } from '../../../src/protocol/arrays-messages.js';
import { backoffDelay, createWebSocketSignaling, DEFAULT_BACKOFF } from '../../../src/transport/ws-signaling.js';

const CONTENT = 'ab'.repeat(32);
const ME = '11'.repeat(16);
const OTHER = '22'.repeat(16);
// `as`: the report's `mode` field is new in arrays-messages.ts; this compiles on either side of it.
const REPORT = {
  mode: 'lan',
  uploaded: 0,
  downloaded: 0,
  downloadedCdn: 0,
  left: 100,
  peersWanted: 10,
  isBackground: false,
  uploadedBps: 0,
  downloadBps: 0,
} as Report;
const WebSocketImpl = NodeWebSocket as unknown as typeof WebSocket;

/** Resolves with the next value `subscribe` delivers, or rejects after `ms`. */
function next<T>(subscribe: (cb: (v: T) => void) => () => void, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out'));
    }, ms);
    const off = subscribe((v) => {
      clearTimeout(timer);
      off();
      resolve(v);
    });
  });
}

let wss: WebSocketServer;
let url: string;
/** Every message the server received, parsed; and each new connection. */
let received: ClientMessage[];
/** Frames the server could not parse: must stay empty. */
let invalid: string[];
let connections: NodeWebSocket[];
let onConnection: ((ws: NodeWebSocket) => void)[];
let onReceived: (() => void)[];

/** Starts the test server on `port` (0: a free one); the handlers record into the shared arrays. */
async function startWss(port: number): Promise<WebSocketServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.on('connection', (ws) => {
    connections.push(ws);
    ws.on('message', (raw, isBinary) => {
      const parsed = parseClientMessage(raw.toString());
      if (isBinary || !parsed.ok) invalid.push(isBinary ? 'binary frame' : parsed.ok ? '' : parsed.reason);
      else received.push(parsed.value);
      for (const cb of onReceived) cb();
    });
    for (const cb of onConnection) cb(ws);
  });
  return server;
}

/** Stops the test server: every client socket is cut and the port released. */
async function stopWss(): Promise<void> {
  for (const ws of wss.clients) ws.terminate();
  await new Promise((resolve) => wss.close(resolve));
}

beforeEach(async () => {
  received = [];
  invalid = [];
  connections = [];
  onConnection = [];
  onReceived = [];
  wss = await startWss(0);
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
});

afterEach(async () => {
  expect(invalid).toEqual([]);
  await stopWss();
});

const receivedCount = async (n: number) => {
  while (received.length < n) await next<void>((cb) => (onReceived.push(cb), () => onReceived.splice(onReceived.indexOf(cb), 1)));
};

describe('createWebSocketSignaling', () => {
  it('sends valid JSON messages and parses the replies', async () => {
    const signaling = createWebSocketSignaling(url, { WebSocketImpl });
    try {
      await next((cb) => signaling.on('open', cb));
      expect(signaling.connected).toBe(true);
      signaling.announce(CONTENT, ME, REPORT);
      signaling.signal(CONTENT, OTHER, { type: 'offer', sdp: 'v=0' });
      signaling.leave(CONTENT);
      await receivedCount(3);
      expect(received).toEqual([
        { type: 'announce', contentId: CONTENT, peerId: ME, report: REPORT },
        { type: 'signal', contentId: CONTENT, to: OTHER, data: { type: 'offer', sdp: 'v=0' } },
        { type: 'leave', contentId: CONTENT },
      ]);

      const server = connections[0]!;
      const peers = next((cb) => signaling.on('peers', cb));
      server.send(JSON.stringify({ type: 'peers', contentId: CONTENT, peers: [{ peerId: OTHER, left: 0 }], intervalMs: 60_000 }));
      expect(await peers).toEqual({ contentId: CONTENT, peers: [{ peerId: OTHER, left: 0 }], intervalMs: 60_000 });

      const signal = next((cb) => signaling.on('signal', cb));
      const candidate = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } };
      server.send(JSON.stringify({ type: 'signal', contentId: CONTENT, from: OTHER, data: candidate }));
      expect(await signal).toEqual({ contentId: CONTENT, from: OTHER, data: candidate });

      const error = next((cb) => signaling.on('error', cb));
      server.send(JSON.stringify({ type: 'error', code: 'rate-limited', message: 'slow down' }));
      expect(await error).toEqual({ code: 'rate-limited', message: 'slow down' });
    } finally {
      signaling.close();
    }
  });

  it('says hello with the peer secret first on every connection, before the announces of open', async () => {
    const secret = 'cd'.repeat(32);
    const signaling = createWebSocketSignaling(url, { WebSocketImpl, peerSecret: secret, reconnectMinMs: 10, reconnectMaxMs: 20 });
    try {
      signaling.on('open', () => signaling.announce(CONTENT, ME, REPORT));
      await receivedCount(2);
      connections[0]!.terminate();
      await receivedCount(4);
      expect(received.map((m) => m.type)).toEqual(['hello', 'announce', 'hello', 'announce']);
      expect(received[0]).toEqual({ type: 'hello', secret });
    } finally {
      signaling.close();
    }
  });

  it('ignores garbage frames without throwing', async () => {
    const signaling = createWebSocketSignaling(url, { WebSocketImpl });
    try {
      await next((cb) => signaling.on('open', cb));
      const seen: unknown[] = [];
      for (const event of ['peers', 'signal', 'error'] as const) signaling.on(event, (p) => seen.push(p));
      const server = connections[0]!;
      server.send('not json');
      server.send('{}');
      server.send(JSON.stringify({ type: 'peers', contentId: 'nope', peers: [], intervalMs: 60_000 }));
      server.send(JSON.stringify({ type: 'signal', contentId: CONTENT, from: OTHER, data: { type: 'offer', sdp: 1 } }));
      server.send('x'.repeat(70 * 1024));
      server.send(Buffer.from([1, 2, 3]));
      const good = next((cb) => signaling.on('peers', cb));
      server.send(JSON.stringify({ type: 'peers', contentId: CONTENT, peers: [], intervalMs: 60_000 }));
      await good;
      expect(seen).toEqual([{ contentId: CONTENT, peers: [], intervalMs: 60_000 }]);
      expect(signaling.connected).toBe(true);
    } finally {
      signaling.close();
    }
  });

  it('reconnects after the server drops it, emits open again and sends queued signals', async () => {
    let sendWhileAway = (): void => undefined;
    const signaling = createWebSocketSignaling(url, {
      WebSocketImpl,
      reconnectMinMs: 20,
      reconnectMaxMs: 100,
      // Called once the client has seen the close and before it reconnects (full jitter may pick 0 ms).
      onReconnectScheduled: () => sendWhileAway(),
    });
    try {
      let opens = 0;
      signaling.on('open', () => {
        opens++;
        signaling.announce(CONTENT, ME, REPORT);
      });
      await next((cb) => signaling.on('open', cb));
      await receivedCount(1);

      const reopened = next((cb) => signaling.on('open', cb));
      sendWhileAway = () => {
        expect(signaling.connected).toBe(false);
        signaling.announce(CONTENT, ME, REPORT); // dropped: 'open' will announce again
        signaling.signal(CONTENT, OTHER, { type: 'answer', sdp: 'v=0' }); // queued
        sendWhileAway = () => undefined;
      };
      connections[0]!.terminate();

      await reopened;
      expect(opens).toBe(2);
      await receivedCount(3);
      expect(received.map((m) => m.type)).toEqual(['announce', 'announce', 'signal']);
      expect(connections).toHaveLength(2);
    } finally {
      signaling.close();
    }
  });

  it('keeps retrying while the server refuses, then stops for good on close()', async () => {
    const signaling = createWebSocketSignaling(url, { WebSocketImpl, reconnectMinMs: 10, reconnectMaxMs: 20 });
    const closed: number[] = [];
    signaling.on('closed', ({ retryInMs }) => closed.push(retryInMs));
    // Drop every connection at once: the client must keep coming back.
    onConnection.push((ws) => ws.terminate());
    while (connections.length < 3) await new Promise((r) => setTimeout(r, 10));
    // Each loss is reported with the wait before the next attempt (what the page shows).
    expect(closed.length).toBeGreaterThanOrEqual(2);
    for (const ms of closed) expect(ms).toBeLessThanOrEqual(20);
    signaling.close();
    expect(signaling.connected).toBe(false);
    const count = connections.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(connections.length).toBeLessThanOrEqual(count + 1); // at most an attempt already in flight
    const settled = connections.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(connections.length).toBe(settled);
    signaling.close(); // idempotent
  });

  it('close() while connected closes the socket and never reconnects', async () => {
    const signaling = createWebSocketSignaling(url, { WebSocketImpl, reconnectMinMs: 10, reconnectMaxMs: 20 });
    await next((cb) => signaling.on('open', cb));
    const closed = new Promise((resolve) => connections[0]!.once('close', resolve));
    signaling.close();
    await closed;
    signaling.signal(CONTENT, OTHER, { type: 'offer', sdp: 'v=0' }); // dropped, not queued
    await new Promise((r) => setTimeout(r, 150));
    expect(connections).toHaveLength(1);
    expect(received).toHaveLength(0);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check()` holds, polling every 5 ms, or fails after `ms`. */
async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('backoffDelay (full jitter)', () => {
  it('draws uniformly under an exponential ceiling capped at maxMs', () => {
    // Top of the range: the ceiling itself, doubling from the base up to the cap.
    const top = Array.from({ length: 10 }, (_, n) => backoffDelay(n, 500, 30_000, () => 0.999_999_9));
    expect(top).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999, 29_999]);
    // Bottom of the range: zero (full jitter, not "equal jitter").
    for (let n = 0; n < 10; n++) expect(backoffDelay(n, 500, 30_000, () => 0)).toBe(0);
    // In between, proportional; a huge attempt count neither overflows nor exceeds the cap.
    expect(backoffDelay(3, 500, 30_000, () => 0.5)).toBe(2000);
    expect(backoffDelay(10_000, 500, 30_000, () => 0.5)).toBe(15_000);
    // A broken random source cannot push the delay outside [0, ceiling].
    expect(backoffDelay(0, 500, 30_000, () => 7)).toBe(500);
    expect(backoffDelay(0, 500, 30_000, () => -1)).toBe(0);
  });

  it('defaults to base 500 ms, cap 30 s, reset after 10 s', () => {
    expect(DEFAULT_BACKOFF).toMatchObject({ minMs: 500, maxMs: 30_000, stableMs: 10_000 });
  });
});

describe('createWebSocketSignaling: recovery', () => {
  it('reconnects to a server stopped and restarted on the same port, emits open again and re-announces', async () => {
    const port = (wss.address() as AddressInfo).port;
    const signaling = createWebSocketSignaling(url, { WebSocketImpl, reconnectMinMs: 20, reconnectMaxMs: 80 });
    try {
      let opens = 0;
      signaling.on('open', () => {
        opens++;
        signaling.announce(CONTENT, ME, REPORT);
      });
      await until(() => opens === 1, 5000, 'first open');
      await receivedCount(1);

      await stopWss();
      await until(() => !signaling.connected, 5000, 'the client to see the close');
      // While the port is closed the client keeps trying.
      const attemptsBefore = signaling.attempts;
      await until(() => signaling.attempts >= attemptsBefore + 3, 5000, 'reconnect attempts');
      expect(opens).toBe(1);
      // Sending while away never throws; the announce is dropped ('open' announces again).
      expect(() => signaling.announce(CONTENT, ME, REPORT)).not.toThrow();
      expect(() => signaling.leave(CONTENT)).not.toThrow();
      expect(() => signaling.ban(CONTENT, OTHER)).not.toThrow();

      wss = await startWss(port);
      await until(() => opens === 2, 5000, 'open after the restart');
      expect(signaling.connected).toBe(true);
      expect(signaling.opens).toBe(2);
      await receivedCount(2);
      // Exactly the two announces made by the 'open' listener: nothing sent while away leaked through.
      expect(received.map((m) => m.type)).toEqual(['announce', 'announce']);
      expect(connections).toHaveLength(2);

      // And again: a second outage is survived the same way.
      await stopWss();
      wss = await startWss(port);
      await until(() => opens === 3, 5000, 'open after the second restart');
    } finally {
      signaling.close();
    }
  });

  it('waits growing, jittered delays while the server is down, and resets after a stable connection', async () => {
    const port = (wss.address() as AddressInfo).port;
    const scheduled: Array<{ delay: number; attempt: number }> = [];
    // A deterministic "random" that varies: the delays must follow it under the ceiling.
    const draws = [0.9, 0.3, 0.99, 0.6, 0.95, 0.1, 0.97, 0.5];
    let i = 0;
    const signaling = createWebSocketSignaling(url, {
      WebSocketImpl,
      reconnectMinMs: 10,
      reconnectMaxMs: 80,
      stableMs: 300,
      random: () => draws[i++ % draws.length]!,
      onReconnectScheduled: (delay, attempt) => scheduled.push({ delay, attempt }),
    });
    try {
      await next((cb) => signaling.on('open', cb));
      await stopWss();
      await until(() => scheduled.length >= 7, 5000, 'seven scheduled reconnects');
      const firstSeven = scheduled.slice(0, 7);
      expect(firstSeven.map((s) => s.attempt)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      firstSeven.forEach(({ delay, attempt }, n) => {
        const ceiling = Math.min(80, 10 * 2 ** attempt);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(delay).toBe(Math.floor(draws[n]! * ceiling));
      });
      // The ceilings grow 10, 20, 40, 80 and then stay at the cap.
      expect(firstSeven.map((s) => Math.min(80, 10 * 2 ** s.attempt))).toEqual([10, 20, 40, 80, 80, 80, 80]);

      // Back up, and open long enough to count as stable: the next outage starts over at attempt 0.
      wss = await startWss(port);
      await next((cb) => signaling.on('open', cb));
      await sleep(350);
      const before = scheduled.length;
      await stopWss();
      await until(() => scheduled.length > before, 5000, 'a reconnect after the stable connection');
      expect(scheduled[before]!.attempt).toBe(0);
    } finally {
      signaling.close();
    }
  });

  it('with Math.random, delays stay within [0, ceiling] and are not all the same', async () => {
    const scheduled: Array<{ delay: number; attempt: number }> = [];
    const signaling = createWebSocketSignaling(url, {
      WebSocketImpl,
      reconnectMinMs: 8,
      reconnectMaxMs: 16,
      onReconnectScheduled: (delay, attempt) => scheduled.push({ delay, attempt }),
    });
    try {
      // The server drops every connection at once: a server that accepts and drops never resets the backoff.
      onConnection.push((ws) => ws.terminate());
      await until(() => scheduled.length >= 12, 5000, 'twelve scheduled reconnects');
      for (const { delay, attempt } of scheduled) {
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(16, 8 * 2 ** attempt));
      }
      expect(scheduled.map((s) => s.attempt)).toEqual(scheduled.map((_, n) => n));
      expect(new Set(scheduled.slice(1).map((s) => s.delay)).size).toBeGreaterThan(1);
    } finally {
      signaling.close();
    }
  });

  it('keeps at most maxQueuedSignals signals while disconnected, drops the rest, and sends the newest after the re-announce', async () => {
    const port = (wss.address() as AddressInfo).port;
    const signaling = createWebSocketSignaling(url, { WebSocketImpl, reconnectMinMs: 20, reconnectMaxMs: 40, maxQueuedSignals: 8 });
    try {
      signaling.on('open', () => signaling.announce(CONTENT, ME, REPORT));
      await next((cb) => signaling.on('open', cb));
      await receivedCount(1);
      await stopWss();
      await until(() => !signaling.connected, 5000, 'the client to see the close');

      for (let n = 0; n < 1000; n++) {
        signaling.signal(CONTENT, OTHER, { type: 'candidate', candidate: { candidate: `candidate:${n} 1 udp 1 127.0.0.1 9 typ host` } });
        signaling.announce(CONTENT, ME, REPORT);
        signaling.ban(CONTENT, OTHER);
      }
      expect(signaling.queuedSignals).toBe(8);
      expect(signaling.dropped).toBe(992 + 1000 + 1000);

      wss = await startWss(port);
      await next((cb) => signaling.on('open', cb));
      await receivedCount(1 + 1 + 8);
      await sleep(100);
      expect(received).toHaveLength(10);
      expect(received.map((m) => m.type)).toEqual(['announce', 'announce', ...Array<string>(8).fill('signal')]);
      const lines = received.slice(2).map((m) => (m.type === 'signal' && m.data.type === 'candidate' ? m.data.candidate.candidate : ''));
      expect(lines).toEqual(Array.from({ length: 8 }, (_, k) => `candidate:${992 + k} 1 udp 1 127.0.0.1 9 typ host`));
      expect(signaling.queuedSignals).toBe(0);
    } finally {
      signaling.close();
    }
  });

  it('never throws: sending before the first open, after close(), and with maxQueuedSignals 0', async () => {
    const signaling = createWebSocketSignaling(url, { WebSocketImpl, maxQueuedSignals: 0 });
    // CONNECTING: a WebSocket would throw on send(); the port drops instead.
    expect(signaling.connected).toBe(false);
    expect(() => signaling.signal(CONTENT, OTHER, { type: 'offer', sdp: 'v=0' })).not.toThrow();
    expect(() => signaling.announce(CONTENT, ME, REPORT)).not.toThrow();
    expect(signaling.queuedSignals).toBe(0);
    await next((cb) => signaling.on('open', cb));
    signaling.close();
    expect(() => signaling.signal(CONTENT, OTHER, { type: 'offer', sdp: 'v=0' })).not.toThrow();
    expect(() => signaling.announce(CONTENT, ME, REPORT)).not.toThrow();
    expect(() => signaling.close()).not.toThrow();
    await sleep(50);
    expect(received).toHaveLength(0);
  });

  it('a constructor that throws is retried with backoff, not thrown at the caller', async () => {
    let calls = 0;
    const Failing = function () {
      calls++;
      throw new SyntaxError('bad url');
    } as unknown as typeof WebSocket;
    const signaling = createWebSocketSignaling(url, { WebSocketImpl: Failing, reconnectMinMs: 5, reconnectMaxMs: 10 });
    try {
      await until(() => calls >= 3, 2000, 'three attempts');
      expect(signaling.connected).toBe(false);
      expect(signaling.attempts).toBeGreaterThanOrEqual(3);
    } finally {
      signaling.close();
    }
  });
});
