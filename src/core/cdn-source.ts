/**
 * The CDN as a PieceSource: HTTP range requests over the policy's CDN URLs in order (the next
 * URL after a failure). Bytes are unverified, like a peer's.
 *
 * Runs: when the scheduler says it will ask for the pieces that follow in order (`runBytes`,
 * the tab fetching alone), one request covers them (HttpRange.openRun) and each piece asked
 * next in order is read from it, one after the other; a piece asked out of order gets a
 * request of its own (or starts a new run). A run fails whole: the piece being read and those
 * queued behind it reject. A run not read on for RUN_IDLE_MS is closed, so an idle tab holds
 * no connection open. Each queued piece holds a slot of `cdnRequestsInFlight`, as a request does.
 *
 * Optional pacing (bandwidth caps, a background download's top-up): the scheduler asks
 * `admit(bytes)` before each request. Admission is taken before a piece is committed to the
 * CDN, so a request waiting for bandwidth holds a slot but no piece: peers stay free to
 * deliver every missing piece meanwhile.
 */
import { systemClock, type Clock } from './clock.js';
import type { ClientConfig } from './config.js';
import { TabswarmError } from './errors.js';
import type { HttpRange, PieceSource, RangeRun } from './ports.js';

/** A run with no piece queued for this long is closed (ms). */
export const RUN_IDLE_MS = 3000;

/** One range request for consecutive pieces, read in order. */
interface Run {
  reader: Promise<RangeRun>;
  controller: AbortController;
  /** Byte offset of the next piece to queue on it, and where it ends. */
  next: number;
  readonly end: number;
  /** Settles when the last queued read has: the next read starts then. */
  tail: Promise<unknown>;
  queued: number;
  failed: boolean;
  idle: unknown;
}

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
  /** The run the next piece in order is read from, if one is open. */
  private run: Run | undefined;
  /** Requests sent (a run counts once), for tests. */
  requests = 0;
  /** Paced takes waiting, and those passed whose request has not been sent yet. */
  private pacingQueued = 0;
  private pacingPassed = 0;
  private pacingAbort = new AbortController();

  constructor(
    private readonly http: HttpRange,
    private readonly urls: readonly string[],
    private readonly pieceSize: number,
    private readonly config: Pick<ClientConfig, 'cdnRequestsInFlight' | 'cdnRequestTimeoutMs' | 'cdnRunPieces'>,
    private readonly pacing?: CdnPacing,
    private readonly clock: Clock = systemClock,
  ) {
    if (urls.length === 0) throw new TabswarmError('cdn-error', 'no CDN URL');
  }

  has(): boolean {
    return true;
  }

  freeSlots(): number {
    if (this.clock.now() < this.retryAt) return 0;
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
    return Math.max(0, this.retryAt - this.clock.now());
  }

  /** A response failed verification or the request failed: back off before asking again. */
  reportFailure(): void {
    this.backoffMs = Math.min(30_000, this.backoffMs === 0 ? 250 : this.backoffMs * 2);
    this.retryAt = this.clock.now() + this.backoffMs;
  }

  /** A verified piece came from the CDN. */
  reportSuccess(): void {
    this.backoffMs = 0;
    this.retryAt = 0;
  }

  /**
   * Piece `index`, `length` bytes. `runBytes`: the caller will ask for the pieces that follow in
   * order, up to `runBytes` from this piece's start; they may come in one request.
   */
  async fetch(index: number, length: number, runBytes?: number): Promise<Uint8Array> {
    const start = index * this.pieceSize;
    this.inFlight++;
    try {
      let run = this.run && !this.run.failed && this.run.next === start && start + length <= this.run.end ? this.run : undefined;
      if (!run && this.http.openRun && runBytes !== undefined && runBytes > length) run = this.openRun(start, runBytes);
      const data = run ? await this.readFromRun(run, length) : await this.get(start, length);
      if (data.byteLength !== length) {
        throw new TabswarmError('cdn-error', `CDN sent ${data.byteLength} bytes for piece ${index}, expected ${length}`);
      }
      return data;
    } catch (e) {
      if (e instanceof TabswarmError) throw e;
      throw new TabswarmError('cdn-error', `CDN request for piece ${index} failed: ${String(e)}`, { cause: e });
    } finally {
      this.inFlight--;
    }
  }

  /** One request for one piece. */
  private async get(start: number, length: number): Promise<Uint8Array> {
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => controller.abort(), this.config.cdnRequestTimeoutMs);
    this.controllers.add(controller);
    this.requests++;
    try {
      return await this.http.get(this.url(), start, start + length, controller.signal);
    } catch (e) {
      this.urlIndex++;
      throw e;
    } finally {
      this.clock.clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private url(): string {
    return this.urls[this.urlIndex % this.urls.length]!;
  }

  /** Opens a run from `start`, of `runBytes` (at most `cdnRunPieces` pieces), as the run pieces in order come from. */
  private openRun(start: number, runBytes: number): Run {
    const old = this.run;
    if (old && old.queued === 0) this.closeRun(old);
    const controller = new AbortController();
    this.controllers.add(controller);
    const end = start + Math.min(runBytes, Math.max(1, this.config.cdnRunPieces) * this.pieceSize);
    this.requests++;
    const reader = this.http.openRun!(this.url(), start, end, controller.signal);
    const run: Run = { reader, controller, next: start, end, tail: reader, queued: 0, failed: false, idle: undefined };
    // Until its first read, a failure to open shows there.
    reader.catch(() => undefined);
    this.run = run;
    return run;
  }

  /** Queues a read of the run's next piece; it starts when the read before it settles. */
  private readFromRun(run: Run, length: number): Promise<Uint8Array> {
    run.next += length;
    run.queued++;
    if (run.idle) this.clock.clearTimeout(run.idle);
    run.idle = undefined;
    const read = run.tail.then(
      () => this.readNext(run, length),
      () => this.readNext(run, length),
    );
    run.tail = read.catch(() => undefined);
    return read.finally(() => {
      run.queued--;
      if (run.failed || run.next === run.end) {
        // Done or broken: nothing more comes from it.
        if (run.queued === 0) this.closeRun(run);
      } else if (run.queued === 0) {
        if (this.run !== run) this.closeRun(run);
        else run.idle = this.clock.setTimeout(() => this.closeRun(run), RUN_IDLE_MS);
      }
    });
  }

  private async readNext(run: Run, length: number): Promise<Uint8Array> {
    if (run.failed) throw new TabswarmError('cdn-error', 'CDN: the request this piece was part of failed');
    const timer = this.clock.setTimeout(() => run.controller.abort(), this.config.cdnRequestTimeoutMs);
    try {
      return await (await run.reader).read(length);
    } catch (e) {
      if (!run.failed) {
        run.failed = true;
        this.urlIndex++;
      }
      if (this.run === run) this.run = undefined;
      throw e;
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  private closeRun(run: Run): void {
    if (run.idle) this.clock.clearTimeout(run.idle);
    run.idle = undefined;
    if (this.run === run) this.run = undefined;
    this.controllers.delete(run.controller);
    // Cancelling a run read to its end is harmless: the body is already released.
    void run.reader.then((r) => r.cancel(), () => undefined);
  }

  /** Aborts every request in flight and every paced take waiting. */
  abortAll(): void {
    for (const c of this.controllers) c.abort();
    if (this.run) this.closeRun(this.run);
    this.pacingAbort.abort();
    this.pacingAbort = new AbortController();
    this.pacingPassed = 0;
  }
}
