/**
 * The Arrays service's connections, whatever their transport (arrays-socket.ts): admission (a
 * total cap and a cap per address bucket), one frame at a time per socket on its own queue (a
 * flood past MAX_PENDING_FRAMES unhandled frames is closed), frames parsed into typed messages
 * or struck, the `hello` that binds a peer ID to its socket (and makes it a cache node when it
 * gives a configured key: arrays-cache-nodes.ts), heartbeats, and the goodbye at shutdown.
 * What a parsed message asks is the `handle` callback's (arrays.ts).
 */
import type { Logger } from 'pino';
import { parseClientMessage, type ClientMessage, type InReplyTo, type Report, type ServerMessage } from '../src/protocol/arrays-messages.js';
import { peerIdOfSecret } from '../src/protocol/peer-identity.js';
import { TokenBucket } from '../src/protocol/token-bucket.js';
import type { CacheNodeState, CacheRefusal } from './arrays-cache-nodes.js';
import type { Admission, ArraysSocket, ArraysSocketHandlers, UpgradeRequest } from './arrays-socket.js';
import type { ServerConfig } from './config.js';
import { addressBucketOf, lanKeyOf } from './lan-key.js';

/** Bad frames tolerated on one socket before it is closed. */
export const MAX_STRIKES = 10;
/** Frames of one socket waiting to be handled before the socket is closed as a flood (a cache node's: more). */
export const MAX_PENDING_FRAMES = 256;
/** WebSocket close code for a policy violation. */
const CLOSE_POLICY = 1008;
const CLOSE_GOING_AWAY = 1001;
/** WebSocket close code of a socket whose peer ID a newer socket of the same peer took over. */
export const CLOSE_REPLACED = 4001;
/** How long `closeAll()` waits for clients to complete the closing handshake. */
const CLOSE_GRACE_MS = 250;

export type ConnectionsConfig = Pick<
  ServerConfig,
  'announceRatePerSec' | 'announceBurst' | 'signalRatePerSec' | 'signalBurst' | 'banRatePerSec' | 'banBurst' | 'maxSocketsPerAddress' | 'maxArraysSockets'
>;

export interface Connection {
  socket: ArraysSocket;
  /** The client's LAN (signaling/lan-key.ts), for LAN-mode scope. */
  lanKey: string;
  /** What this socket counts against in the per-address cap and the address guard. */
  addressBucket: string;
  announces: TokenBucket;
  signals: TokenBucket;
  /** `ban` messages that are new (a repeat costs nothing); past it they are ignored. */
  banReports: TokenBucket;
  peerId: string | undefined;
  swarms: Set<string>;
  /** The partition (scope key) of each swarm in `swarms`: an announce into another one is a new membership. */
  scopes: Map<string, string>;
  /** Set when its hello gave a configured cache key (arrays-cache-nodes.ts). */
  cache: CacheNodeState | undefined;
  /** The last announce per swarm (scope and report), to put the member back into a restarted shared registry. */
  lastAnnounce: Map<string, { scopeKey: string; report: Report }>;
  /** Peers this socket's peer banned, per content: never listed to it, their signals not relayed to it. */
  bans: Map<string, Set<string>>;
  strikes: number;
  /** Tail of this socket's frame queue. */
  queue: Promise<void>;
  pending: number;
  /** Unhandled frames past which the socket is closed as a flood. */
  maxPending: number;
  closed: boolean;
  /** Answered the last ping (or sent something) since the last heartbeat. */
  alive: boolean;
  /** Called when the transport reports the socket closed (see `closeAll()`). */
  onClosed: (() => void) | undefined;
}

/** What an error answers, from the message that caused it. */
function replyTo(msg: ClientMessage | undefined): InReplyTo {
  if (!msg) return { type: 'unknown' };
  switch (msg.type) {
    case 'hello':
      return { type: 'hello' };
    case 'announce':
      return { type: 'announce', contentId: msg.contentId, peerId: msg.peerId };
    case 'signal':
      return { type: 'signal', contentId: msg.contentId, peerId: msg.to };
    case 'leave':
      return { type: 'leave', contentId: msg.contentId };
    case 'ban':
      return { type: 'ban', contentId: msg.contentId, peerId: msg.peerId };
    case 'watch':
      return { type: 'watch' };
  }
}

export function send(conn: Connection, msg: ServerMessage): void {
  if (!conn.closed) conn.socket.send(JSON.stringify(msg));
}

export function sendError(conn: Connection, code: string, message: string, msg?: ClientMessage): void {
  send(conn, { type: 'error', code, message: message.slice(0, 1024), inReplyTo: replyTo(msg) });
}

export interface ConnectionsDeps {
  config: ConnectionsConfig;
  log: Logger;
  now: () => number;
  addressOf: (req: UpgradeRequest) => string;
  /** A parsed message of a socket that said hello (never the hello itself); errors are the caller's to answer. */
  handle: (conn: Connection, msg: Exclude<ClientMessage, { type: 'hello' }>) => Promise<void>;
  /** The socket closed: its memberships go (on its queue, after its last frame). */
  closed: (conn: Connection) => Promise<void>;
  /** The cache side (arrays-cache-nodes.ts): a hello's cache key, and a cache socket's close (at once, not queued). */
  cacheNodes: {
    admit(conn: Connection, key: string, replacing: Connection | undefined): CacheRefusal | undefined;
    release(conn: Connection): void;
  };
}

export class Connections {
  readonly all = new Set<Connection>();
  readonly byPeerId = new Map<string, Connection>();
  /** Open sockets per address bucket. */
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly d: ConnectionsDeps) {}

  get size(): number {
    return this.all.size;
  }

  /** A bad message: an error, and a strike; at MAX_STRIKES the socket is closed. */
  strike(conn: Connection, code: string, message: string, msg?: ClientMessage): void {
    sendError(conn, code, message, msg);
    conn.strikes++;
    if (conn.strikes >= MAX_STRIKES && !conn.closed) {
      this.d.log.debug({ peerId: conn.peerId, strikes: conn.strikes }, 'closing socket: too many bad messages');
      conn.socket.close(CLOSE_POLICY, 'too many bad messages');
    }
  }

  /** Runs `task` after every earlier task of this socket; logs (never rethrows) failures. */
  enqueue(conn: Connection, task: () => Promise<void>): void {
    conn.pending++;
    conn.queue = conn.queue
      .then(task)
      .catch((err: unknown) => this.d.log.error({ err, peerId: conn.peerId }, 'arrays handler failed'))
      .finally(() => {
        conn.pending--;
      });
  }

  readonly admit = (req: UpgradeRequest): Admission => {
    const { config, log } = this.d;
    const address = this.d.addressOf(req);
    if (this.all.size >= config.maxArraysSockets) {
      log.debug({ connections: this.all.size }, 'refused: the Arrays service is full');
      return { ok: false, status: 503 };
    }
    if ((this.perAddress.get(addressBucketOf(address)) ?? 0) >= config.maxSocketsPerAddress) {
      log.debug({ remote: address }, 'refused: too many sockets from this address');
      return { ok: false, status: 429 };
    }
    return { ok: true, address };
  };

  /** Serves one upgraded socket (any transport); the handlers are the transport's to call. */
  readonly attach = (socket: ArraysSocket, address: string): ArraysSocketHandlers => {
    const { config, log } = this.d;
    const t = this.d.now();
    const conn: Connection = {
      socket,
      lanKey: lanKeyOf(address),
      addressBucket: addressBucketOf(address),
      announces: new TokenBucket(config.announceRatePerSec, config.announceBurst, t),
      signals: new TokenBucket(config.signalRatePerSec, config.signalBurst, t),
      banReports: new TokenBucket(config.banRatePerSec, config.banBurst, t),
      peerId: undefined,
      swarms: new Set(),
      scopes: new Map(),
      cache: undefined,
      lastAnnounce: new Map(),
      bans: new Map(),
      strikes: 0,
      queue: Promise.resolve(),
      pending: 0,
      maxPending: MAX_PENDING_FRAMES,
      closed: false,
      alive: true,
      onClosed: undefined,
    };
    this.all.add(conn);
    this.perAddress.set(conn.addressBucket, (this.perAddress.get(conn.addressBucket) ?? 0) + 1);
    log.debug({ remote: address, lanKey: conn.lanKey, connections: this.all.size }, 'connected');
    return {
      message: (data, isBinary) => {
        if (conn.closed) return;
        conn.alive = true;
        if (conn.pending >= conn.maxPending) {
          conn.socket.close(CLOSE_POLICY, 'too many messages');
          return;
        }
        this.enqueue(conn, () => this.frame(conn, data, isBinary));
      },
      pong: () => {
        conn.alive = true;
      },
      close: () => {
        if (conn.closed) return;
        conn.closed = true;
        this.all.delete(conn);
        const open = (this.perAddress.get(conn.addressBucket) ?? 1) - 1;
        if (open > 0) this.perAddress.set(conn.addressBucket, open);
        else this.perAddress.delete(conn.addressBucket);
        this.d.cacheNodes.release(conn);
        this.enqueue(conn, () => this.forget(conn));
        conn.onClosed?.();
        log.debug({ peerId: conn.peerId, connections: this.all.size }, 'disconnected');
      },
    };
  };

  /** Terminates the sockets that stopped answering pings; pings the others. */
  heartbeat(): void {
    for (const conn of this.all) {
      if (!conn.alive) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }

  /** Says goodbye (1001 tells clients to reconnect elsewhere or later), then cuts the stragglers. */
  async closeAll(): Promise<void> {
    const closing = [...this.all].map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.closed) return resolve();
          conn.onClosed = resolve;
          conn.socket.close(CLOSE_GOING_AWAY, 'server shutting down');
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closing), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const conn of this.all) conn.socket.terminate();
  }

  private async frame(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    if (conn.closed) return;
    if (isBinary) return this.strike(conn, 'bad-message', 'binary frames are not accepted; send JSON text');
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) return this.strike(conn, 'bad-message', parsed.reason);
    const msg = parsed.value;
    if (msg.type === 'hello') return this.hello(conn, msg);
    if (conn.peerId === undefined) return this.strike(conn, 'hello-first', 'say hello (with your peer secret) first', msg);
    return this.d.handle(conn, msg);
  }

  /**
   * Binds the peer ID of the hello's secret to this socket. A socket already holding it (the
   * same tab on a socket the server has not yet noticed is dead) is closed: the ID is the
   * secret holder's, and the secret holder is here. A hello with a cache key that is refused
   * binds nothing (the holder keeps its ID): it is answered and its socket closed (1008).
   */
  private hello(conn: Connection, msg: Extract<ClientMessage, { type: 'hello' }>): void {
    if (conn.peerId !== undefined) return this.strike(conn, 'hello-again', 'a connection says hello once', msg);
    const peerId = peerIdOfSecret(msg.secret)!;
    const holder = this.byPeerId.get(peerId);
    if (msg.cacheKey !== undefined) {
      const refused = this.d.cacheNodes.admit(conn, msg.cacheKey, holder?.closed === false ? holder : undefined);
      if (refused !== undefined) {
        sendError(conn, refused.code, refused.message, msg);
        conn.socket.close(CLOSE_POLICY, refused.code);
        return;
      }
    }
    if (holder !== undefined && holder !== conn && !holder.closed) {
      this.d.log.debug({ peerId }, 'peer reconnected: its old socket is replaced');
      holder.socket.close(CLOSE_REPLACED, 'replaced by a newer connection of this peer');
    }
    conn.peerId = peerId;
    this.byPeerId.set(peerId, conn);
    send(conn, { type: 'welcome', peerId, ...(conn.cache !== undefined ? { cache: true as const } : {}) });
  }

  /** A closed socket's peer ID goes, and its memberships through `closed`. */
  private async forget(conn: Connection): Promise<void> {
    const { peerId } = conn;
    if (peerId === undefined) return;
    if (this.byPeerId.get(peerId) === conn) this.byPeerId.delete(peerId);
    await this.d.closed(conn);
  }
}
