/**
 * The simulator's CDN (issue 18): the HttpRange port of one peer, over the LinkModel. A
 * request takes the peer's trip to the CDN; the response leaves the CDN's uplink (`cdnId` in
 * the model, shared by every peer's requests, in the order they arrive) in 64 KiB messages
 * (scaled like the wire's chunks) and crosses the peer's downlink; the bytes are the content's.
 */
import type { HttpRange } from '../src/core/ports.js';
import { TabswarmError } from '../src/core/errors.js';
import type { LinkModel } from './link-model.js';
import type { SimClock } from './sim-clock.js';

/** What all peers' CDN ports share: the content, the clock, the model, the tally. */
export interface SimCdnOrigin {
  clock: SimClock;
  links: LinkModel;
  /** The CDN's peer ID in the LinkModel. */
  cdnId: string;
  byteScale: number;
  /** The file's actual bytes (scaled down); [start, end) of it is a response. */
  bytes: (start: number, end: number) => Uint8Array;
  fileBytes: number;
  /** Requests served and actual bytes sent, over all peers. */
  served: { requests: number; bytes: number };
}

/** Charged bytes per message of a response: 64 KiB of the full-size file. */
const MESSAGE_BYTES = 64 * 1024;

export class SimCdn implements HttpRange {
  constructor(
    private readonly origin: SimCdnOrigin,
    private readonly peerId: string,
    private readonly latencyMs: number,
  ) {}

  async probeSize(): Promise<number> {
    await this.wait(2 * this.latencyMs);
    return this.origin.fileBytes;
  }

  async get(_url: string, start: number, end: number, signal: AbortSignal): Promise<Uint8Array> {
    if (start < 0 || end > this.origin.fileBytes || start >= end) throw new TabswarmError('cdn-error', `bad range ${start}-${end}`);
    await this.wait(this.latencyMs);
    if (signal.aborted) throw new TabswarmError('cdn-error', 'aborted');
    const { clock, links, cdnId, byteScale, served } = this.origin;
    const now = clock.now();
    let charge = (end - start) * byteScale;
    let delivered = now;
    while (charge > 0) {
      const part = Math.min(MESSAGE_BYTES, charge);
      delivered = links.send(cdnId, this.peerId, part, now);
      charge -= part;
    }
    served.requests++;
    served.bytes += end - start;
    await this.wait(delivered - now);
    if (signal.aborted) throw new TabswarmError('cdn-error', 'aborted');
    return this.origin.bytes(start, end);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.origin.clock.setTimeout(resolve, ms));
  }
}
