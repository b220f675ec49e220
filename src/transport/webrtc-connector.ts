/**
 * The PeerConnector port over WebRTC data channels, with simple-peer doing the offer/answer
 * and trickle-ICE dance.
 *
 * simple-peer's prebuilt browser bundle is imported, not the package entry: the bundle carries
 * its own Buffer and stream, so Vite needs no Node polyfills.
 *
 * Data bypasses simple-peer's stream both ways. Out: `send` writes to the RTCDataChannel
 * (simple-peer's `_channel`) and backpressure is the channel's own `bufferedAmount` with
 * `bufferedAmountLowThreshold = lowWaterMark`, because simple-peer's stream stops at 64 KiB
 * queued, far below what fills a data channel. In: simple-peer's channel message handler is
 * replaced, because its stream silently drops a 0-byte message (which the wire protocol counts
 * as a violation) and turns a text message into bytes; each message is delivered as it came.
 *
 * simple-peer's errors never escape: a failure of any kind closes the link, and 'close' is
 * emitted exactly once with the reason.
 */
import createDebug from 'debug';
import SimplePeer from 'simple-peer/simplepeer.min.js';
import { Emitter } from '../core/emitter.js';
import type { PeerConnector, PeerLink, PeerLinkEvents } from '../core/ports.js';
import type { SignalData } from '../protocol/arrays-messages.js';

const debug = createDebug('tabswarm:webrtc');

/** Messages kept for a link before its first 'message' listener; an honest peer sends two (handshake, bitfield). */
const MAX_EARLY_MESSAGES = 64;

export interface WebRtcConnectorOptions {
  /** STUN/TURN servers. @default [] (host candidates only: LAN and loopback) */
  iceServers?: RTCIceServer[];
  /** 'relay': TURN-relayed candidates only (needs a TURN server in `iceServers`). @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** 'drain' fires when the channel's queue falls to this many bytes. @default 1 MiB */
  lowWaterMark?: number;
  /** A WebRTC implementation for Node (e.g. @roamhq/wrtc); the browser's by default. */
  wrtc?: unknown;
}

/** What simple-peer emits as 'signal', loosely typed: it is checked field by field below. */
interface PeerSignal {
  type?: string;
  sdp?: string;
  candidate?: { candidate?: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null };
}

function toSignalData(s: PeerSignal): SignalData | undefined {
  if ((s.type === 'offer' || s.type === 'answer') && typeof s.sdp === 'string') return { type: s.type, sdp: s.sdp };
  if (s.type === 'candidate' && typeof s.candidate?.candidate === 'string') {
    const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = s.candidate;
    return { type: 'candidate', candidate: { candidate, sdpMid, sdpMLineIndex, usernameFragment } };
  }
  if (s.type === 'renegotiate') return { type: 'renegotiate', renegotiate: true };
  return undefined; // transceiverRequest: media only, never used here
}

/**
 * Whether an error from simple-peer means the open data channel died under us: a channel error
 * (an SCTP abort from the remote, which a frame too large for the channel causes) that is not
 * Chromium's ordinary teardown. A page that closes, or a tab that closes the link while its
 * abort overtakes the channel's close, aborts with the reason "Close called"; that is a peer
 * leaving, not a violation. Not exact: now and then (about one run in six of the e2e test of a
 * closed tab) Chromium reports a closing page as a channel error with no message at all, so
 * the Swarm counts a death only once the peer shows it is still here (`channelDeathRecheckMs`).
 */
export function channelDied(e: Error): boolean {
  return (e as { code?: unknown }).code === 'ERR_DATA_CHANNEL' && !/Close called/i.test(e.message);
}

/** simple-peer's errors carry a `code` (ERR_DATA_CHANNEL, ERR_ICE_CONNECTION_FAILURE, ...): keep it. */
function reasonOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${e.message}` : e.message;
}

export function createWebRtcConnector(options: WebRtcConnectorOptions = {}): PeerConnector {
  const lowWaterMark = options.lowWaterMark ?? 1024 * 1024;
  return {
    connect(remoteId, initiator) {
      const rtcConfig: RTCConfiguration = { iceServers: options.iceServers ?? [], iceTransportPolicy: options.iceTransportPolicy ?? 'all' };
      return createLink(remoteId, initiator, rtcConfig, lowWaterMark, options.wrtc);
    },
  };
}

function createLink(remoteId: string, initiator: boolean, rtcConfig: RTCConfiguration, lowWaterMark: number, wrtc: unknown): PeerLink {
  const events = new Emitter<PeerLinkEvents>();
  const log = (format: string, ...args: unknown[]) => debug(`[%s] ${format}`, remoteId.slice(0, 8), ...args);
  let closed = false;
  let peer: SimplePeer.Instance | undefined;
  let channel: RTCDataChannel | undefined;
  /** Fallback where the channel has no 'bufferedamountlow' (Node's wrtc): poll instead. */
  let poll: ReturnType<typeof setInterval> | undefined;
  let aboveLowWater = false;
  /**
   * Messages that arrive before the first 'message' listener (the remote side may open and
   * send its handshake before simple-peer tells us 'connect'): kept, then delivered in order.
   */
  let early: Array<Uint8Array | string> | undefined = [];

  function finish(reason: string, died = false): void {
    if (closed) return;
    closed = true;
    log('closed: %s%s', reason, died ? ' (the channel died)' : '');
    channel = undefined;
    clearInterval(poll);
    try {
      peer?.destroy();
    } catch (e) {
      log('destroy failed: %O', e);
    }
    events.emit('close', { reason, died });
  }

  try {
    peer = new SimplePeer({
      initiator,
      trickle: true,
      config: rtcConfig,
      channelConfig: { ordered: true },
      wrtc: wrtc as SimplePeer.Options['wrtc'],
    });
  } catch (e) {
    // No WebRTC here. Closing after the caller subscribed keeps 'close' observable.
    queueMicrotask(() => finish(`WebRTC unavailable: ${reasonOf(e)}`));
  }

  /**
   * The initiator's candidates gathered before its offer went out, sent right after it. The
   * Arrays service relays candidates only between peers with an offer in flight and drops
   * earlier ones (`unsolicited-signal`); node-datachannel gathers while the offer is set as
   * the local description, so simple-peer emits its host candidates before the offer, and a
   * Node peer whose only candidate was dropped could be reached only by chance (a browser
   * gathers later). Bounded like the early messages.
   */
  let heldCandidates: SignalData[] | undefined = initiator ? [] : undefined;
  peer?.on('signal', (s: PeerSignal) => {
    const data = toSignalData(s);
    if (!data || closed) return;
    if (heldCandidates && data.type === 'candidate') {
      if (heldCandidates.length < MAX_EARLY_MESSAGES) heldCandidates.push(data);
      return;
    }
    events.emit('signal', data);
    if (heldCandidates && data.type === 'offer') {
      const held = heldCandidates;
      heldCandidates = undefined;
      for (const c of held) if (!closed) events.emit('signal', c);
    }
  });
  peer?.on('connect', () => {
    if (closed) return;
    channel = (peer as unknown as { _channel?: RTCDataChannel | null })._channel ?? undefined;
    if (!channel) return finish('connected without a data channel');
    const ch = channel;
    if (typeof ch.bufferedAmountLowThreshold === 'number') {
      ch.bufferedAmountLowThreshold = lowWaterMark;
      ch.addEventListener('bufferedamountlow', () => {
        if (!closed && channel === ch) events.emit('drain', undefined);
      });
    } else {
      poll = setInterval(() => {
        if (!aboveLowWater || closed || ch.bufferedAmount > lowWaterMark) return;
        aboveLowWater = false;
        events.emit('drain', undefined);
      }, 20);
    }
    events.emit('open', undefined);
  });
  function deliver(message: Uint8Array | string): void {
    if (typeof message === 'string') events.emit('malformed', `a text message of ${message.length} characters`);
    else events.emit('message', message);
  }
  if (peer) {
    // simple-peer calls `this._onChannelMessage(event)` from the channel's onmessage, for the
    // messages that come before its 'connect' as for the others.
    (peer as unknown as { _onChannelMessage(e: MessageEvent): void })._onChannelMessage = (e: MessageEvent) => {
      if (closed) return;
      const data: unknown = e.data;
      const message = typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
      if (message === undefined) return void events.emit('malformed', 'a message of an unknown kind');
      if (!early) return deliver(message);
      // Nobody listens yet, so nothing paces the sender: bound what is kept.
      if (early.length >= MAX_EARLY_MESSAGES) return finish(`more than ${MAX_EARLY_MESSAGES} messages before the link opened`);
      early.push(message);
    };
  }
  peer?.on('error', (e: Error) => finish(`WebRTC error: ${reasonOf(e)}`, channelDied(e)));
  peer?.on('close', () => finish('connection closed'));

  return {
    remoteId,
    signal(data) {
      if (closed || !peer) return;
      try {
        peer.signal(data as SimplePeer.SignalData);
      } catch (e) {
        finish(`bad signal: ${reasonOf(e)}`);
      }
    },
    send(frame) {
      if (closed) return;
      if (!channel) throw new Error(`send to ${remoteId} before the link opened`);
      try {
        channel.send(frame as Uint8Array<ArrayBuffer>);
        if (poll !== undefined && channel.bufferedAmount > lowWaterMark) aboveLowWater = true;
      } catch (e) {
        // The channel closed under us, or its queue overflowed (Chromium then closes it).
        finish(`send failed: ${reasonOf(e)}`);
      }
    },
    lowWaterMark,
    get bufferedAmount() {
      return channel?.bufferedAmount ?? 0;
    },
    addresses: () => addressesOf(peer),
    close() {
      finish('closed locally');
    },
    on(event, listener) {
      const off = events.on(event, listener);
      if (event === 'message' && early) {
        const pending = early;
        early = undefined;
        for (const m of pending) deliver(m);
      }
      return off;
    },
  };
}

/**
 * The remote candidate's address of the connection's selected pair, and the addresses of
 * every local candidate (getStats). In
 * LAN and group modes a tab refuses peers at the address of a peer it banned (core/swarm.ts).
 */
async function addressesOf(peer: SimplePeer.Instance | undefined): Promise<{ local: string[]; remote: string | undefined }> {
  const pc = (peer as unknown as { _pc?: RTCPeerConnection } | undefined)?._pc;
  if (!pc) return { local: [], remote: undefined };
  interface Stat {
    type?: string;
    selectedCandidatePairId?: string;
    remoteCandidateId?: string;
    localCandidateId?: string;
    nominated?: boolean;
    state?: string;
    address?: string;
    ip?: string;
  }
  const report = await pc.getStats();
  const stats: Stat[] = [];
  report.forEach((r: Stat) => stats.push(r));
  const selectedId = stats.find((r) => r.type === 'transport' && r.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair = (selectedId ? (report.get(selectedId) as Stat | undefined) : undefined) ?? stats.find((r) => r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded');
  const candidate = (id: string | undefined): string | undefined => {
    const c = id ? (report.get(id) as Stat | undefined) : undefined;
    return c?.address || c?.ip || undefined;
  };
  const local = stats.filter((r) => r.type === 'local-candidate').map((r) => r.address || r.ip || '').filter((a) => a !== '');
  return { local, remote: candidate(pair?.remoteCandidateId) };
}
