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
    return Math.max(0, this.config.cdnRequestsInFlight - this.inFlight);
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
