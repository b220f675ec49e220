/**
 * The HttpRange port over fetch: one `Range` request per call, and the response is accepted
 * only if it provably holds exactly the bytes asked for:
 * - 206 whose Content-Range is `bytes start-(end-1)/total` (total a number >= end, or `*`);
 * - 200 only for a range starting at 0, when the body is exactly `end` bytes (servers that
 *   ignore Range answer a whole-file range that way).
 * The body length is checked in both cases. Every failure, abort included, rejects with
 * TabswarmError('cdn-error') naming the URL, range and status.
 *
 * With a BufferPool, the body is read straight into a pooled buffer (a BYOB reader where the
 * body is a byte stream, else chunk by chunk): the megabyte per piece is used again once the
 * pass worker hands it back, instead of becoming garbage (core/buffer-pool.ts says why).
 */
import type { BufferPool } from '../core/buffer-pool.js';
import { TabswarmError } from '../core/errors.js';
import type { HttpRange } from '../core/ports.js';

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
        // no-store: verified pieces live in IndexedDB; the HTTP cache would only hold a second,
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

      let body: Uint8Array;
      try {
        if (buffers && res.body) {
          const read = await readInto(res.body, buffers.take(expected));
          if (read.overLong) return fail(`HTTP ${res.status}: body is longer than the ${expected} bytes expected`);
          if (read.received !== expected) return fail(`HTTP ${res.status}: body is ${read.received} bytes, expected ${expected}`);
          body = read.bytes;
        } else {
          body = new Uint8Array(await res.arrayBuffer());
        }
      } catch (e) {
        return fail(signal.aborted ? 'aborted' : `body read failed: ${e instanceof Error ? e.message : String(e)}`, e);
      }
      if (body.byteLength !== expected) return fail(`HTTP ${res.status}: body is ${body.byteLength} bytes, expected ${expected}`);
      return body;
    },
  };
}

interface BodyRead {
  /** The whole buffer, filled from the start with `received` bytes. */
  bytes: Uint8Array;
  received: number;
  /** The body went on past the buffer's end (the rest is cancelled unread). */
  overLong: boolean;
}

/**
 * Reads a body into `buffer` (which it takes over), stopping one byte past its end at most:
 * a body longer than asked is refused without being read whole.
 */
async function readInto(body: ReadableStream<Uint8Array>, buffer: ArrayBuffer): Promise<BodyRead> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    byob = undefined; // not a byte stream: read its chunks and copy them
  }
  if (byob) {
    const reader = byob;
    try {
      let view = new Uint8Array(buffer);
      let received = 0;
      while (received < view.byteLength) {
        const { value, done } = await reader.read(new Uint8Array(view.buffer, received, view.byteLength - received));
        if (!value) throw new Error('the body stream was cancelled');
        view = new Uint8Array(value.buffer); // the read moved the buffer: this is it now
        received += value.byteLength;
        if (done) return { bytes: view, received, overLong: false };
      }
      const more = await reader.read(new Uint8Array(1));
      return { bytes: view, received, overLong: !more.done };
    } finally {
      void reader.cancel().catch(() => undefined);
    }
  }
  const reader = body.getReader();
  const bytes = new Uint8Array(buffer);
  let received = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { bytes, received, overLong: false };
      if (received + value.byteLength > bytes.byteLength) return { bytes, received, overLong: true };
      bytes.set(value, received);
      received += value.byteLength;
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}
