/**
 * HttpRange port over bytes in memory: a CDN for Node tests, counting what it serves.
 * The real CDN origin and the fetch adapter are tested against a real server elsewhere.
 * The latency is a timer of `clock` (a SimClock's in simulated time).
 */
import { systemClock, type Clock } from '../../src/core/clock.js';
import { TabswarmError } from '../../src/core/errors.js';
import type { HttpRange, RangeRun } from '../../src/core/ports.js';

export class MemoryCdn implements HttpRange {
  bytesServed = 0;
  requests = 0;
  /** The first byte of each request, in the order asked (a piece's index is start / pieceSize). */
  readonly starts: number[] = [];
  /** Of `requests`, those that were runs (openRun). */
  runs = 0;
  /** This CDN without openRun, as an HttpRange without runs: every piece its own request. */
  withoutRuns(): this {
    Object.defineProperty(this, 'openRun', { value: undefined });
    return this;
  }
  /** Optional corruption of responses, e.g. to test that CDN bytes are verified too. */
  tamper: ((start: number, bytes: Uint8Array) => Uint8Array) | undefined;
  /** How many of the next requests fail outright (HTTP 503, say). */
  failNext = 0;

  constructor(
    private readonly file: Uint8Array,
    private readonly latencyMs = 1,
    private readonly clock: Clock = systemClock,
  ) {}

  async probeSize(): Promise<number> {
    this.requests++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new TabswarmError('cdn-error', 'HTTP 503');
    }
    return this.file.byteLength;
  }

  async get(_url: string, start: number, end: number, signal: AbortSignal): Promise<Uint8Array> {
    await this.answer(start, end, signal);
    return this.serve(start, end);
  }

  /** What every request goes through: counted, the latency, an abort, `failNext`, the range checked. */
  private async answer(start: number, end: number, signal: AbortSignal): Promise<void> {
    this.requests++;
    this.starts.push(start);
    await new Promise<void>((r) => this.clock.setTimeout(r, this.latencyMs));
    if (signal.aborted) throw new TabswarmError('cdn-error', 'aborted');
    if (this.failNext > 0) {
      this.failNext--;
      throw new TabswarmError('cdn-error', 'HTTP 503');
    }
    if (start < 0 || end > this.file.byteLength || start >= end) throw new TabswarmError('cdn-error', `bad range ${start}-${end}`);
  }

  /** Bytes [start, end), tampered with if asked, and counted as served. */
  private serve(start: number, end: number): Uint8Array {
    let bytes: Uint8Array = this.file.slice(start, end);
    if (this.tamper) bytes = this.tamper(start, bytes);
    this.bytesServed += bytes.byteLength;
    return bytes;
  }

  /** A run: one request, each read served like a `get` of its part (latency, tamper, counts). */
  async openRun(_url: string, start: number, end: number, signal: AbortSignal): Promise<RangeRun> {
    this.runs++;
    await this.answer(start, end, signal);
    let at = start;
    let cancelled = false;
    return {
      read: async (length) => {
        await new Promise<void>((r) => this.clock.setTimeout(r, this.latencyMs));
        if (signal.aborted || cancelled) throw new TabswarmError('cdn-error', 'aborted');
        if (at + length > end) throw new RangeError('reading past the range');
        at += length;
        return this.serve(at - length, at);
      },
      cancel: () => {
        cancelled = true;
      },
    };
  }
}
