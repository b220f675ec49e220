/**
 * The Signaling port over one WebSocket to the Arrays service, shared by every download of
 * the tab. One JSON message per text frame (src/protocol/arrays-messages.ts).
 *
 * - Connects at once and reconnects forever with exponential backoff and jitter, until
 *   `close()`. The backoff resets only after a connection stayed up a while, so a server
 *   that accepts and drops at once is not hammered.
 * - 'open' is emitted on every (re)connect; listeners announce again then. Announces and
 *   leaves made while disconnected are dropped (the server forgot us anyway); signals are
 *   queued (bounded) and sent after the 'open' listeners ran, so after the re-announce.
 * - Every received frame is parsed; an invalid one is logged and ignored, never thrown.
 */
import createDebug from 'debug';
import { Emitter } from '../core/emitter.js';
import type { Signaling, SignalingEvents } from '../core/ports.js';
import { parseServerMessage, type ClientMessage } from '../protocol/arrays-messages.js';

const debug = createDebug('tabswarm:signaling');

/** Signals kept while disconnected; older ones are dropped beyond this. */
const MAX_QUEUED_SIGNALS = 256;
/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 10_000;
const OPEN = 1;

export interface WebSocketSignalingOptions {
  /** The WebSocket class; defaults to the global one. */
  WebSocketImpl?: typeof WebSocket;
  /** First reconnect delay. @default 500 */
  reconnectMinMs?: number;
  /** Longest reconnect delay. @default 15000 */
  reconnectMaxMs?: number;
}

export function createWebSocketSignaling(
  url: string,
  options: WebSocketSignalingOptions = {},
): Signaling & { close(): void; readonly connected: boolean } {
  const minMs = options.reconnectMinMs ?? 500;
  const maxMs = Math.max(minMs, options.reconnectMaxMs ?? 15_000);
  const events = new Emitter<SignalingEvents>();
  const queue: string[] = [];
  let ws: WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let openedAt = 0;
  let closed = false;

  function connect(): void {
    timer = undefined;
    if (closed) return;
    let socket: WebSocket;
    try {
      socket = new (options.WebSocketImpl ?? WebSocket)(url);
    } catch (e) {
      debug('cannot connect to %s: %O', url, e);
      return scheduleReconnect();
    }
    ws = socket;
    socket.addEventListener('open', () => {
      if (ws !== socket) return;
      debug('connected to %s', url);
      openedAt = Date.now();
      events.emit('open', undefined);
      // Signals queued while away go out after the re-announce the 'open' listeners made.
      while (queue.length > 0 && ws === socket && socket.readyState === OPEN) socket.send(queue.shift()!);
    });
    socket.addEventListener('message', (event: MessageEvent) => {
      if (ws === socket) receive(event.data);
    });
    socket.addEventListener('error', () => debug('socket error on %s', url));
    socket.addEventListener('close', (event: CloseEvent) => {
      if (ws !== socket) return;
      ws = undefined;
      debug('disconnected from %s (code %d %s)', url, event.code, event.reason);
      if (openedAt > 0 && Date.now() - openedAt >= STABLE_MS) failures = 0;
      openedAt = 0;
      scheduleReconnect();
    });
  }

  function scheduleReconnect(): void {
    if (closed || timer !== undefined) return;
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(failures, 30));
    failures++;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    debug('reconnecting in %d ms', Math.round(delay));
    timer = setTimeout(connect, delay);
  }

  function receive(data: unknown): void {
    if (typeof data !== 'string') return void debug('ignored a binary frame');
    const parsed = parseServerMessage(data);
    if (!parsed.ok) return void debug('ignored an invalid frame: %s', parsed.reason);
    const m = parsed.value;
    switch (m.type) {
      case 'peers':
        return events.emit('peers', { contentId: m.contentId, peers: m.peers, intervalMs: m.intervalMs });
      case 'signal':
        return events.emit('signal', { contentId: m.contentId, from: m.from, data: m.data });
      case 'error':
        debug('server error %s: %s', m.code, m.message);
        return events.emit('error', { code: m.code, message: m.message });
    }
  }

  function send(message: ClientMessage): void {
    const text = JSON.stringify(message);
    if (ws?.readyState === OPEN) return ws.send(text);
    // Signals and bans must not be lost; announces and leaves are re-derived on reconnect.
    if ((message.type !== 'signal' && message.type !== 'ban') || closed) return void debug('not connected: dropped %s', message.type);
    if (queue.push(text) > MAX_QUEUED_SIGNALS) {
      queue.shift();
      debug('signal queue full: dropped the oldest');
    }
  }

  connect();

  return {
    announce: (contentId, peerId, report) => send({ type: 'announce', contentId, peerId, report }),
    signal: (contentId, to, data) => send({ type: 'signal', contentId, to, data }),
    leave: (contentId) => send({ type: 'leave', contentId }),
    ban: (contentId, peerId) => send({ type: 'ban', contentId, peerId }),
    on: (event, listener) => events.on(event, listener),
    get connected() {
      return ws?.readyState === OPEN;
    },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      queue.length = 0;
      const socket = ws;
      ws = undefined;
      try {
        socket?.close(1000, 'closed');
      } catch (e) {
        debug('close failed: %O', e);
      }
    },
  };
}
