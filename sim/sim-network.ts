/**
 * The simulator's Arrays service and peer transport (issue 18). Signaling goes through the
 * server's real swarm registry (signaling/swarm-registry.ts: partitions by download mode and
 * address, cache nodes first, seeders and the least handed out next), each message delayed by
 * the peer's latency to the server. Links carry the core's wire frames through the LinkModel:
 * each frame takes its place on the sender's uplink and the receiver's downlink, and arrives
 * when the model says, as a timer of the simulated clock.
 *
 * Bytes are scaled (`byteScale`): a piece of the simulated file is `byteScale` times the bytes
 * that actually move, so a PIECE frame is charged its header plus `byteScale` times its data;
 * every other frame is charged what it is. The core's byte settings are scaled alike
 * (scaled-config.ts), so times and ratios are those of the full-size file.
 */
import { Emitter } from '../src/core/emitter.js';
import type { PeerConnector, Signaling, SignalingEvents } from '../src/core/ports.js';
import type { Report, SignalData } from '../src/protocol/arrays-messages.js';
import { FrameType, PIECE_HEADER_BYTES, encodePiece, getUint32 } from '../src/protocol/wire.js';
import { MemorySwarmRegistry, scopeKeyOf } from '../signaling/swarm-registry.js';
import type { LinkModel } from './link-model.js';
import { PairedLink } from './paired-link.js';
import type { SimClock } from './sim-clock.js';

export interface SimNetworkOptions {
  clock: SimClock;
  links: LinkModel;
  /** Actual bytes of a PIECE frame's data are charged this many times over. */
  byteScale: number;
  /** The interval the service tells peers to announce at (the server's default). */
  announceIntervalMs: number;
  /** The most peers one reply lists (the server's maxPeersPerReply). */
  maxPeersPerReply: number;
  /** The server's own latency to the core of the network, ms. */
  serverLatencyMs: number;
  /** Random numbers for the registry's sampling (the run's seeded generator). */
  random: () => number;
  /**
   * The file's true piece `index` (actual bytes). When given, a PIECE frame whose bytes are the
   * file's is delivered as one shared, never-written frame instead of a copy of its own: every
   * honest peer sends the same bytes for a piece, and thousands of copies in flight were most
   * of the run's memory (and of its garbage). A frame with other bytes (a liar's) is copied.
   */
  truePiece?: (index: number) => Uint8Array;
}

/** A peer as the service and the links see it. */
interface Member {
  signaling: SimSignaling;
  /** Its public address: the origin tag the service gives it and the LAN partition key. */
  address: string;
  /** One way to the core of the network, ms. */
  latencyMs: number;
}

export class SimNetwork {
  readonly registry: MemorySwarmRegistry;
  private readonly members = new Map<string, Member>();
  private readonly links = new Map<string, SimLink>();
  /** Each peer's links, either end: what closes when it vanishes. */
  private readonly linksOf = new Map<string, Set<SimLink>>();
  private readonly bans = new Map<string, Set<string>>();
  private nextLink = 0;
  /** Shared PIECE frames of the true bytes, by piece and offset (see `truePiece`). */
  private readonly trueFrames = new Map<number, Map<number, Uint8Array>>();

  constructor(readonly o: SimNetworkOptions) {
    this.registry = new MemorySwarmRegistry({ handOutWindowMs: o.announceIntervalMs, random: o.random, now: () => o.clock.now() });
  }

  /** Joins a peer to the network (its link profile must be in the LinkModel). */
  join(peerId: string, address: string, latencyMs: number): { signaling: Signaling; connector: PeerConnector } {
    const signaling = new SimSignaling(this, peerId);
    this.members.set(peerId, { signaling, address, latencyMs });
    return { signaling, connector: { connect: (remoteId, initiator) => this.createLink(peerId, remoteId, initiator) } };
  }

  /** A peer vanishes (its tab closed): out of every swarm, its links closed. */
  kill(peerId: string, contentId: string): void {
    this.members.delete(peerId);
    void this.registry.remove(contentId, peerId);
    for (const link of [...(this.linksOf.get(peerId) ?? [])]) link.close();
    this.linksOf.delete(peerId);
  }

  /** Delivers `fn` to `peerId` after the trip from the server (nothing if it is gone). */
  private toPeer(peerId: string, fn: (s: SimSignaling) => void): void {
    const m = this.members.get(peerId);
    if (!m) return;
    this.o.clock.setTimeout(() => {
      const now = this.members.get(peerId);
      if (now === m) fn(m.signaling);
    }, m.latencyMs + this.o.serverLatencyMs);
  }

  /** A message from `peerId` reaches the server after its trip there. */
  private toServer(peerId: string, fn: () => void): void {
    const m = this.members.get(peerId);
    if (!m) return;
    this.o.clock.setTimeout(fn, m.latencyMs + this.o.serverLatencyMs);
  }

  announce(contentId: string, peerId: string, report: Report, cdnPieces?: readonly number[]): void {
    this.toServer(peerId, () => void this.answerAnnounce(contentId, peerId, report, cdnPieces));
  }

  private async answerAnnounce(contentId: string, peerId: string, report: Report, cdnPieces: readonly number[] | undefined): Promise<void> {
    const m = this.members.get(peerId);
    if (!m) return;
    await this.registry.upsert(contentId, scopeKeyOf(report, m.address), peerId, report, this.o.clock.now());
    const granted = cdnPieces !== undefined && cdnPieces.length > 0 ? await this.registry.claimCdnPieces(contentId, peerId, cdnPieces) : undefined;
    const listed = await this.registry.selectPeers({ contentId, peerId, left: report.left, max: Math.min(report.peersWanted, this.o.maxPeersPerReply), exclude: this.bans.get(peerId) });
    const peers = listed.map((p) => {
      const address = this.members.get(p.peerId)?.address;
      return address === undefined ? p : { ...p, origin: address };
    });
    const slot = await this.registry.cdnSlot(contentId, peerId);
    const cdnSlot = slot !== undefined && granted !== undefined ? { ...slot, granted } : slot;
    this.toPeer(peerId, (s) => s.emitter.emit('peers', { contentId, peers, intervalMs: this.o.announceIntervalMs, origin: m.address, ...(cdnSlot ? { cdnSlot } : {}) }));
  }

  relay(contentId: string, from: string, to: string, data: SignalData): void {
    this.toServer(from, () => {
      const origin = this.members.get(from)?.address;
      if (origin === undefined) return;
      this.toPeer(to, (s) => s.emitter.emit('signal', { contentId, from, data, origin }));
    });
  }

  leave(contentId: string, peerId: string): void {
    this.toServer(peerId, () => void this.registry.remove(contentId, peerId));
  }

  ban(by: string, peerId: string): void {
    let set = this.bans.get(by);
    if (!set) this.bans.set(by, (set = new Set()));
    set.add(peerId);
  }

  private createLink(localId: string, remoteId: string, initiator: boolean): SimLink {
    const link = new SimLink(this, `L${this.nextLink++}`, localId, remoteId);
    this.links.set(link.linkId, link);
    for (const id of [localId, remoteId]) {
      let set = this.linksOf.get(id);
      if (!set) this.linksOf.set(id, (set = new Set()));
      set.add(link);
    }
    if (initiator) this.o.clock.setTimeout(() => link.emitter.emit('signal', { type: 'offer', sdp: link.linkId }), 0);
    return link;
  }

  /** The responder got the offer naming `offerLinkId`: pair the two. */
  pair(responder: SimLink, offerLinkId: string): void {
    const initiator = this.links.get(offerLinkId);
    if (!initiator || initiator.closed || initiator.localId !== responder.remoteId) return responder.close();
    responder.peer = initiator;
    initiator.peer = responder;
    responder.emitter.emit('signal', { type: 'answer', sdp: responder.linkId });
  }

  forget(link: SimLink): void {
    this.links.delete(link.linkId);
    this.linksOf.get(link.localId)?.delete(link);
    this.linksOf.get(link.remoteId)?.delete(link);
  }

  /** Bytes the LinkModel charges for `frame`. */
  charge(frame: Uint8Array): number {
    if (frame[0] === FrameType.Piece && frame.byteLength > PIECE_HEADER_BYTES) return PIECE_HEADER_BYTES + (frame.byteLength - PIECE_HEADER_BYTES) * this.o.byteScale;
    return frame.byteLength;
  }

  /**
   * What the receiver of `frame` gets: the shared frame of the file's true bytes when `frame`
   * is one (receivers read a message, never write it: the core copies a piece's bytes out),
   * else a copy (the sender builds its frames in one buffer and may reuse it at once).
   */
  carried(frame: Uint8Array): Uint8Array {
    const truePiece = this.o.truePiece;
    if (!truePiece || frame[0] !== FrameType.Piece || frame.byteLength <= PIECE_HEADER_BYTES) return frame.slice();
    const index = getUint32(frame, 1);
    const offset = getUint32(frame, 5);
    let byOffset = this.trueFrames.get(index);
    let shared = byOffset?.get(offset);
    if (!shared) {
      const piece = truePiece(index);
      const length = frame.byteLength - PIECE_HEADER_BYTES;
      if (!piece || offset + length > piece.byteLength) return frame.slice();
      shared = encodePiece(index, offset, piece.subarray(offset, offset + length));
      if (!byOffset) this.trueFrames.set(index, (byOffset = new Map()));
      byOffset.set(offset, shared);
    }
    return equalBytes(frame, shared) ? shared : frame.slice();
  }

  latencyOf(peerId: string): number {
    return this.members.get(peerId)?.latencyMs ?? 0;
  }
}

class SimSignaling implements Signaling {
  readonly emitter = new Emitter<SignalingEvents>();

  constructor(
    private readonly net: SimNetwork,
    private readonly peerId: string,
  ) {}

  announce(contentId: string, peerId: string, report: Report, cdnPieces?: readonly number[]): void {
    this.net.announce(contentId, peerId, report, cdnPieces);
  }

  signal(contentId: string, to: string, data: SignalData): void {
    this.net.relay(contentId, this.peerId, to, data);
  }

  leave(contentId: string): void {
    this.net.leave(contentId, this.peerId);
  }

  ban(_contentId: string, peerId: string): void {
    this.net.ban(this.peerId, peerId);
  }

  on<K extends keyof SignalingEvents>(event: K, listener: (payload: SignalingEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }
}

/**
 * One end of a data channel. Its `bufferedAmount` is its own frames (actual bytes) that have
 * not yet left the sender's uplink; 'drain' fires when the last of them has.
 */
class SimLink extends PairedLink<SimLink> {
  /** 'drain' fires when the last queued frame has left the uplink. */
  readonly lowWaterMark = 0;
  /** Frames not yet off the uplink: when each leaves, and its actual bytes. */
  private readonly queue: Array<{ leaves: number; bytes: number }> = [];
  private queued = 0;
  private drainTimer: unknown;
  private drainAt = 0;

  constructor(
    private readonly net: SimNetwork,
    linkId: string,
    localId: string,
    remoteId: string,
  ) {
    super(linkId, localId, remoteId);
  }

  get bufferedAmount(): number {
    const now = this.net.o.clock.now();
    while (this.queue.length > 0 && this.queue[0]!.leaves <= now) this.queued -= this.queue.shift()!.bytes;
    return this.queued;
  }

  protected pairWith(offerLinkId: string): void {
    this.net.pair(this, offerLinkId);
  }

  /** The responder opens when the initiator's first packet reaches it (the trip between the two). */
  protected openPeerLater(peer: SimLink | undefined): void {
    this.net.o.clock.setTimeout(() => peer?.open(), this.net.latencyOf(this.localId) + this.net.latencyOf(this.remoteId));
  }

  send(frame: Uint8Array): void {
    if (this.closed || !this.peer) throw new Error('link not open');
    const { clock, links } = this.net.o;
    const now = clock.now();
    const copy = this.net.carried(frame);
    const peer = this.peer;
    const delivered = links.send(this.localId, this.remoteId, this.net.charge(copy), now);
    const leaves = links.upFreeAt(this.localId, this.remoteId);
    this.queue.push({ leaves, bytes: copy.byteLength });
    this.queued += copy.byteLength;
    clock.setTimeout(() => peer.deliver(copy), delivered - now);
    this.drainAt = leaves;
    if (this.drainTimer === undefined) this.armDrain();
  }

  /** One timer at a time: when it fires early (more was sent since), it waits for the rest. */
  private armDrain(): void {
    const { clock } = this.net.o;
    this.drainTimer = clock.setTimeout(() => {
      this.drainTimer = undefined;
      if (this.closed) return;
      if (this.drainAt > clock.now()) this.armDrain();
      else this.emitter.emit('drain', undefined);
    }, this.drainAt - clock.now());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.net.forget(this);
    if (this.drainTimer !== undefined) this.net.o.clock.clearTimeout(this.drainTimer);
    this.emitter.emit('close', { reason: 'closed' });
    const peer = this.peer;
    if (peer) this.net.o.clock.setTimeout(() => peer.close(), this.net.latencyOf(this.localId) + this.net.latencyOf(this.remoteId));
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
