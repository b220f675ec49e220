/**
 * The HttpRange port over fetch: one `Range` request per call, and the response is accepted
 * only if it provably holds exactly the bytes asked for:
 * - 206 whose Content-Range is `bytes start-(end-1)/total` (total a number >= end, or `*`);
 * - 200 only for a range starting at 0, when the body is exactly `end` bytes (servers that
 *   ignore Range answer a whole-file range that way).
 * The body length is checked in both cases. Every failure, abort included, rejects with
 * TabswarmError('cdn-error') naming the URL, range and status.
 *
 * `openRun` asks for a run of pieces in one request and reads it a piece at a time (the same
 * checks, the length checked when the run's last piece is read): fewer requests, and less of
 * the garbage a browser keeps per fetch for a while (config `cdnRunPieces`).
 *
 * With a BufferPool, bodies are read straight into pooled buffers (range-body-reader.ts): the
 * megabyte per piece is used again once the pass worker hands it back, instead of becoming
 * garbage (core/buffer-pool.ts says why).
 */
import type { BufferPool } from '../core/buffer-pool.js';
import { TabswarmError } from '../core/errors.js';
import type { HttpRange } from '../core/ports.js';
import { BodyEndedEarly, BodyTooLong, RangeBodyReader } from './range-body-reader.js';

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export interface FetchHttpRangeOptions {
  /** Where range bodies are read into (and whose buffers the piece file gives back). */
  buffers?: BufferPool;
}

export function createFetchHttpRange(fetchImpl: typeof fetch = fetch, options: FetchHttpRangeOptions = {}): HttpRange {
  const { buffers } = options;
  return {
    async probeSize(url, signal) {
      let res: Response;
      try {
        res = await fetchImpl(url, { headers: { Range: 'bytes=0-0' }, signal, cache: 'no-store' });
      } catch (e) {
        throw new TabswarmError('cdn-error', `CDN ${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      void res.body?.cancel().catch(() => {});
      const header = res.headers.get('Content-Range');
      const m = header === null ? null : /^bytes (?:\d+-\d+|\*)\/(\d+)$/.exec(header.trim());
      if ((res.status === 206 || res.status === 416) && m) return Number(m[1]);
      const length = Number(res.headers.get('Content-Length'));
      if (res.status === 200 && Number.isSafeInteger(length)) return length;
      throw new TabswarmError('cdn-error', `CDN ${url}: HTTP ${res.status} without a usable size`);
    },
    async get(url, start, end, signal) {
      const { reader, expected, failRead } = await open(url, start, end, signal);
      try {
        const body = await reader.read(expected);
        await reader.end();
        return body;
      } catch (e) {
        return failRead(e, 0);
      }
    },
    async openRun(url, start, end, signal) {
      const { reader, expected, failRead } = await open(url, start, end, signal);
      let read = 0;
      return {
        async read(length) {
          if (read + length > expected) throw new RangeError(`reading past the range: ${read} + ${length} of ${expected} bytes`);
          try {
            const bytes = await reader.read(length);
            read += length;
            if (read === expected) await reader.end();
            return bytes;
          } catch (e) {
            return failRead(e, read);
          }
        },
        cancel: () => reader.cancel(),
      };
    },
  };

  /**
   * Sends the range request and checks its status and headers (the module's rules); the body
   * is left to read. Rejects with kind 'cdn-error'.
   */
  async function open(url: string, start: number, end: number, signal: AbortSignal) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw new RangeError(`invalid byte range [${start}, ${end})`);
    }
    const last = end - 1;
    const where = `CDN GET ${url} bytes ${start}-${last}`;
    const fail = (what: string, cause?: unknown): never => {
      throw new TabswarmError('cdn-error', `${where}: ${what}`, { cause });
    };

    let res: Response;
    try {
      // Called as a plain function: the browser's fetch throws "Illegal invocation" as a method of another object.
      // no-store: verified pieces live in the piece store; the HTTP cache would only hold a second,
      // unverified copy, and its partial-content logic can turn one range into other requests.
      res = await fetchImpl(url, { headers: { Range: `bytes=${start}-${last}` }, signal, cache: 'no-store' });
    } catch (e) {
      return fail(signal.aborted ? 'aborted' : `network error: ${e instanceof Error ? e.message : String(e)}`, e);
    }

    const expected = res.status === 200 ? end : end - start;
    const reject = (what: string): never => {
      void res.body?.cancel().catch(() => {});
      return fail(`HTTP ${res.status}: ${what}`);
    };
    if (res.status === 206) {
      const header = res.headers.get('Content-Range');
      const m = header === null ? null : CONTENT_RANGE.exec(header.trim());
      const total = m?.[3] === '*' ? Infinity : Number(m?.[3]);
      if (!m || Number(m[1]) !== start || Number(m[2]) !== last || !(total >= end)) {
        return reject(`Content-Range ${header === null ? 'missing' : `"${header}"`} does not match bytes ${start}-${last}`);
      }
    } else if (res.status === 200) {
      if (start !== 0) return reject('the server ignored the Range header');
    } else {
      return reject('expected 206 Partial Content');
    }
    // Refuse a wrong length before downloading it, when the server declares it (for the
    // bytes on the wire, so only when they are not content-encoded).
    const declared = res.headers.get('Content-Length');
    const encoding = res.headers.get('Content-Encoding');
    const identity = encoding === null || encoding.trim() === '' || encoding.trim().toLowerCase() === 'identity';
    if (identity && declared !== null && declared.trim() !== '' && Number(declared) !== expected) {
      return reject(`Content-Length ${declared}, expected ${expected}`);
    }
    if (!res.body) return fail(`HTTP ${res.status}: no body`);
    const reader = new RangeBodyReader(res.body, buffers);
    /** Rejects for a body read that failed, `before` bytes of the body read earlier. */
    const failRead = (e: unknown, before: number): never => {
      const what =
        e instanceof BodyEndedEarly
          ? `body is ${before + e.received} bytes, expected ${expected}`
          : e instanceof BodyTooLong
            ? `body is longer than the ${expected} bytes expected`
            : signal.aborted
              ? 'aborted'
              : `body read failed: ${e instanceof Error ? e.message : String(e)}`;
      return fail(`HTTP ${res.status}: ${what}`, e);
    };
    return { reader, expected, failRead };
  }
}
