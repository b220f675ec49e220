/**
 * The Node peer itself, in this process (test/helpers/node-peer.ts runs it in a child process
 * by default, where a crash of the native WebRTC module cannot take the test runner down).
 *
 * A real tabswarm peer: the real Arrays WebSocket (`ws`, with a `hello` and its own secret),
 * real WebRTC under simple-peer (node-datachannel bound to an address of its own by default,
 * or @roamhq/wrtc), the core Swarm and one core PeerSession per link, seeding every piece from
 * `fileBytes`. It is what test/helpers/sim-peer.ts's startLiar is in memory, over the wire a
 * browser sees.
 *
 * Misbehaviour is a transform of the frames the honest PeerSession sends (docs/protocol.md
 * §4): the link handed to the session has its `send` wrapped, so everything else (handshake,
 * bitfield, backpressure, the upload queue) is the core's own code. The churner replaces the
 * session by test/helpers/churn.ts.
 *
 * A liar keeps answering until the victim closes the link; it never bans anyone, never
 * throws out of an event listener, and logs only with DEBUG=tabswarm:node-peer. With `rotate`
 * it comes back under a new peer ID each time a link is closed on it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import createDebug from 'debug';
import { Bitfield } from '../../../src/core/bitfield.js';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { PeerSession } from '../../../src/core/peer-session.js';
import type { PeerLink, PeerLinkEvents } from '../../../src/core/ports.js';
import { Swarm } from '../../../src/core/swarm.js';
import type { SignalData } from '../../../src/protocol/arrays-messages.js';
import { fromHex } from '../../../src/protocol/hex.js';
import { peerIdentityOf } from '../../../src/protocol/peer-identity.js';
import { pieceCountOf, pieceLength, type Metadata } from '../../../src/protocol/metadata.js';
import { FrameType, encodeBitfield, encodeHandshake, encodePiece, encodeRequest } from '../../../src/protocol/wire.js';
import { boundWebSocket } from '../../../src/node/bound-websocket.js';
import { loadNodeWebRtc } from '../../../src/node/node-webrtc.js';
import { createWebRtcConnector } from '../../../src/transport/webrtc-connector.js';
import { createWebSocketSignaling } from '../../../src/transport/ws-signaling.js';
import { churn, type ChurnStats } from '../churn.js';
import { SHAPES, createShaper, type Shape, type ShapeTiming } from '../shapers.js';
import { hastyWrtc } from './hasty-wrtc.js';
import { LIES, OVERSIZE_BYTES, lie, type Lie } from './lies.js';

export { OVERSIZE_BYTES };

const debug = createDebug('tabswarm:node-peer');

export const BEHAVIOURS = ['honest', ...LIES, 'flood', 'flood-held', ...SHAPES, 'churn', 'zero-frame', 'oversize-frame'] as const;

/**
 * - `honest`: the core's frames, unchanged.
 * - `flip`, `truncate`, `oversize`, `wrong-index`, `garbage`: lies about piece bytes (lies.ts).
 * - `flood`: the moment the remote's bitfield arrives (both handshakes done), FLOOD_REQUESTS
 *   REQUEST frames for random valid indexes, before any piece; honest otherwise.
 * - `flood-held`: like `flood`, but sent once the remote holds a piece (its bitfield or first
 *   HAVE), for random pieces among those it holds; honest otherwise.
 * - `silent`, `half-then-silent`, `trickle`, `slow`: claims every piece, then stalls (shapers.ts).
 * - `churn`: claims every piece, then asks for the remote's pieces and cancels them, over and
 *   over (churn.ts); serves nothing.
 * - `zero-frame`: once the remote's bitfield is in, sends one 0-byte message; honest otherwise.
 * - `oversize-frame`: once the remote's bitfield is in, sends one OVERSIZE_FRAME_BYTES message
 *   (a PIECE frame too large for the channel); honest otherwise. On wrtc, and on
 *   node-datachannel as it is, the sender's own channel dies of it; with `deliverOversize` the
 *   remote's advertised maximum message size is rewritten so that the message goes through.
 */
export type Behaviour = (typeof BEHAVIOURS)[number];

export const FLOOD_REQUESTS = 10_000;
export const OVERSIZE_FRAME_BYTES = 300 * 1024;

export interface NodePeerOptions {
  /** The tabswarm server, e.g. http://127.0.0.1:port (its Arrays service is at /arrays). */
  serverUrl: string;
  contentId: string;
  metadata: Metadata;
  /** The whole file; every piece is served from it (before the behaviour's transform). */
  fileBytes: Uint8Array;
  behaviour: Behaviour;
  /**
   * The violations the remote side commits against this peer (REJECTs for the flood's REQUESTs,
   * say) are only counted when true (the default): a liar bans nobody. When false the peer
   * closes a link after DEFAULT_CONFIG.strikesToBan of them, as a client would.
   */
  strikesIgnored?: boolean;
  /**
   * When this peer sends its HANDSHAKE and BITFIELD:
   * - `eager` (the default, the core's own behaviour): when the link reports open (simple-peer's
   *   'connect'), from the PeerSession's constructor;
   * - `polite`: only once the remote's first frame has arrived, i.e. once the remote's session
   *   certainly listens. The protocol allows it (each side sends its handshake when its side
   *   opens; nothing says when the other side will read it);
   * - `hasty`: the instant the RTCDataChannel itself opens, before simple-peer's 'connect' (which
   *   waits for a getStats round trip), as a peer on another WebRTC stack would. wrtc only.
   */
  handshake?: 'eager' | 'polite' | 'hasty';
  /**
   * Announce this often (ms) besides the server's interval, so the peer keeps asking for peers
   * and keeps trying to reconnect to any it is not linked to (a banned liar knocking again).
   * @default the server's interval only
   */
  announceEveryMs?: number;
  /**
   * The WebRTC stack: node-datachannel (the default), whose ICE candidates are `bindAddress`
   * alone, so that a browser sees this peer at an address of its own (a tab refuses the
   * address of a peer it banned, in LAN mode: it must not be the honest peers' address too);
   * or @roamhq/wrtc (always for the `hasty` handshake), on every address of the machine.
   */
  stack?: 'datachannel' | 'wrtc';
  /**
   * node-datachannel only: the address of this peer's ICE candidates and of its Arrays socket.
   * @default the next address of 127.0.0.2-250 (each Node peer of a process its own)
   */
  bindAddress?: string;
  /**
   * Comes back under a new peer ID after a link is closed on it, or when no link opened under
   * its current ID within `rotateIdleMs` (its new IDs are refused), at most this many times.
   * @default 0
   */
  rotate?: number;
  /** @default 3000 */
  rotateIdleMs?: number;
  /** The timing of the stalling behaviours (shapers.ts). */
  shapeTiming?: Partial<ShapeTiming>;
  /** `oversize-frame` on node-datachannel: make the frame reach the remote (see Behaviour). */
  deliverOversize?: boolean;
  /** `churn`: whether it claims every piece (the default, as the churner did) or none. */
  churnClaimsAll?: boolean;
  /**
   * The lies (lies.ts) start only after this many pieces went out honestly on a link, so the
   * victim trusts the peer (it is no stranger any more) and asks it for several at once.
   * @default 0
   */
  honestFirst?: number;
  /** A cache node's key (sent in `hello`): the service lists this peer as a cache node, which tabs prefer. */
  cacheKey?: string;
}

export interface NodePeerStats {
  /** Frames written to data channels, after the behaviour's transform. */
  framesSent: number;
  /** Pieces the honest layer served (each then transformed by the behaviour). */
  piecesServed: number;
  /** REQUEST frames received, from all remotes. */
  requestsReceived: number;
  /** Links whose data channel opened. */
  linksOpened: number;
  /** Violations the remotes committed against this peer, as its sessions saw them. */
  violationsSeen: number;
  /** Flood bursts sent (each FLOOD_REQUESTS frames). */
  floods: number;
  /** The churner's REQUESTs and CANCELs sent, and the piece bytes it got for them. */
  churnRequests: number;
  churnCancels: number;
  churnBytesReceived: number;
  /** Times it came back under a new peer ID. */
  rotations: number;
}

/** What a Node peer reports about itself (also what the child process sends its parent). */
export interface NodePeerState {
  stats: NodePeerStats;
  /** Every peer ID it announced under, in order (more than one with `rotate`). */
  peerIds: string[];
  /** REQUEST frames received, per remote peer. */
  requests: Record<string, number>;
  /** `churn`: REQUEST frames sent, per remote peer. */
  churnRequestsTo: Record<string, number>;
  /** When (Date.now()) each data channel opened, per remote peer. */
  opens: Record<string, number[]>;
  /** Remote peers currently linked. */
  linked: string[];
}

export interface LocalNodePeer {
  peerId: string;
  behaviour: Behaviour;
  stats: NodePeerStats;
  state(): NodePeerState;
  stop(): Promise<void>;
}

interface WrtcModule {
  default?: unknown;
}

let wrtcPromise: Promise<unknown> | undefined;
function loadWrtc(): Promise<unknown> {
  wrtcPromise ??= import('@roamhq/wrtc').then((m: WrtcModule) => m.default ?? m);
  return wrtcPromise;
}

/** The last byte of the address the previous Node peer of this process was given. */
let lastAddressByte = randomInt(2, 251);

/**
 * The next address of 127.0.0.2-250, in turn from a random start: Node peers alive together
 * never share one (two honest and lying peers at one address would be refused together, as a
 * tab refuses the address of a peer it banned). Only the test's own process may pick: each
 * child process would start from its own random byte (startNodePeer picks for its children).
 */
export function nextLoopbackAddress(): string {
  lastAddressByte = lastAddressByte >= 250 ? 2 : lastAddressByte + 1;
  return `127.0.0.${lastAddressByte}`;
}

/** node-datachannel's WebRTC API bound to `bindAddress` (src/node/node-webrtc.ts, the cache node's own). */
const loadDatachannel = (bindAddress: string, maxMessageSize: number | undefined): Promise<unknown> =>
  loadNodeWebRtc({ bindAddress, ...(maxMessageSize ? { maxMessageSize } : {}) });

/** A fresh identity (secret and the peer ID derived from it), as a tab draws one per page load. */
export const newNodePeerIdentity = (): { secret: string; peerId: string } => peerIdentityOf(randomBytes(32));

export async function runNodePeer(options: NodePeerOptions): Promise<LocalNodePeer> {
  const { contentId, metadata, fileBytes, behaviour } = options;
  const strikesIgnored = options.strikesIgnored ?? true;
  const pieceCount = pieceCountOf(metadata.fileSize, metadata.pieceSize);
  const lengthOf = (i: number): number => pieceLength(metadata, i);
  if (fileBytes.byteLength !== metadata.fileSize) throw new Error(`fileBytes has ${fileBytes.byteLength} bytes, the metadata says ${metadata.fileSize}`);
  const contentIdBytes = fromHex(contentId);
  if (!contentIdBytes || contentIdBytes.byteLength !== 32) throw new Error('contentId must be 64 hex characters');

  const have = new Bitfield(pieceCount);
  for (let i = 0; i < pieceCount; i++) have.set(i);

  const stats: NodePeerStats = {
    framesSent: 0,
    piecesServed: 0,
    requestsReceived: 0,
    linksOpened: 0,
    violationsSeen: 0,
    floods: 0,
    churnRequests: 0,
    churnCancels: 0,
    churnBytesReceived: 0,
    rotations: 0,
  };
  /** The churner's counters, per link, with the remote each link went to. */
  const churns: Array<{ remoteId: string; stats: ChurnStats }> = [];
  const peerIds: string[] = [];
  const requestsByRemote = new Map<string, number>();
  const opensByRemote = new Map<string, number[]>();
  const sessions = new Set<PeerSession>();
  const links = new Set<PeerLink>();
  const cleanups = new Set<() => void>();

  const handshakeMode = options.handshake ?? 'eager';
  const stack = handshakeMode === 'hasty' ? 'wrtc' : (options.stack ?? 'datachannel');
  const bindAddress = stack === 'datachannel' ? (options.bindAddress ?? nextLoopbackAddress()) : undefined;
  const deliverOversize = behaviour === 'oversize-frame' && options.deliverOversize === true && stack === 'datachannel';
  const openingFrames = [encodeHandshake(contentIdBytes, pieceCount), encodeBitfield(have.toBytes())];
  const wrtc =
    stack === 'datachannel'
      ? await loadDatachannel(bindAddress!, deliverOversize ? 1024 * 1024 : undefined)
      : handshakeMode === 'hasty'
        ? hastyWrtc(await loadWrtc(), openingFrames, () => (stats.framesSent += openingFrames.length))
        : await loadWrtc();
  const arraysUrl = new URL('/arrays', options.serverUrl);
  arraysUrl.protocol = arraysUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  const rtc = createWebRtcConnector({ wrtc });
  let current: { peerId: string; stop(): void } | undefined;
  let stopping = false;
  let log = (format: string, ...args: unknown[]) => debug(`[%s] ${format}`, behaviour, ...args);
  let linkSeq = 0;

  /** Rewrites the max-message-size the remote advertises (deliverOversize), so ours goes out. */
  function munge(d: SignalData): SignalData {
    if (!deliverOversize || (d.type !== 'offer' && d.type !== 'answer')) return d;
    return { ...d, sdp: d.sdp.replace(/a=max-message-size:\d+/, 'a=max-message-size:1048576') };
  }

  const connector: typeof rtc = {
    connect(remoteId, initiator) {
      const link = rtc.connect(remoteId, initiator);
      const n = ++linkSeq;
      log('link #%d to %s, initiator %s', n, remoteId.slice(0, 8), initiator);
      link.on('signal', (d) => log('link #%d signal out %s', n, d.type));
      link.on('open', () => log('link #%d open', n));
      link.on('close', (e) => log('link #%d close: %s', n, e.reason));
      const signal = link.signal.bind(link);
      return Object.assign(link, {
        signal(d: SignalData) {
          log('link #%d signal in %s', n, d.type);
          signal(munge(d));
        },
      });
    },
  };

  function flood(link: PeerLink, pick: () => number): void {
    stats.floods++;
    log('flooding %s with %d requests', link.remoteId.slice(0, 8), FLOOD_REQUESTS);
    try {
      for (let n = 0; n < FLOOD_REQUESTS; n++) {
        link.send(encodeRequest(pick()));
        stats.framesSent++;
      }
    } catch (e) {
      log('flood interrupted: %O', e);
    }
  }

  /** One frame out of protocol (zero-frame, oversize-frame), once the remote has opened. */
  function misframe(link: PeerLink): void {
    const frame = behaviour === 'zero-frame' ? new Uint8Array(0) : encodePiece(0, 0, new Uint8Array(OVERSIZE_FRAME_BYTES - 9));
    log('sending a %d-byte frame to %s', frame.byteLength, link.remoteId.slice(0, 8));
    try {
      link.send(frame);
      stats.framesSent++;
    } catch (e) {
      log('misframe failed: %O', e);
    }
  }

  /** The link the PeerSession sees: outgoing frames transformed, incoming ones watched. */
  function wrap(link: PeerLink): PeerLink {
    const remoteHeld = new Set<number>();
    let flooded = false;
    /** polite: our frames wait until the remote has spoken. */
    let remoteSpoke = handshakeMode !== 'polite';
    const queue: Uint8Array[] = [];
    /** hasty: the opening frames went at the channel's open; the session's own are dropped. */
    const skipOpening = new Set<number>(handshakeMode === 'hasty' ? [FrameType.Handshake, FrameType.Bitfield] : []);
    /** Our BITFIELD is on the wire: anything sent from now on comes after the opening. */
    let openingOut = handshakeMode === 'hasty';
    let afterOpening: (() => void) | undefined;
    const wire = (frame: Uint8Array): void => {
      link.send(frame);
      stats.framesSent++;
    };
    const shaper = (SHAPES as readonly string[]).includes(behaviour) ? createShaper(behaviour as Shape, lengthOf, wire, options.shapeTiming) : undefined;
    if (shaper) link.on('close', () => shaper.stop());
    /** Pieces whose first chunk went out on this link, in order: the first `honestFirst` are true. */
    const started: number[] = [];
    const lying = (frame: Uint8Array): boolean => {
      if (!(LIES as readonly string[]).includes(behaviour) || frame[0] !== FrameType.Piece) return false;
      const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      const index = v.getUint32(1);
      if (v.getUint32(5) === 0 && !started.includes(index)) started.push(index);
      const ordinal = started.indexOf(index);
      return ordinal < 0 || ordinal >= (options.honestFirst ?? 0);
    };
    const put = (frame: Uint8Array): void => {
      if (shaper) shaper.send(frame);
      else for (const out of lying(frame) ? lie(behaviour as Lie, frame, pieceCount, lengthOf) : [frame]) wire(out);
      if (frame[0] === FrameType.Bitfield && !openingOut) {
        openingOut = true;
        const then = afterOpening;
        afterOpening = undefined;
        then?.();
      }
    };
    /**
     * Runs `f` once our opening is out. The remote's first frames may reach the session inside
     * its constructor (the link's early buffer), before it has sent its own handshake.
     */
    const whenOpen = (f: () => void): void => {
      if (openingOut) f();
      else afterOpening = f;
    };
    const watch = (m: Uint8Array): void => {
      const type = m[0];
      if (!remoteSpoke) {
        remoteSpoke = true;
        for (const f of queue.splice(0)) put(f);
      }
      if (type !== FrameType.Request) log('frame %d (%d bytes) from %s', type, m.byteLength, link.remoteId.slice(0, 8));
      if (type === FrameType.Request && m.byteLength === 5) {
        stats.requestsReceived++;
        requestsByRemote.set(link.remoteId, (requestsByRemote.get(link.remoteId) ?? 0) + 1);
      }
      if ((behaviour === 'zero-frame' || behaviour === 'oversize-frame') && type === FrameType.Bitfield) whenOpen(() => misframe(link));
      if (behaviour !== 'flood' && behaviour !== 'flood-held') return;
      if (type === FrameType.Bitfield) {
        const bits = new Bitfield(pieceCount, m.subarray(1));
        for (let i = 0; i < pieceCount; i++) if (bits.has(i)) remoteHeld.add(i);
      } else if (type === FrameType.Have && m.byteLength === 5) {
        const i = new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(1);
        if (i < pieceCount) remoteHeld.add(i);
      } else {
        return;
      }
      if (flooded) return;
      if (behaviour === 'flood' && type === FrameType.Bitfield) {
        flooded = true;
        // Both bitfields known; the flood goes right after our opening, before any piece (the
        // remote is about to request some), while the remote holds what its bitfield said.
        whenOpen(() => flood(link, () => randomInt(pieceCount)));
      } else if (behaviour === 'flood-held' && remoteHeld.size > 0) {
        flooded = true;
        const indexes = [...remoteHeld];
        whenOpen(() => setTimeout(() => flood(link, () => indexes[randomInt(indexes.length)]!), 0));
      }
    };
    return {
      remoteId: link.remoteId,
      signal: (data) => link.signal(data),
      send(frame) {
        const type = frame[0]!;
        if (type !== FrameType.Piece) log('sending frame %d (%d bytes) to %s', type, frame.byteLength, link.remoteId.slice(0, 8));
        if (skipOpening.delete(type)) return;
        if (remoteSpoke) put(frame);
        else queue.push(frame.slice()); // kept past send: the session reuses its frame buffer
      },
      get bufferedAmount() {
        return link.bufferedAmount;
      },
      close: () => link.close(),
      on<K extends keyof PeerLinkEvents>(event: K, listener: (payload: PeerLinkEvents[K]) => void): () => void {
        if (event !== 'message') return link.on(event, listener);
        const onMessage = listener as (payload: Uint8Array) => void;
        return link.on('message', (m) => {
          try {
            watch(m);
          } catch (e) {
            log('watch failed: %O', e);
          }
          onMessage(m);
        });
      },
    };
  }

  function onLink(link: PeerLink): void {
    stats.linksOpened++;
    links.add(link);
    opensByRemote.set(link.remoteId, [...(opensByRemote.get(link.remoteId) ?? []), Date.now()]);
    log('link open with %s', link.remoteId.slice(0, 8));
    link.on('close', () => {
      links.delete(link);
      log('link closed with %s', link.remoteId.slice(0, 8));
      // Banned (or dropped): come back as someone new.
      if (!stopping && stats.rotations < (options.rotate ?? 0)) rotate();
    });
    if (behaviour === 'churn') {
      churns.push({ remoteId: link.remoteId, stats: churn(link, { contentId: contentIdBytes!, pieceCount, claimsAll: options.churnClaimsAll ?? true, everyMs: 5, cancelAfterMs: 0 }) });
      return;
    }
    let violations = 0;
    const session = new PeerSession(
      wrap(link),
      {
        contentId: contentIdBytes!,
        pieceCount,
        pieceLength: lengthOf,
        have,
        readPiece: async (i) => {
          if (i < 0 || i >= pieceCount) return undefined;
          const start = i * metadata.pieceSize;
          return fileBytes.subarray(start, start + lengthOf(i));
        },
      },
      DEFAULT_CONFIG,
    );
    sessions.add(session);
    session.events.on('uploaded', () => {
      stats.piecesServed++;
    });
    session.events.on('violation', (reason) => {
      stats.violationsSeen++;
      violations++;
      log('violation by %s: %s', link.remoteId.slice(0, 8), reason);
      if (!strikesIgnored && violations >= DEFAULT_CONFIG.strikesToBan) session.close();
    });
    session.events.on('closed', () => sessions.delete(session));
    session.start();
  }

  /** Joins the swarm under a fresh identity; resolves once the server answered its first announce. */
  async function incarnate(): Promise<{ peerId: string; stop(): void }> {
    const identity = newNodePeerIdentity();
    const peerId = identity.peerId;
    peerIds.push(peerId);
    log = (format: string, ...args: unknown[]) => debug(`%s [%s %s] ${format}`, new Date().toISOString().slice(11, 23), behaviour, peerId.slice(0, 8), ...args);
    const signaling = createWebSocketSignaling(arraysUrl.href, {
      WebSocketImpl: boundWebSocket(bindAddress),
      peerSecret: identity.secret,
      ...(options.cacheKey !== undefined ? { cacheKey: options.cacheKey } : {}),
    });
    signaling.on('error', (e) => log('server error %s: %s', e.code, e.message));
    const swarm = new Swarm({
      contentId,
      peerId,
      signaling,
      connector,
      config: { ...DEFAULT_CONFIG, relinkBackoffMs: 100, maxRelinkBackoffMs: 100 },
      report: () => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 0, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 }),
      onLink,
    });
    // Returns once the server has the peer in the swarm (its first announce was answered).
    const announced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node peer ${peerId}: no answer to its announce within 10 s`)), 10_000);
      const off = signaling.on('peers', (m) => {
        if (m.contentId !== contentId) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
    swarm.start();
    const announcer = options.announceEveryMs ? setInterval(() => swarm.announce(), options.announceEveryMs) : undefined;
    const stop = () => {
      clearInterval(announcer);
      swarm.stop();
      // Let the leave reach the server before the socket goes.
      setTimeout(() => signaling.close(), 50);
    };
    cleanups.add(stop);
    try {
      await announced;
    } catch (e) {
      stop();
      throw e;
    }
    return { peerId, stop };
  }

  let rotating = false;
  function rotate(): void {
    if (rotating) return;
    rotating = true;
    stats.rotations++;
    // Out of every swarm and link under the old ID, then in again under a new one.
    current?.stop();
    for (const l of [...links]) l.close();
    void incarnate().then(
      (next) => {
        current = next;
        rotating = false;
        if (stopping) next.stop();
        else rotateIfIdle(next);
      },
      (e: unknown) => {
        rotating = false;
        log('could not come back: %O', e);
      },
    );
  }

  /** With `rotate`: an ID that no one links to within `rotateIdleMs` is given up for a new one. */
  function rotateIfIdle(incarnation: { peerId: string }): void {
    if (!options.rotate) return;
    const opened = stats.linksOpened;
    const timer = setTimeout(() => {
      cleanups.delete(cancel);
      if (!stopping && current === incarnation && stats.linksOpened === opened && stats.rotations < (options.rotate ?? 0)) rotate();
    }, options.rotateIdleMs ?? 3000);
    const cancel = () => clearTimeout(timer);
    cleanups.add(cancel);
  }

  current = await incarnate();
  rotateIfIdle(current);
  const first = current.peerId;

  let stopped: Promise<void> | undefined;
  const collectChurn = (): void => {
    stats.churnRequests = churns.reduce((n, c) => n + c.stats.requests, 0);
    stats.churnCancels = churns.reduce((n, c) => n + c.stats.cancels, 0);
    stats.churnBytesReceived = churns.reduce((n, c) => n + c.stats.bytesReceived, 0);
  };
  const churnRequestsTo = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const c of churns) out[c.remoteId] = (out[c.remoteId] ?? 0) + c.stats.requests;
    return out;
  };
  return {
    peerId: first,
    behaviour,
    stats,
    state: () => {
      collectChurn();
      return {
        stats: { ...stats },
        peerIds: [...peerIds],
        requests: Object.fromEntries(requestsByRemote),
        churnRequestsTo: churnRequestsTo(),
        opens: Object.fromEntries([...opensByRemote].map(([k, v]) => [k, [...v]])),
        linked: [...links].map((l) => l.remoteId),
      };
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        for (const c of cleanups) c();
        for (const s of sessions) s.close();
        for (const l of links) l.close();
        sessions.clear();
        await new Promise((r) => setTimeout(r, 100));
      })();
      return stopped;
    },
  };
}
