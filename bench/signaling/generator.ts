/**
 * Child process of the signaling load benchmark: `count` simulated peers, each one WebSocket
 * to the server under test, speaking that server's own protocol. The runner starts several
 * (one process may hold at most 20,000 open files here), sends commands over IPC, and sums
 * what they report.
 *
 * - tabswarm (`ours`): `{type:'announce', contentId, peerId, report:{...}}` as the client sends
 *   it (src/core/download.ts: peersWanted 20), plus whatever fields the runner found the
 *   current schema to require (`announceExtra`). The answer is `peers` (or `error`).
 * - bittorrent-tracker: the WebTorrent client's announce, `{action:'announce', info_hash,
 *   peer_id, numwant, uploaded, downloaded, left, event, offers}`, with 5 offers of ~600-byte
 *   SDP each and their `offer_id`, info_hash and peer_id as 20-character binary strings, as
 *   WebTorrent sends them. The first announce is `started`, the rest `update`. The answer is
 *   `{complete, incomplete, action, interval, info_hash}`; the tracker also forwards each
 *   offer to a random peer of the swarm, so the sockets receive those too (counted apart).
 *
 * Peer i (global index) is in swarm i mod 100 (`hundred`), or swarm 0 (`one`). Each socket
 * has at most one announce in flight: it announces again as soon as it is answered.
 */
import { createHash } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { exitWithParent, SWARMS, toParent, type GeneratorCommand, type GeneratorSetup, type Layout, type WindowEvent } from './common.js';
import { peerIdOfSecret } from '../../src/protocol/peer-identity.js';

const setup = JSON.parse(process.argv[2] ?? 'null') as GeneratorSetup | null;
if (!setup) throw new Error('usage: generator.ts <setup JSON> (started by bench/signaling/run.ts)');

interface Peer {
  ws: WebSocket | undefined;
  /** Frames to send, per layout. */
  frames: Record<Layout, string>;
  /** The tracker's first announce (`event: 'started'`); ours: the `hello` every socket opens with. */
  startFrame: string;
  /** When the announce in flight was sent (performance.now()), or -1 when none is. */
  sentAt: number;
  layout: Layout;
}

/** 20 bytes as the JavaScript string WebTorrent puts in its JSON (one char per byte). */
function binaryString(seed: string): string {
  return createHash('sha1').update(seed).digest().toString('latin1');
}

/** A WebRTC offer of ~600 bytes, shaped like a data-channel-only offer from Chromium. */
function sdpOffer(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const lines = [
    'v=0',
    `o=- ${BigInt('0x' + h.slice(0, 15)).toString()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=candidate:${parseInt(h.slice(16, 24), 16)} 1 udp 2113937151 ${h.slice(24, 32)}-${h.slice(32, 36)}-${h.slice(36, 40)}.local 54321 typ host generation 0 network-cost 999`,
    `a=ice-ufrag:${h.slice(40, 44)}`,
    `a=ice-pwd:${h.slice(0, 24)}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${h.toUpperCase().match(/../g)!.join(':')}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ];
  return lines.join('\r\n') + '\r\n';
}

/** Peer i's secret: what its `hello` presents, and what its peer ID derives from. */
const secretOf = (i: number): string => createHash('sha256').update(`peer secret ${i}`).digest('hex');

function oursFrame(i: number, contentId: string): string {
  return JSON.stringify({
    type: 'announce',
    contentId,
    peerId: peerIdOfSecret(secretOf(i)),
    report: {
      uploaded: 0,
      downloaded: (i % 7) * 1_048_576,
      downloadedCdn: (i % 5) * 1_048_576,
      left: (i % 17) * 4 * 1_048_576,
      peersWanted: 20,
      isBackground: false,
      uploadedBps: 0,
      downloadBps: 0,
      ...setup!.announceExtra.report,
    },
    ...setup!.announceExtra.top,
  });
}

function trackerFrame(i: number, infoHashHex: string, offers: Array<{ offer: { type: 'offer'; sdp: string }; offer_id: string }>, event: string): string {
  return JSON.stringify({
    action: 'announce',
    info_hash: Buffer.from(infoHashHex, 'hex').toString('latin1'),
    peer_id: binaryString(`peer ${i}`),
    numwant: 5,
    uploaded: 0,
    downloaded: (i % 7) * 1_048_576,
    left: (i % 17) * 4 * 1_048_576,
    event,
    offers,
  });
}

const swarmOf = (i: number, layout: Layout): string => setup.swarmIds[layout === 'one' ? 0 : i % SWARMS]!;

const peers: Peer[] = [];
for (let k = 0; k < setup.count; k++) {
  const i = setup.first + k;
  if (setup.kind === 'ours') {
    const hello = JSON.stringify({ type: 'hello', secret: secretOf(i) });
    peers.push({ ws: undefined, frames: { one: oursFrame(i, swarmOf(i, 'one')), hundred: oursFrame(i, swarmOf(i, 'hundred')) }, startFrame: hello, sentAt: -1, layout: 'hundred' });
  } else {
    const offers = Array.from({ length: 5 }, (_, o) => ({ offer: { type: 'offer' as const, sdp: sdpOffer(`${i}/${o}`) }, offer_id: binaryString(`offer ${i}/${o}`) }));
    peers.push({
      ws: undefined,
      frames: { one: trackerFrame(i, swarmOf(i, 'one'), offers, 'update'), hundred: trackerFrame(i, swarmOf(i, 'hundred'), offers, 'update') },
      startFrame: trackerFrame(i, swarmOf(i, 'hundred'), offers, 'started'),
      sentAt: -1,
      layout: 'hundred',
    });
  }
}

type Kind = 'reply' | 'error' | 'relayed' | 'other';
/** What a frame from the server is, from its first bytes (no JSON parse on the hot path). */
function classify(data: RawData): Kind {
  const head = (Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)).toString('latin1', 0, 48);
  if (setup!.kind === 'ours') {
    if (head.startsWith('{"type":"peers"')) return 'reply';
    if (head.startsWith('{"type":"error"')) return 'error';
    return 'other';
  }
  if (head.startsWith('{"complete"')) return 'reply';
  if (head.includes('failure reason')) return 'error';
  if (head.startsWith('{"action":"announce","offer"')) return 'relayed';
  return 'other';
}

// ---- the phase in progress
let phase: 'idle' | 'once' | 'window' = 'idle';
let windowStart = Infinity;
let windowEnd = -Infinity;
let sending = false;
let replies = 0;
let errors = 0;
let relayed = 0;
let sent = 0;
let outstanding = 0;
let firstError: string | undefined;
let latencies: number[] = [];
let onSettled: (() => void) | undefined;

function send(p: Peer, frame: string): void {
  if (p.ws?.readyState !== WebSocket.OPEN) return;
  p.sentAt = performance.now();
  outstanding++;
  sent++;
  p.ws.send(frame);
}

function onFrame(p: Peer, data: RawData): void {
  const kind = classify(data);
  const now = performance.now();
  if (kind === 'relayed') {
    if (now >= windowStart && now <= windowEnd) relayed++;
    return;
  }
  if (kind === 'other' || p.sentAt < 0) return;
  const latency = now - p.sentAt;
  p.sentAt = -1;
  outstanding--;
  const counted = phase === 'once' || (now >= windowStart && now <= windowEnd);
  if (kind === 'error') {
    if (counted) errors++;
    firstError ??= (Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)).toString('utf8', 0, 300);
  } else if (counted) {
    replies++;
    if (phase === 'window') latencies.push(Math.round(latency * 100) / 100);
  }
  if (sending && now < windowEnd) send(p, p.frames[p.layout]);
  if (outstanding === 0) onSettled?.();
}

function openCount(): number {
  return peers.filter((p) => p.ws?.readyState === WebSocket.OPEN).length;
}

async function connectAll(): Promise<void> {
  let next = 0;
  let opened = 0;
  let failed = 0;
  let firstErr: string | undefined;
  const openOne = (p: Peer): Promise<void> =>
    new Promise((resolve) => {
      const ws = new WebSocket(setup!.url, { perMessageDeflate: false });
      p.ws = ws;
      ws.on('message', (data) => onFrame(p, data));
      ws.once('open', () => {
        opened++;
        // Ours: the hello first (its `welcome` is not an answer the benchmark counts).
        if (setup!.kind === 'ours') ws.send(p.startFrame);
        resolve();
      });
      ws.on('error', (err) => {
        firstErr ??= err.message;
        if (ws.readyState !== WebSocket.OPEN) {
          failed++;
          resolve();
        }
      });
      ws.on('close', () => {
        if (p.sentAt >= 0) {
          p.sentAt = -1;
          outstanding--;
          if (outstanding === 0) onSettled?.();
        }
      });
    });
  const worker = async (): Promise<void> => {
    while (next < peers.length) await openOne(peers[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(setup!.connectConcurrency, peers.length) }, worker));
  toParent({ ev: 'connected', opened, failed, ...(firstErr !== undefined ? { firstError: firstErr } : {}) });
}

function resetCounters(): void {
  replies = 0;
  errors = 0;
  relayed = 0;
  sent = 0;
  firstError = undefined;
  latencies = [];
}

/** Resolves when nothing is in flight, or after `ms`. */
function settled(ms: number): Promise<void> {
  if (outstanding === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      onSettled = undefined;
      resolve();
    }
    onSettled = done;
  });
}

async function announceOnce(layout: Layout, timeoutMs: number): Promise<void> {
  resetCounters();
  phase = 'once';
  for (const p of peers) {
    p.layout = layout;
    send(p, setup!.kind === 'tracker' ? p.startFrame : p.frames[layout]);
  }
  await settled(timeoutMs);
  phase = 'idle';
  toParent({ ev: 'announced', answered: replies, errors, open: openCount(), ...(firstError !== undefined ? { firstError } : {}) });
}

async function runWindow(layout: Layout, startAt: number, durationMs: number, drainMs: number): Promise<void> {
  resetCounters();
  for (const p of peers) p.layout = layout;
  // startAt is wall-clock time (Date.now(), shared by every process); the window is kept in
  // this process's monotonic clock.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  phase = 'window';
  windowStart = performance.now();
  windowEnd = windowStart + durationMs;
  sending = true;
  for (const p of peers) if (p.sentAt < 0) send(p, p.frames[layout]);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowEnd - performance.now()) + 1));
  sending = false;
  const result: WindowEvent = { ev: 'window', replies, errors, sent, relayed, latenciesMs: latencies, outstanding: 0, open: 0 };
  if (firstError !== undefined) result.firstError = firstError;
  await settled(drainMs);
  phase = 'idle';
  windowStart = Infinity;
  windowEnd = -Infinity;
  result.outstanding = outstanding;
  result.open = openCount();
  toParent(result);
}

function closeAll(): void {
  for (const p of peers) p.ws?.terminate();
}

process.on('message', (msg: GeneratorCommand) => {
  const fail = (err: unknown): void => {
    toParent({ ev: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  };
  switch (msg.cmd) {
    case 'connect':
      connectAll().catch(fail);
      break;
    case 'announce-once':
      announceOnce(msg.layout, msg.timeoutMs).catch(fail);
      break;
    case 'window':
      runWindow(msg.layout, msg.startAt, msg.durationMs, msg.drainMs).catch(fail);
      break;
    case 'status':
      toParent({ ev: 'status', open: openCount() });
      break;
    case 'stop':
      closeAll();
      setTimeout(() => process.exit(0), 100);
      break;
  }
});
exitWithParent(closeAll);
toParent({ ev: 'ready' });
