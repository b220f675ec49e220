/**
 * One end of an in-process data channel, paired with its other end by link ID (the offer and
 * the answer carry only that): what the simulator's links (sim-network.ts) and the Node tests'
 * memory links (test/helpers/memory-network.ts) share. It opens when its pairing says so, and
 * keeps the messages that arrive before anyone listens (the PeerLink contract) until the first
 * 'message' listener. Sending and closing are the subclass's: when a message arrives, and what
 * the other end sees.
 */
import { Emitter } from '../src/core/emitter.js';
import type { PeerLink, PeerLinkEvents } from '../src/core/ports.js';
import type { SignalData } from '../src/protocol/arrays-messages.js';

export abstract class PairedLink<Self extends PairedLink<Self>> implements PeerLink {
  readonly emitter = new Emitter<PeerLinkEvents>();
  peer: Self | undefined;
  closed = false;
  private opened = false;
  /** Messages received before anyone listened. */
  private early: Uint8Array[] | undefined = [];

  constructor(
    readonly linkId: string,
    readonly localId: string,
    readonly remoteId: string,
  ) {}

  abstract get bufferedAmount(): number;
  abstract send(frame: Uint8Array): void;
  abstract close(): void;
  /** The responder got the offer naming `offerLinkId`: pair the two (and answer). */
  protected abstract pairWith(offerLinkId: string): void;
  /** The initiator got the answer and opened: open the responder when the channel would. */
  protected abstract openPeerLater(peer: Self | undefined): void;

  signal(data: SignalData): void {
    if (this.closed) return;
    if (data.type === 'offer') this.pairWith(data.sdp);
    else if (data.type === 'answer') {
      this.open();
      this.openPeerLater(this.peer);
    }
  }

  open(): void {
    if (this.opened || this.closed || !this.peer) return;
    this.opened = true;
    this.emitter.emit('open', undefined);
  }

  deliver(message: Uint8Array): void {
    if (this.closed) return;
    if (this.early) this.early.push(message);
    else this.emitter.emit('message', message);
  }

  on<K extends keyof PeerLinkEvents>(event: K, listener: (payload: PeerLinkEvents[K]) => void): () => void {
    const off = this.emitter.on(event, listener);
    if (event === 'message' && this.early) {
      const early = this.early;
      this.early = undefined;
      for (const m of early) this.emitter.emit('message', m);
    }
    return off;
  }
}
