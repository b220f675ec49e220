/**
 * An in-process Arrays service and peer transport, for simulating swarms in Node. The
 * signaling hub lists the peers of a content and relays signals; links deliver each message
 * asynchronously as a copy, like a data channel. Offers and answers carry only link IDs.
 * Each asynchronous step is a 0 ms timer of `clock` (a SimClock's in simulated time).
 */
import { systemClock, type Clock } from '../../src/core/clock.js';
import { Emitter } from '../../src/core/emitter.js';
import type { PeerConnector, Signaling, SignalingEvents } from '../../src/core/ports.js';
import { PairedLink } from '../../sim/paired-link.js';
import type { CdnSlot, Report, SignalData } from '../../src/protocol/arrays-messages.js';

export class MemoryNetwork {
  private readonly swarms = new Map<string, Map<string, { left: number }>>();
  private readonly clients = new Map<string, MemorySignaling>();
  private readonly links = new Map<string, MemoryLink>();
  private nextLink = 0;
  /** Bytes carried by all links, by sender. */
  readonly sentBy = new Map<string, number>();
  /** Each peer's network address, as the other end of a link sees it (`PeerLink.addresses`); unset: none known. */
  readonly addressOf = new Map<string, string>();
  /** Each peer's origin tag, as the service would give it (docs/protocol.md); unset: none given. */
  readonly originOf = new Map<string, string>();
  /** Peers listed with `cache: true` (cache nodes, as a service configured with their keys lists them). */
  readonly cacheNodes = new Set<string>();
  /** The CDN slot the service gives a peer (a swarm bigger than any tab sees); unset: none. */
  cdnSlotOf: (peerId: string) => CdnSlot | undefined = () => undefined;
  /** The pieces each peer's announces asked to fetch from the CDN, in order (`cdnPieces`). */
  readonly cdnClaims = new Map<string, number[]>();
  /** Of a peer's `cdnPieces`, those the reply grants (with its CDN slot); undefined: the reply says nothing of them. */
  cdnGrant: (peerId: string, pieces: readonly number[]) => readonly number[] | undefined = (_, pieces) => pieces;

  constructor(readonly clock: Clock = systemClock) {}

  signaling(peerId: string): MemorySignaling {
    const s = new MemorySignaling(this, peerId);
    this.clients.set(peerId, s);
    return s;
  }

  connector(peerId: string): PeerConnector {
    return { connect: (remoteId, initiator) => this.createLink(peerId, remoteId, initiator) };
  }

  /** Disconnects a peer from everything, as if its tab closed. */
  kill(peerId: string): void {
    for (const swarm of this.swarms.values()) swarm.delete(peerId);
    this.clients.delete(peerId);
    for (const link of this.links.values()) if (link.localId === peerId || link.remoteId === peerId) link.close();
  }

  announce(contentId: string, peerId: string, report: Report, cdnPieces?: readonly number[]): void {
    if (cdnPieces !== undefined) this.cdnClaims.set(peerId, [...(this.cdnClaims.get(peerId) ?? []), ...cdnPieces]);
    let swarm = this.swarms.get(contentId);
    if (!swarm) this.swarms.set(contentId, (swarm = new Map()));
    swarm.set(peerId, { left: report.left });
    const peers = [...swarm.entries()]
      .filter(([id]) => id !== peerId && !this.bans.get(`${contentId}:${peerId}`)?.has(id))
      .map(([id, p]) => ({ peerId: id, left: p.left, origin: this.originOf.get(id), ...(this.cacheNodes.has(id) ? { cache: true as const } : {}) }))
      .slice(0, report.peersWanted);
    const origin = this.originOf.get(peerId);
    // Granted first: the reply's slot says what the asks made of it (its fetched pieces).
    const granted = cdnPieces !== undefined ? this.cdnGrant(peerId, cdnPieces) : undefined;
    const slot = this.cdnSlotOf(peerId);
    const cdnSlot = slot && granted !== undefined ? { ...slot, granted: [...granted] } : slot;
    this.clock.setTimeout(() => this.clients.get(peerId)?.emitter.emit('peers', { contentId, peers, intervalMs: 1000, origin, ...(cdnSlot ? { cdnSlot } : {}) }), 0);
  }

  relay(contentId: string, from: string, to: string, data: SignalData): void {
    const swarm = this.swarms.get(contentId);
    if (!swarm?.has(from) || !swarm.has(to)) return;
    this.clock.setTimeout(() => this.clients.get(to)?.emitter.emit('signal', { contentId, from, data, origin: this.originOf.get(from) }), 0);
  }

  leave(contentId: string, peerId: string): void {
    this.swarms.get(contentId)?.delete(peerId);
  }

  /** Bans reported to the service, by content and reporter. */
  readonly bans = new Map<string, Set<string>>();

  ban(contentId: string, by: string, peerId: string): void {
    const key = `${contentId}:${by}`;
    let set = this.bans.get(key);
    if (!set) this.bans.set(key, (set = new Set()));
    set.add(peerId);
  }

  private createLink(localId: string, remoteId: string, initiator: boolean): MemoryLink {
    const link = new MemoryLink(this, `L${this.nextLink++}`, localId, remoteId);
    this.links.set(link.linkId, link);
    if (initiator) this.clock.setTimeout(() => link.emitter.emit('signal', { type: 'offer', sdp: link.linkId }), 0);
    return link;
  }

  /** The responder got the offer naming `offerLinkId`: pair the two and open both. */
  pair(responder: MemoryLink, offerLinkId: string): void {
    const initiator = this.links.get(offerLinkId);
    if (!initiator || initiator.closed || initiator.localId !== responder.remoteId) return responder.close();
    responder.peer = initiator;
    initiator.peer = responder;
    responder.emitter.emit('signal', { type: 'answer', sdp: responder.linkId });
  }

  /**
   * An offer to `to` from `from`, a peer that is not in the swarm: the answer has nowhere to
   * go, so the link never opens (a peer that offered and vanished, as a liar leaves each of
   * its old IDs).
   */
  ghostOffer(contentId: string, from: string, to: string): void {
    const link = this.createLink(from, to, false);
    this.clients.get(to)?.emitter.emit('signal', { contentId, from, data: { type: 'offer', sdp: link.linkId } });
  }

  countSent(peerId: string, bytes: number): void {
    this.sentBy.set(peerId, (this.sentBy.get(peerId) ?? 0) + bytes);
  }
}

export class MemorySignaling implements Signaling {
  readonly emitter = new Emitter<SignalingEvents>();
  announces = 0;

  constructor(private readonly net: MemoryNetwork, private readonly peerId: string) {}

  announce(contentId: string, peerId: string, report: Report, cdnPieces?: readonly number[]): void {
    this.announces++;
    this.net.announce(contentId, peerId, report, cdnPieces);
  }

  signal(contentId: string, to: string, data: SignalData): void {
    this.net.relay(contentId, this.peerId, to, data);
  }

  leave(contentId: string): void {
    this.net.leave(contentId, this.peerId);
  }

  ban(contentId: string, peerId: string): void {
    this.net.ban(contentId, this.peerId, peerId);
  }

  on<K extends keyof SignalingEvents>(event: K, listener: (payload: SignalingEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }
}

export class MemoryLink extends PairedLink<MemoryLink> {
  constructor(
    private readonly net: MemoryNetwork,
    linkId: string,
    localId: string,
    remoteId: string,
  ) {
    super(linkId, localId, remoteId);
  }

  /** What the link reports as queued; tests raise it to simulate a full send buffer. */
  buffered = 0;

  async addresses(): Promise<{ local: string[]; remote: string | undefined }> {
    const own = this.net.addressOf.get(this.localId);
    return { local: own === undefined ? [] : [own], remote: this.net.addressOf.get(this.remoteId) };
  }

  get bufferedAmount(): number {
    return this.buffered;
  }

  protected pairWith(offerLinkId: string): void {
    this.net.pair(this, offerLinkId);
  }

  /** The responder opens a tick after the initiator, as a channel would. */
  protected openPeerLater(peer: MemoryLink | undefined): void {
    this.net.clock.setTimeout(() => peer?.open(), 0);
  }

  send(frame: Uint8Array): void {
    if (this.closed || !this.peer) throw new Error('link not open');
    const copy = frame.slice();
    const peer = this.peer;
    this.net.countSent(this.localId, copy.byteLength);
    this.net.clock.setTimeout(() => peer.deliver(copy), 0);
  }

  close(): void {
    this.end('closed', false, false);
  }

  /**
   * The channel dies under the link, as a frame too large for it kills a real one: this side
   * sees it close, the remote sees it die (PeerLinkEvents' `died`).
   */
  abort(): void {
    this.end('aborted', false, true);
  }

  private end(reason: string, died: boolean, killsRemote: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.emitter.emit('close', died ? { reason, died } : { reason });
    const peer = this.peer;
    if (peer) this.net.clock.setTimeout(() => (killsRemote ? peer.end('the remote aborted the channel', true, false) : peer.close()), 0);
  }
}

/** Two memory links open to each other, without signaling: for driving one PeerSession by hand. */
export async function openLinkPair(): Promise<[MemoryLink, MemoryLink]> {
  const net = new MemoryNetwork();
  const a = net.connector('a').connect('b', true) as MemoryLink;
  const b = net.connector('b').connect('a', false) as MemoryLink;
  b.signal({ type: 'offer', sdp: a.linkId });
  a.signal({ type: 'answer', sdp: b.linkId });
  await new Promise((r) => setTimeout(r, 0));
  return [a, b];
}
