/**
 * The peering adapters' Arrays connections (client/peering-adapters.ts) against a real HTTP
 * server (the bootstrap document; no Discovery, so the server's own `/arrays`) and real
 * WebSocket servers: with cache nodes named in the bootstrap document a download's connection
 * reaches them too (core/merged-signaling.ts), one shared socket per URL; without, it is the
 * instance's connection itself.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { createPeeringAdapters, type PeeringAdapters } from '../../../src/client/peering-adapters.js';
import { parseClientMessage, type ClientMessage, type Report } from '../../../src/protocol/arrays-messages.js';
import { BOOTSTRAP_VERSION, type Bootstrap } from '../../../src/protocol/bootstrap.js';

const CONTENT = 'ab'.repeat(32);
const SECRET = '5'.repeat(64);
const REPORT: Report = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 100, peersWanted: 10, isBackground: false, uploadedBps: 0, downloadBps: 0, mode: 'lan' };

interface ArraysTap {
  wss: WebSocketServer;
  /** Sockets opened, and every message received, by type. */
  sockets: number;
  received: ClientMessage[];
}

function tap(wss: WebSocketServer): ArraysTap {
  const t: ArraysTap = { wss, sockets: 0, received: [] };
  wss.on('connection', (ws) => {
    t.sockets++;
    ws.on('message', (raw) => {
      const m = parseClientMessage(raw.toString());
      if (m.ok) t.received.push(m.value);
    });
  });
  return t;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The server: `/api/bootstrap` naming `cacheNodes` (if any), and its own Arrays service at `/arrays`. */
async function startServer(cacheNodes: string[] | undefined): Promise<{ url: string; arrays: ArraysTap }> {
  let port = 0;
  const http: Server = createServer((req, res) => {
    if (req.url !== '/api/bootstrap') return void res.writeHead(404).end();
    const doc: Bootstrap = {
      version: BOOTSTRAP_VERSION,
      instanceId: 'test',
      endpoints: { arrays: '/arrays', discovery: '/api/discovery', catalog: '/api/catalog', contentPolicy: '/api/content/{contentId}', metadata: '/meta/{contentId}' },
      limits: { maxPeersPerReply: 20, announceIntervalMs: 15_000, peerExpiryMs: 45_000, maxSignalingMessageBytes: 65_536 },
      iceServers: [],
      ...(cacheNodes ? { cacheNodes } : {}),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  const arrays = tap(new WebSocketServer({ server: http, path: '/arrays' }));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  port = (http.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((r) => (arrays.wss.close(), http.close(() => r()), http.closeAllConnections())));
  return { url: `http://127.0.0.1:${port}`, arrays };
}

/** A cache node's own Arrays service. */
async function startCacheNode(): Promise<{ url: string; arrays: ArraysTap }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', r));
  const arrays = tap(wss);
  cleanups.push(() => new Promise<void>((r) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => r()))));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/arrays`, arrays };
}

function adapters(serverUrl: string): PeeringAdapters {
  const p = createPeeringAdapters(serverUrl, SECRET, { iceServers: [] }, { WebSocketImpl: NodeWebSocket as unknown as typeof WebSocket });
  cleanups.push(() => p.close());
  return p;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const announces = (t: ArraysTap) => t.received.filter((m) => m.type === 'announce').length;

describe('peering adapters and cache nodes named by address', () => {
  it("announces to the instance and to every cache node the bootstrap document names, over one socket per URL", async () => {
    const [node1, node2] = [await startCacheNode(), await startCacheNode()];
    const server = await startServer([node1.url, node2.url]);
    const p = adapters(server.url);
    const signaling = await p.arraysFor(CONTENT, 'lan', '');
    expect(await p.arraysFor(CONTENT, 'internet', '')).toBe(signaling);
    // Announces sent before a socket opened are re-sent when it does (the Swarm on the main
    // one's `open`, the merge for the cache nodes').
    signaling.on('open', () => signaling.announce(CONTENT, 'f'.repeat(32), REPORT));
    signaling.announce(CONTENT, 'f'.repeat(32), REPORT);
    await until('every service has an announce', () => [server, node1, node2].every((s) => announces(s.arrays) > 0));
    for (const s of [server, node1, node2]) {
      expect(s.arrays.sockets).toBe(1);
      expect(s.arrays.received[0]).toMatchObject({ type: 'hello', secret: SECRET });
    }
    signaling.ban(CONTENT, 'a'.repeat(32));
    await until('every service has the ban', () => [server, node1, node2].every((s) => s.arrays.received.some((m) => m.type === 'ban')));
  });

  it('without cache nodes, hands out the instance connection itself', async () => {
    const server = await startServer(undefined);
    const p = adapters(server.url);
    const signaling = await p.arraysFor(CONTENT, 'lan', '');
    expect(signaling).toBe(p.signalingAt(new URL('/arrays', server.url.replace('http', 'ws')).href));
  });
});
