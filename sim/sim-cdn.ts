/**
 * The simulator's CDN (issue 18): the HttpRange port of one peer, over the LinkModel. A
 * request takes the peer's trip to the CDN; the response takes its fair share of the CDN's
 * uplink (`cdnId` in the model, shared by every response under way) and of the peer's
 * downlink, as one message (the link model cuts through); the bytes are the content's.
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
  /** Each response at most this fast (full-size bytes per second): a per-connection cap. */
  perRequestBps?: number;
}

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
    let delivered = links.send(cdnId, this.peerId, (end - start) * byteScale, now);
    // A capped connection: the response cannot arrive sooner than its bytes at the cap allow.
    if (this.origin.perRequestBps !== undefined) delivered = Math.max(delivered, now + ((end - start) * byteScale * 1000) / this.origin.perRequestBps);
    served.requests++;
    // An abort (a timeout, the piece came from a peer) ends the response there: only the part
    // sent by then counts (the link model keeps the whole response's place: a short overcharge).
    const cut = await this.waitOrAbort(delivered - now, signal);
    const part = cut === undefined ? 1 : Math.min(1, (cut - now) / Math.max(1e-9, delivered - now));
    served.bytes += Math.round((end - start) * part);
    if (cut !== undefined) throw new TabswarmError('cdn-error', 'aborted');
    return this.origin.bytes(start, end);
  }

  /** Waits `ms`; resolves undefined then, or the time of an abort that came first. */
  private waitOrAbort(ms: number, signal: AbortSignal): Promise<number | undefined> {
    const { clock } = this.origin;
    return new Promise((resolve) => {
      const onAbort = () => {
        clock.clearTimeout(timer);
        resolve(clock.now());
      };
      const timer = clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(undefined);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.origin.clock.setTimeout(resolve, ms));
  }
}
