/**
 * The Signaling port over one WebSocket to the Arrays service, shared by every download of
 * the tab. One JSON message per text frame (src/protocol/arrays-messages.ts).
 *
 * - Connects at once and reconnects forever, until `close()`, after a delay drawn with
 *   exponential backoff and full jitter: attempt n (0-based) waits uniformly in
 *   [0, min(maxMs, minMs * 2^n)]. So a thousand tabs cut off by one service restart do not
 *   come back in lockstep. The attempt count resets only after a connection stayed open
 *   `stableMs`, so a server that accepts and drops at once is not hammered.
 * - On every (re)connect the first frame is `hello` with the tab's peer secret (the server
 *   binds the peer ID derived from it to the socket, taking it back from a socket of ours it
 *   has not noticed is dead), then 'open' is emitted; listeners announce again then
 *   (src/core/swarm.ts re-announces and re-sends its bans on 'open').
 * - Nothing sent while disconnected can grow without bound: announces, leaves and bans are
 *   dropped (the server forgot us; 'open' re-derives them); signals (the WebRTC offer,
 *   answer and candidates of a link being set up) are kept in a queue of at most
 *   `maxQueuedSignals`, oldest dropped first, and sent after the 'open' listeners ran, so
 *   after the re-announce.
 * - Never throws at the caller: sending on a closing or closed socket, a failing constructor,
 *   and invalid received frames are logged and ignored.
 */
import createDebug from 'debug';
import { Emitter } from '../core/emitter.js';
import type { Signaling, SignalingEvents } from '../core/ports.js';
import { parseServerMessage, type ClientMessage, type WatchScope } from '../protocol/arrays-messages.js';

const debug = createDebug('tabswarm:signaling');

const OPEN = 1;

/** Reconnect delays, in ms. Exported for tests and for the documentation. */
export const DEFAULT_BACKOFF = Object.freeze({ minMs: 500, maxMs: 30_000, stableMs: 10_000, maxQueuedSignals: 256 });

export interface WebSocketSignalingOptions {
  /**
   * The tab's peer secret (64 hex characters, src/protocol/peer-identity.ts), sent as `hello`
   * first on every connection. Required by the Arrays service: without it nothing is accepted.
   */
  peerSecret?: string;
  /**
   * A cache node's key (docs/cache-node.md), sent in `hello`: the service then lists this peer
   * as a cache node and takes its `watch`es, if it was configured with the key.
   */
  cacheKey?: string;
  /** The WebSocket class; defaults to the global one. */
  WebSocketImpl?: typeof WebSocket;
  /** Base of the exponential backoff: the ceiling of the first reconnect delay. @default 500 */
  reconnectMinMs?: number;
  /** Cap of the reconnect delay. @default 30000 */
  reconnectMaxMs?: number;
  /** A connection that stayed open this long resets the backoff. @default 10000 */
  stableMs?: number;
  /** Uniform random number in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
  /** Signals kept while disconnected; older ones are dropped beyond this. @default 256 */
  maxQueuedSignals?: number;
  /** Called with each reconnect delay chosen (ms) and the attempt number (0-based); for tests and diagnostics. */
  onReconnectScheduled?: (delayMs: number, attempt: number) => void;
}

/** What `createWebSocketSignaling` returns: the port, plus its lifecycle and counters. */
export interface WebSocketSignaling extends Signaling {
  close(): void;
  readonly connected: boolean;
  /** Connections that opened so far (the first one included). */
  readonly opens: number;
  /** Connection attempts made so far (the first one included). */
  readonly attempts: number;
  /** Signals waiting for the next connection. */
  readonly queuedSignals: number;
  /** Messages dropped because the socket was not open (announces, leaves, bans, overflowing signals). */
  readonly dropped: number;
  /**
   * Cache nodes: watch this scope for `wanted` contents, now and after every reconnect (the
   * service forgets a socket's watches when it closes). Watching a scope twice is one watch.
   */
  watch(scope: WatchScope): void;
}

/** The delay before reconnect attempt `attempt` (0-based): full jitter over the exponential ceiling. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.min(1, Math.max(0, random())) * ceiling);
}

/** Sends `text`; false if the socket refused it (it started closing meanwhile). */
function trySend(socket: WebSocket, text: string): boolean {
  try {
    socket.send(text);
    return true;
  } catch (e) {
    // A socket that started closing between the readyState check and here.
    debug('send failed: %O', e);
    return false;
  }
}

/** A server frame, parsed into a typed message and emitted; anything else is ignored (and said in the debug log). */
function receive(events: Emitter<SignalingEvents>, data: unknown): void {
  if (typeof data !== 'string') return void debug('ignored a binary frame');
  const parsed = parseServerMessage(data);
  if (!parsed.ok) return void debug('ignored an invalid frame: %s', parsed.reason);
  const m = parsed.value;
  switch (m.type) {
    case 'peers':
      return events.emit('peers', { contentId: m.contentId, peers: m.peers, intervalMs: m.intervalMs, origin: m.origin, ...(m.cdnSlot ? { cdnSlot: m.cdnSlot } : {}) });
    case 'signal':
      return events.emit('signal', { contentId: m.contentId, from: m.from, data: m.data, origin: m.origin });
    case 'welcome':
      debug('bound as peer %s%s', m.peerId, m.cache ? ' (cache node)' : '');
      return events.emit('welcome', { peerId: m.peerId, cache: m.cache === true });
    case 'wanted':
      return events.emit('wanted', { contentId: m.contentId, mode: m.mode, ...(m.group !== undefined ? { group: m.group } : {}) });
    case 'error':
      debug('server error %s: %s (%o)', m.code, m.message, m.inReplyTo);
      return events.emit('error', { code: m.code, message: m.message, inReplyTo: m.inReplyTo });
  }
}

export function createWebSocketSignaling(url: string, options: WebSocketSignalingOptions = {}): WebSocketSignaling {
  const minMs = Math.max(0, options.reconnectMinMs ?? DEFAULT_BACKOFF.minMs);
  const maxMs = Math.max(minMs, options.reconnectMaxMs ?? DEFAULT_BACKOFF.maxMs);
  const stableMs = options.stableMs ?? DEFAULT_BACKOFF.stableMs;
  const random = options.random ?? Math.random;
  const maxQueued = Math.max(0, options.maxQueuedSignals ?? DEFAULT_BACKOFF.maxQueuedSignals);
  const events = new Emitter<SignalingEvents>();
  const queue: string[] = [];
  /** The scopes watched (cache nodes), sent again after every hello. */
  const watches = new Map<string, WatchScope>();
  let ws: WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let openedAt = 0;
  let closed = false;
  let opens = 0;
  let attempts = 0;
  let dropped = 0;

  function connect(): void {
    timer = undefined;
    if (closed) return;
    attempts++;
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
      opens++;
      if (options.peerSecret !== undefined) {
        const hello: ClientMessage = { type: 'hello', secret: options.peerSecret, ...(options.cacheKey !== undefined ? { cacheKey: options.cacheKey } : {}) };
        trySend(socket, JSON.stringify(hello));
      }
      for (const scope of watches.values()) trySend(socket, JSON.stringify({ type: 'watch', ...scope } satisfies ClientMessage));
      events.emit('open', undefined);
      // Signals queued while away go out after the re-announce the 'open' listeners made.
      while (queue.length > 0 && ws === socket && socket.readyState === OPEN) {
        if (!trySend(socket, queue[0]!)) break;
        queue.shift();
      }
    });
    socket.addEventListener('message', (event: MessageEvent) => {
      if (ws === socket) receive(events, event.data);
    });
    socket.addEventListener('error', () => debug('socket error on %s', url));
    socket.addEventListener('close', (event: CloseEvent) => {
      if (ws !== socket) return;
      ws = undefined;
      debug('disconnected from %s (code %d %s)', url, event.code, event.reason);
      if (openedAt > 0 && Date.now() - openedAt >= stableMs) failures = 0;
      openedAt = 0;
      scheduleReconnect();
    });
  }

  function scheduleReconnect(): void {
    if (closed || timer !== undefined) return;
    const attempt = failures++;
    const delay = backoffDelay(attempt, minMs, maxMs, random);
    debug('reconnecting in %d ms (attempt %d)', delay, attempt);
    events.emit('closed', { retryInMs: delay });
    try {
      options.onReconnectScheduled?.(delay, attempt);
    } catch (e) {
      debug('onReconnectScheduled threw: %O', e);
    }
    timer = setTimeout(connect, delay);
  }

  function send(message: ClientMessage): void {
    if (closed) {
      dropped++;
      return void debug('closed: dropped %s', message.type);
    }
    const text = JSON.stringify(message);
    if (ws?.readyState === OPEN && trySend(ws, text)) return;
    // Announces, leaves and bans are re-derived on 'open' (the swarm re-announces and re-bans);
    // only signals, which nobody repeats, wait for the next connection, boundedly.
    if (message.type !== 'signal' || maxQueued === 0) {
      dropped++;
      return void debug('not connected: dropped %s', message.type);
    }
    queue.push(text);
    while (queue.length > maxQueued) {
      queue.shift();
      dropped++;
      debug('signal queue full: dropped the oldest');
    }
  }

  connect();

  return {
    announce: (contentId, peerId, report, cdnPieces) => send({ type: 'announce', contentId, peerId, report, ...(cdnPieces !== undefined && cdnPieces.length > 0 ? { cdnPieces: [...cdnPieces] } : {}) }),
    signal: (contentId, to, data) => send({ type: 'signal', contentId, to, data }),
    leave: (contentId) => send({ type: 'leave', contentId }),
    ban: (contentId, peerId) => send({ type: 'ban', contentId, peerId }),
    watch(scope) {
      const key = `${scope.mode}/${scope.group ?? ''}`;
      if (watches.has(key)) return;
      const copy: WatchScope = { mode: scope.mode, ...(scope.group !== undefined ? { group: scope.group } : {}) };
      watches.set(key, copy);
      if (ws?.readyState === OPEN) trySend(ws, JSON.stringify({ type: 'watch', ...copy } satisfies ClientMessage));
    },
    on: (event, listener) => events.on(event, listener),
    get connected() {
      return ws?.readyState === OPEN;
    },
    get opens() {
      return opens;
    },
    get attempts() {
      return attempts;
    },
    get queuedSignals() {
      return queue.length;
    },
    get dropped() {
      return dropped;
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
