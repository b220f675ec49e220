/** A PeerLink that carries nothing: a test opens it (`events.emit('open')`) and sees it closed. */
import { Emitter } from '../../src/core/emitter.js';
import type { PeerLink, PeerLinkEvents } from '../../src/core/ports.js';
import type { SignalData } from '../../src/protocol/arrays-messages.js';

export class FakeLink implements PeerLink {
  readonly events = new Emitter<PeerLinkEvents>();
  readonly bufferedAmount = 0;
  /** What the Swarm passed to `signal` (answers, candidates). */
  readonly signals: SignalData[] = [];
  closed = false;
  constructor(readonly remoteId: string) {}
  signal(data: SignalData): void {
    this.signals.push(data);
  }
  send(): void {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.emit('close', { reason: 'closed' });
  }
  on<K extends keyof PeerLinkEvents>(event: K, listener: (payload: PeerLinkEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }
}
