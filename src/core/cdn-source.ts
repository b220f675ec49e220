/**
 * The CDN as a PieceSource: one HTTP range request per piece, over the policy's CDN URLs in
 * order (the next URL after a failure). Bytes are unverified, like a peer's.
 *
 * Optional pacing (bandwidth caps, a background download's top-up): the scheduler asks
 * `admit(bytes)` before each request. Admission is taken before a piece is committed to the
 * CDN, so a request waiting for bandwidth holds a slot but no piece: peers stay free to
 * deliver every missing piece meanwhile.
 */
import type { ClientConfig } from './config.js';
import { TabswarmError } from './errors.js';
import type { HttpRange, PieceSource } from './ports.js';

export interface CdnPacing {
  /** `undefined`: `bytes` may be fetched now; else a promise resolved when they may (RateLimiter.take). */
  take(bytes: number, signal: AbortSignal): Promise<void> | undefined;
  /** A take that had to wait has passed: the scheduler may now send a request (pump again). */
  ready(): void;
}

export class CdnSource implements PieceSource {
  readonly id = 'cdn';
  readonly kind = 'cdn' as const;
  private inFlight = 0;
  private urlIndex = 0;
  /** After a failure the CDN is left alone until then (ms), doubling per failure up to 30 s. */
  private retryAt = 0;
  private backoffMs = 0;
  private readonly controllers = new Set<AbortController>();
  /** Paced takes waiting, and those passed whose request has not been sent yet. */
  private pacingQueued = 0;
  private pacingPassed = 0;
  private pacingAbort = new AbortController();

  constructor(
    private readonly http: HttpRange,
    private readonly urls: readonly string[],
    private readonly pieceSize: number,
    private readonly config: Pick<ClientConfig, 'cdnRequestsInFlight' | 'cdnRequestTimeoutMs'>,
    private readonly pacing?: CdnPacing,
  ) {
    if (urls.length === 0) throw new TabswarmError('cdn-error', 'no CDN URL');
  }

  has(): boolean {
    return true;
  }

  freeSlots(): number {
    if (Date.now() < this.retryAt) return 0;
    return Math.max(0, this.config.cdnRequestsInFlight - this.inFlight - this.pacingQueued);
  }

  /**
   * Whether a request of `bytes` may be sent now. False: a take was queued for it (it holds
   * one slot until it passes, then `pacing.ready()` is called and the next `admit` is true).
   * Always true without pacing.
   */
  admit(bytes: number): boolean {
    if (!this.pacing) return true;
    if (this.pacingPassed > 0) {
      this.pacingPassed--;
      return true;
    }
    const wait = this.pacing.take(bytes, this.pacingAbort.signal);
    if (!wait) return true;
    this.pacingQueued++;
    const pacing = this.pacing;
    const signal = this.pacingAbort.signal;
    wait.then(
      () => {
        this.pacingQueued--;
        if (signal.aborted) return;
        this.pacingPassed++;
        pacing.ready();
      },
      () => {
        this.pacingQueued--;
      },
    );
    return false;
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

  /** Aborts every request in flight and every paced take waiting. */
  abortAll(): void {
    for (const c of this.controllers) c.abort();
    this.pacingAbort.abort();
    this.pacingAbort = new AbortController();
    this.pacingPassed = 0;
  }
}
