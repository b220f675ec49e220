/**
 * The Node peer itself, in this process (test/helpers/node-peer.ts runs it in a child process
 * by default, where a crash of the native WebRTC module cannot take the test runner down).
 *
 * A real tabswarm peer: the real Arrays WebSocket (`ws`), real WebRTC (@roamhq/wrtc under
 * simple-peer), the core Swarm and one core PeerSession per link, seeding every piece from
 * `fileBytes`. It is what test/helpers/sim-peer.ts's startLiar is in memory, over the wire a
 * browser sees.
 *
 * Misbehaviour is a transform of the frames the honest PeerSession sends (docs/protocol.md
 * §4): the link handed to the session has its `send` wrapped, so everything else (handshake,
 * bitfield, backpressure, the upload queue) is the core's own code.
 *
 * A liar keeps answering until the victim closes the link; it never bans anyone, never
 * throws out of an event listener, and logs only with DEBUG=tabswarm:node-peer.
 */
import { randomBytes, randomInt } from 'node:crypto';
import createDebug from 'debug';
import WebSocket from 'ws';
import { Bitfield } from '../../../src/core/bitfield.js';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { PeerSession } from '../../../src/core/peer-session.js';
import type { PeerLink, PeerLinkEvents } from '../../../src/core/ports.js';
import { Swarm } from '../../../src/core/swarm.js';
import { fromHex } from '../../../src/protocol/hex.js';
import { peerIdentityOf } from '../../../src/protocol/peer-identity.js';
import { pieceCountOf, pieceLength, type Metadata } from '../../../src/protocol/metadata.js';
import { FrameType, PIECE_HEADER_BYTES, encodeBitfield, encodeHandshake, encodeRequest } from '../../../src/protocol/wire.js';
import { createWebRtcConnector } from '../../../src/transport/webrtc-connector.js';
import { createWebSocketSignaling } from '../../../src/transport/ws-signaling.js';

const debug = createDebug('tabswarm:node-peer');

export const BEHAVIOURS = ['honest', 'flip', 'truncate', 'oversize', 'wrong-index', 'garbage', 'flood', 'flood-held'] as const;

/**
 * - `honest`: the core's frames, unchanged.
 * - `flip`: the first data byte of each piece (its PIECE frame at offset 0) is inverted.
 * - `truncate`: the last PIECE frame of each piece is dropped (the piece arrives short).
 * - `oversize`: the last PIECE frame of each piece carries OVERSIZE_BYTES more (runs past the piece).
 * - `wrong-index`: every PIECE frame is labelled (index + 1) % pieceCount.
 * - `garbage`: every PIECE frame is replaced by random bytes of the same length.
 * - `flood`: the moment the remote's bitfield arrives (both handshakes done), FLOOD_REQUESTS
 *   REQUEST frames for random valid indexes, before any piece; honest otherwise.
 * - `flood-held`: like `flood`, but sent once the remote holds a piece (its bitfield or first
 *   HAVE), for random pieces among those it holds; honest otherwise.
 */
export type Behaviour = (typeof BEHAVIOURS)[number];

export const FLOOD_REQUESTS = 10_000;
export const OVERSIZE_BYTES = 1024;

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
   *   waits for a getStats round trip), as a peer on another WebRTC stack would.
   */
  handshake?: 'eager' | 'polite' | 'hasty';
  /**
   * Announce this often (ms) besides the server's interval, so the peer keeps asking for peers
   * and keeps trying to reconnect to any it is not linked to (a banned liar knocking again).
   * @default the server's interval only
   */
  announceEveryMs?: number;
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
}

/** What a Node peer reports about itself (also what the child process sends its parent). */
export interface NodePeerState {
  stats: NodePeerStats;
  /** REQUEST frames received, per remote peer. */
  requests: Record<string, number>;
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

/**
 * A wrtc whose data channels send `frames` the moment they open (both the channel this side
 * creates and the one the remote announces), ahead of simple-peer's 'connect'.
 */
function hastyWrtc(base: unknown, frames: Uint8Array[], sent: () => void): unknown {
  interface Channel {
    readyState: string;
    send(data: Uint8Array): void;
    addEventListener(type: string, listener: () => void): void;
  }
  interface Pc {
    createDataChannel(...args: unknown[]): Channel | undefined;
    addEventListener(type: string, listener: (e: { channel?: Channel }) => void): void;
  }
  const mod = base as { RTCPeerConnection: new (...args: unknown[]) => Pc };
  const arm = (ch: Channel | undefined): void => {
    if (!ch) return;
    let done = false;
    const go = (): void => {
      if (done) return;
      done = true;
      try {
        for (const f of frames) ch.send(f);
        sent();
      } catch (e) {
        debug('hasty send failed: %O', e);
      }
    };
    if (ch.readyState === 'open') go();
    else ch.addEventListener('open', go);
  };
  function RTCPeerConnection(...args: unknown[]): Pc {
    const pc = new mod.RTCPeerConnection(...args);
    pc.addEventListener('datachannel', (e) => arm(e.channel));
    const create = pc.createDataChannel.bind(pc);
    pc.createDataChannel = (...a: unknown[]) => {
      const ch = create(...a);
      arm(ch);
      return ch;
    };
    return pc;
  }
  RTCPeerConnection.prototype = mod.RTCPeerConnection.prototype;
  return { ...mod, RTCPeerConnection };
}

/** A fresh identity (secret and the peer ID derived from it), as a tab draws one per page load. */
export const newNodePeerIdentity = (): { secret: string; peerId: string } => peerIdentityOf(randomBytes(32));

export async function runNodePeer(options: NodePeerOptions): Promise<LocalNodePeer> {
  const { contentId, metadata, fileBytes, behaviour } = options;
  const strikesIgnored = options.strikesIgnored ?? true;
  const identity = newNodePeerIdentity();
  const peerId = identity.peerId;
  const log = (format: string, ...args: unknown[]) => debug(`%s [%s %s] ${format}`, new Date().toISOString().slice(11, 23), behaviour, peerId.slice(0, 8), ...args);
  const pieceCount = pieceCountOf(metadata.fileSize, metadata.pieceSize);
  const lengthOf = (i: number): number => pieceLength(metadata, i);
  if (fileBytes.byteLength !== metadata.fileSize) throw new Error(`fileBytes has ${fileBytes.byteLength} bytes, the metadata says ${metadata.fileSize}`);
  const contentIdBytes = fromHex(contentId);
  if (!contentIdBytes || contentIdBytes.byteLength !== 32) throw new Error('contentId must be 64 hex characters');

  const have = new Bitfield(pieceCount);
  for (let i = 0; i < pieceCount; i++) have.set(i);

  const stats: NodePeerStats = { framesSent: 0, piecesServed: 0, requestsReceived: 0, linksOpened: 0, violationsSeen: 0, floods: 0 };
  const requestsByRemote = new Map<string, number>();
  const opensByRemote = new Map<string, number[]>();
  const sessions = new Set<PeerSession>();

  const handshakeMode = options.handshake ?? 'eager';
  const openingFrames = [encodeHandshake(contentIdBytes, pieceCount), encodeBitfield(have.toBytes())];
  const baseWrtc = await loadWrtc();
  const wrtc = handshakeMode === 'hasty' ? hastyWrtc(baseWrtc, openingFrames, () => (stats.framesSent += openingFrames.length)) : baseWrtc;
  const arraysUrl = new URL('/arrays', options.serverUrl);
  arraysUrl.protocol = arraysUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  const signaling = createWebSocketSignaling(arraysUrl.href, { WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket, peerSecret: identity.secret });
  signaling.on('error', (e) => log('server error %s: %s', e.code, e.message));
  const rtc = createWebRtcConnector({ wrtc });
  let linkSeq = 0;
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
        signal(d: Parameters<typeof signal>[0]) {
          log('link #%d signal in %s', n, d.type);
          signal(d);
        },
      });
    },
  };

  /** What goes on the wire instead of `frame` (nothing, one frame, or a changed copy). */
  function transform(frame: Uint8Array): Uint8Array[] {
    if (frame[0] !== FrameType.Piece || frame.byteLength <= PIECE_HEADER_BYTES) return [frame];
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const index = view.getUint32(1);
    const offset = view.getUint32(5);
    const dataLength = frame.byteLength - PIECE_HEADER_BYTES;
    const last = offset + dataLength >= lengthOf(index);
    switch (behaviour) {
      case 'flip': {
        if (offset !== 0) return [frame];
        const out = frame.slice();
        out[PIECE_HEADER_BYTES] = out[PIECE_HEADER_BYTES]! ^ 0xff;
        return [out];
      }
      case 'truncate':
        return last ? [] : [frame];
      case 'oversize': {
        if (!last) return [frame];
        const out = new Uint8Array(frame.byteLength + OVERSIZE_BYTES);
        out.set(frame);
        out.set(randomBytes(OVERSIZE_BYTES), frame.byteLength);
        return [out];
      }
      case 'wrong-index': {
        const out = frame.slice();
        new DataView(out.buffer).setUint32(1, (index + 1) % pieceCount);
        return [out];
      }
      case 'garbage':
        return [new Uint8Array(randomBytes(frame.byteLength))];
      default:
        return [frame];
    }
  }

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
    const put = (frame: Uint8Array): void => {
      for (const out of transform(frame)) {
        link.send(out);
        stats.framesSent++;
      }
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
        else queue.push(frame);
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

  const swarm = new Swarm({
    contentId,
    peerId,
    signaling,
    connector,
    config: DEFAULT_CONFIG,
    report: () => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 0, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 }),
    onLink(link) {
      stats.linksOpened++;
      opensByRemote.set(link.remoteId, [...(opensByRemote.get(link.remoteId) ?? []), Date.now()]);
      log('link open with %s', link.remoteId.slice(0, 8));
      let violations = 0;
      const session = new PeerSession(
        wrap(link),
        {
          contentId: contentIdBytes,
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
      session.events.on('closed', () => {
        sessions.delete(session);
        log('link closed with %s', link.remoteId.slice(0, 8));
      });
      session.start();
    },
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
  try {
    await announced;
  } catch (e) {
    swarm.stop();
    signaling.close();
    throw e;
  }
  const announcer = options.announceEveryMs ? setInterval(() => swarm.announce(), options.announceEveryMs) : undefined;

  let stopped: Promise<void> | undefined;
  return {
    peerId,
    behaviour,
    stats,
    state: () => ({
      stats: { ...stats },
      requests: Object.fromEntries(requestsByRemote),
      opens: Object.fromEntries([...opensByRemote].map(([k, v]) => [k, [...v]])),
      linked: [...sessions].map((s) => s.id),
    }),
    stop() {
      stopped ??= (async () => {
        clearInterval(announcer);
        swarm.stop();
        for (const s of sessions) s.close();
        sessions.clear();
        // Let the leave reach the server before the socket goes.
        await new Promise((r) => setTimeout(r, 50));
        signaling.close();
      })();
      return stopped;
    },
  };
}
