/**
 * Which part of a file an HTTP request with `Range` (and perhaps `If-Range`) asks for: the
 * decision of the Service Worker that serves `/swarm/<contentId>/<name>`
 * (src/protocol/swarm-response.ts).
 *
 * Contract: the answer is the one our CDN origin gives (signaling/cdn.ts, which is the `send`
 * package 1.x over `range-parser` with `combine: true`), so a player sees the same thing from
 * either. Its rules, as send applies them:
 *
 * - `Range` counts only if it starts with `bytes=` (after any spaces; lower case only).
 *   Anything else (no header, another unit, `Bytes=`, `bytes =`) gets the whole file.
 * - The specs after `=` are split on `,`; each is `first-last`, `first-` (to the end) or
 *   `-suffix` (the last `suffix` bytes), numbers of ASCII digits with whitespace (JavaScript's
 *   `trim`) around them. One malformed spec (no `-`, a sign, a letter, an empty spec as in
 *   `bytes=0-1,` or `bytes=-`) makes the whole header malformed: the whole file, even if
 *   other specs were good.
 * - `last` past the end is cut to the last byte. A spec that then starts after its end
 *   (`bytes=5-2`, `bytes=N-` with N ≥ size, `bytes=-0`, any spec on an empty file) or before
 *   byte 0 is dropped: range-parser does not cut a suffix longer than the file to the whole
 *   file, so `bytes=-(size+1)` is dropped too.
 * - No spec left: unsatisfiable (416, `Content-Range: bytes *\/size`).
 * - The specs left are merged where they overlap or touch. One range: 206. Several: the whole
 *   file (send answers multiple ranges with a plain 200, never multipart).
 * - `If-Range` (when non-empty): holding a `"` it is an entity tag, and the range stands only
 *   if the header contains our ETag as a substring (so `W/"<id>"` and a list naming it match
 *   too: send does no strong comparison; harmless here, the bytes behind a content ID never
 *   change). Otherwise it is a date, compared with `Last-Modified`: the Service Worker sends
 *   none, so a date never holds. A stale If-Range gives the whole file, whatever the range was
 *   (a malformed or unsatisfiable one included). Here the CDN differs: it sends the file's
 *   mtime as Last-Modified, and keeps the range for a date at or after it.
 *
 * Conditional requests proper (If-None-Match, If-Match: 304, 412) are not decided here.
 */

/** What to answer: the whole body (200), bytes `start..end` inclusive (206), or 416. */
export type RangeDecision =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const WHOLE: RangeDecision = Object.freeze({ kind: 'whole' });
const UNSATISFIABLE: RangeDecision = Object.freeze({ kind: 'unsatisfiable' });

/** send's test for a byte range header: spaces, then `bytes=`. */
const BYTES_UNIT = /^ *bytes=/;
const DIGITS = /^[0-9]+$/;

interface Span {
  start: number;
  end: number;
}

/** `size` as a byte count: a non-negative safe integer, else 0 (no byte is ever addressed past a bad size). */
export function byteSize(size: number): number {
  return Number.isSafeInteger(size) && size > 0 ? size : 0;
}

/**
 * The decision for a body of `size` bytes. `rangeHeader` and `ifRange` are the request's
 * header values (null or undefined when absent); `etag` is the response's `ETag` header value,
 * quotes included (`"<contentId>"`). Never throws.
 */
export function parseRange(size: number, rangeHeader: string | null | undefined, ifRange?: string | null, etag?: string): RangeDecision {
  if (typeof rangeHeader !== 'string' || !BYTES_UNIT.test(rangeHeader)) return WHOLE;
  const spans = satisfiableSpans(rangeHeader.slice(rangeHeader.indexOf('=') + 1), byteSize(size));
  if (spans === undefined || !ifRangeHolds(ifRange, etag)) return WHOLE;
  if (spans.length === 0) return UNSATISFIABLE;
  const merged = mergeToOne(spans);
  return merged === undefined ? WHOLE : { kind: 'partial', start: merged.start, end: merged.end };
}

/** The satisfiable spans of a range set (the text after `bytes=`), or undefined if any spec is malformed. */
function satisfiableSpans(set: string, size: number): Span[] | undefined {
  const spans: Span[] = [];
  for (const spec of set.split(',')) {
    const span = spanOf(spec, size);
    if (span === 'malformed') return undefined;
    if (span !== 'dropped') spans.push(span);
  }
  return spans;
}

/** One spec (`first-last`, `first-`, `-suffix`) against a body of `size` bytes. */
function spanOf(spec: string, size: number): Span | 'dropped' | 'malformed' {
  const dash = spec.indexOf('-');
  if (dash < 0) return 'malformed';
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  let start: number;
  let end: number;
  if (first === '') {
    if (!DIGITS.test(last)) return 'malformed';
    start = size - Number(last); // a suffix longer than the body leaves start < 0: dropped, not cut
    end = size - 1;
  } else {
    if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return 'malformed';
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  }
  return start >= 0 && start <= end ? { start, end } : 'dropped';
}

/** The one range that `spans` cover when merged where they overlap or touch, or undefined if they leave a gap. */
function mergeToOne(spans: readonly Span[]): Span | undefined {
  const ordered = [...spans].sort((a, b) => a.start - b.start);
  const first = ordered[0]!;
  let end = first.end;
  for (const span of ordered) {
    if (span.start > end + 1) return undefined;
    end = Math.max(end, span.end);
  }
  return { start: first.start, end };
}

/** Whether a range request may be answered with a range, under send's If-Range rule (see the header). */
function ifRangeHolds(ifRange: string | null | undefined, etag: string | undefined): boolean {
  if (typeof ifRange !== 'string' || ifRange === '') return true;
  if (ifRange.includes('"')) return etag !== undefined && etag !== '' && ifRange.includes(etag);
  return false; // a date: there is no Last-Modified to compare it with
}
