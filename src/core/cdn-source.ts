/**
 * The CDN as a PieceSource: one HTTP range request per piece, over the policy's CDN URLs in
 * order (the next URL after a failure). Bytes are unverified, like a peer's.
 */
import type { ClientConfig } from './config.js';
import { TabswarmError } from './errors.js';
import type { PieceSource } from './piece-source.js';
import type { HttpRange } from './ports.js';

export class CdnSource implements PieceSource {
  readonly id = 'cdn';
  readonly kind = 'cdn' as const;
  private inFlight = 0;
  private urlIndex = 0;
  /** After a failure the CDN is left alone until then (ms), doubling per failure up to 30 s. */
  private retryAt = 0;
  private backoffMs = 0;
  private readonly controllers = new Set<AbortController>();

  constructor(
    private readonly http: HttpRange,
    private readonly urls: readonly string[],
    private readonly pieceSize: number,
    private readonly config: Pick<ClientConfig, 'cdnRequestsInFlight' | 'cdnRequestTimeoutMs'>,
  ) {
    if (urls.length === 0) throw new TabswarmError('cdn-error', 'no CDN URL');
  }

  has(): boolean {
    return true;
  }

  freeSlots(): number {
    if (Date.now() < this.retryAt) return 0;
    return Math.max(0, this.config.cdnRequestsInFlight - this.inFlight);
  }

  /** Milliseconds until the CDN takes requests again after a failure (0 if it does now). */
  retryInMs(): number {
    return Math.max(0, this.retryAt - Date.now());
  }

  /** A response failed verification or the request failed: back off before asking again. */
  reportFailure(): void {
    this.backoffMs = Math.min(30_000, this.backoffMs === 0 ? 250 : this.backoffMs * 2);
    this.retryAt = Date.now() + this.backoffMs;
  }

  /** A verified piece came from the CDN. */
  reportSuccess(): void {
    this.backoffMs = 0;
    this.retryAt = 0;
  }

  async fetch(index: number, length: number): Promise<Uint8Array> {
    const start = index * this.pieceSize;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.cdnRequestTimeoutMs);
    this.controllers.add(controller);
    this.inFlight++;
    const url = this.urls[this.urlIndex % this.urls.length]!;
    try {
      const data = await this.http.get(url, start, start + length, controller.signal);
      if (data.byteLength !== length) {
        throw new TabswarmError('cdn-error', `CDN sent ${data.byteLength} bytes for piece ${index}, expected ${length}`);
      }
      return data;
    } catch (e) {
      this.urlIndex++;
      if (e instanceof TabswarmError) throw e;
      throw new TabswarmError('cdn-error', `CDN request for piece ${index} failed: ${String(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
      this.inFlight--;
    }
  }

  /** Aborts every request in flight. */
  abortAll(): void {
    for (const c of this.controllers) c.abort();
  }
}
