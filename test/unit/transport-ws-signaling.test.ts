import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { parseClientMessage, type ClientMessage, type Report } from '../../src/protocol/arrays-messages.js';
import { createWebSocketSignaling } from '../../src/transport/ws-signaling.js';

const CONTENT = 'ab'.repeat(32);
const ME = '11'.repeat(16);
const OTHER = '22'.repeat(16);
const REPORT: Report = {
  uploaded: 0,
  downloaded: 0,
  downloadedCdn: 0,
  left: 100,
  peersWanted: 10,
  isBackground: false,
  uploadedBps: 0,
  downloadBps: 0,
};
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

beforeEach(async () => {
  received = [];
  invalid = [];
  connections = [];
  onConnection = [];
  onReceived = [];
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  wss.on('connection', (ws) => {
    connections.push(ws);
    ws.on('message', (raw, isBinary) => {
      const parsed = parseClientMessage(raw.toString());
      if (isBinary || !parsed.ok) invalid.push(isBinary ? 'binary frame' : parsed.ok ? '' : parsed.reason);
      else received.push(parsed.value);
      for (const cb of onReceived) cb();
    });
    for (const cb of onConnection) cb(ws);
  });
});

afterEach(async () => {
  expect(invalid).toEqual([]);
  for (const ws of wss.clients) ws.terminate();
  await new Promise((resolve) => wss.close(resolve));
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
    const signaling = createWebSocketSignaling(url, { WebSocketImpl, reconnectMinMs: 20, reconnectMaxMs: 100 });
    try {
      let opens = 0;
      signaling.on('open', () => {
        opens++;
        signaling.announce(CONTENT, ME, REPORT);
      });
      await next((cb) => signaling.on('open', cb));
      await receivedCount(1);

      const closed = new Promise((resolve) => connections[0]!.once('close', resolve));
      connections[0]!.terminate();
      await closed;
      // Give the client a moment to see the close before it is asked to send.
      while (signaling.connected) await new Promise((r) => setTimeout(r, 5));
      signaling.announce(CONTENT, ME, REPORT); // dropped: 'open' will announce again
      signaling.signal(CONTENT, OTHER, { type: 'answer', sdp: 'v=0' }); // queued

      await next((cb) => signaling.on('open', cb));
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
    // Drop every connection at once: the client must keep coming back.
    onConnection.push((ws) => ws.terminate());
    while (connections.length < 3) await new Promise((r) => setTimeout(r, 10));
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
