/**
 * src/protocol/http-range.ts and src/protocol/swarm-response.ts: the Service Worker's range
 * decisions must be our CDN origin's. The oracle is the `send` package itself (which the
 * origin, signaling/cdn.ts, runs over range-parser with `combine: true`), driven through its
 * real decision code with a stand-in response and no file; then, once, the real origin.
 */
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import send from 'send';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange, type RangeDecision } from '../../../src/protocol/http-range.js';
import {
  encodeRfc5987,
  parseSwarmPath,
  representationOf,
  swarmResponseHead,
  type SwarmRequestHead,
} from '../../../src/protocol/swarm-response.js';
import type { ServerHandle } from '../../../signaling/server.js';
import { makeTempDir, publishDeterministic, removeDir, startServer } from '../../server/helpers.js';

const ID = 'ab'.repeat(32);
const ETAG = `"${ID}"`;

interface Outcome {
  status: number;
  contentRange: string | undefined;
  /** Content-Length of a 200/206; undefined for a 416 (send's error page has a body, ours none). */
  contentLength: string | undefined;
}

/**
 * What send answers for a file of `size` bytes: its own code from stat to the first byte, the
 * response a stand-in, the file never opened. With `mtime`, the response carries
 * `Last-Modified` as the CDN's does; without, none, as the Service Worker's.
 */
function sendOutcome(size: number, range: string | null, ifRange: string | null, etag: string | undefined, mtime?: Date): Outcome {
  const reqHeaders: Record<string, string> = {};
  if (range !== null) reqHeaders['range'] = range;
  if (ifRange !== null) reqHeaders['if-range'] = ifRange;
  const stream = send({ method: 'GET', headers: reqHeaders } as never, '/file.bin', {
    etag: false,
    lastModified: mtime !== undefined,
    acceptRanges: true,
  });
  const headers = new Map<string, string>();
  if (etag !== undefined) headers.set('etag', etag);
  const res = {
    headersSent: false,
    statusCode: 200,
    getHeader: (n: string) => headers.get(n.toLowerCase()),
    setHeader: (n: string, v: unknown) => void headers.set(n.toLowerCase(), String(v)),
    removeHeader: (n: string) => void headers.delete(n.toLowerCase()),
    getHeaderNames: () => [...headers.keys()],
    end: () => undefined,
  };
  let failed: { status: number; headers?: Record<string, string> } | undefined;
  stream.on('error', (err: { status: number; headers?: Record<string, string> }) => (failed = err));
  Object.assign(stream, { res, stream: () => undefined });
  stream.send('/file.bin', { size, mtime: mtime ?? new Date(0) } as Stats);
  if (failed !== undefined) return { status: failed.status, contentRange: failed.headers?.['Content-Range'], contentLength: undefined };
  return { status: res.statusCode, contentRange: headers.get('content-range'), contentLength: headers.get('content-length') };
}

/** The same outcome from our side. */
function ourOutcome(size: number, range: string | null, ifRange: string | null, etag: string | undefined): Outcome {
  const d = parseRange(size, range, ifRange, etag);
  if (d.kind === 'unsatisfiable') return { status: 416, contentRange: `bytes */${size}`, contentLength: undefined };
  if (d.kind === 'whole') return { status: 200, contentRange: undefined, contentLength: String(size) };
  return { status: 206, contentRange: `bytes ${d.start}-${d.end}/${size}`, contentLength: String(d.end - d.start + 1) };
}

const short = (d: RangeDecision): string => (d.kind === 'partial' ? `${d.start}-${d.end}` : d.kind);

describe('parseRange: the CDN origin’s rules', () => {
  // [size, Range, If-Range, expected, why]
  const table: Array<[number, string | null, string | null, string, string]> = [
    [100, null, null, 'whole', 'no Range'],
    [100, 'bytes=0-0', null, '0-0', 'first byte'],
    [100, 'bytes=10-19', null, '10-19', 'a closed range'],
    [100, 'bytes=0-99', null, '0-99', 'exactly the file: still 206'],
    [100, 'bytes=90-', null, '90-99', 'open range bytes=N-'],
    [100, 'bytes=0-', null, '0-99', 'open range from 0'],
    [100, 'bytes=90-5000', null, '90-99', 'last past the end is cut'],
    [100, 'bytes=99-99', null, '99-99', 'last byte'],
    [100, 'bytes=100-', null, 'unsatisfiable', 'open range at the size'],
    [100, 'bytes=100-200', null, 'unsatisfiable', 'past the end: 416'],
    [100, 'bytes=5-2', null, 'unsatisfiable', 'start after end'],
    [100, 'bytes=-0', null, 'unsatisfiable', 'empty suffix'],
    [100, 'bytes=-10', null, '90-99', 'suffix'],
    [100, 'bytes=-100', null, '0-99', 'suffix of exactly the file'],
    [100, 'bytes=-101', null, 'unsatisfiable', 'a suffix longer than the file is dropped, not cut'],
    [100, 'bytes=-99999999999999999999', null, 'unsatisfiable', 'huge suffix'],
    [100, 'bytes=0-99999999999999999999', null, '0-99', 'huge last'],
    [100, `bytes=0-${'9'.repeat(400)}`, null, '0-99', 'a last that is Infinity as a Number'],
    [100, `bytes=${'9'.repeat(400)}-`, null, 'unsatisfiable', 'a first that is Infinity'],
    [100, 'bytes=0-1,3-4', null, 'whole', 'two ranges that do not merge: 200 whole'],
    [100, 'bytes=0-1,2-4', null, '0-4', 'adjacent ranges merge'],
    [100, 'bytes=3-10,0-5', null, '0-10', 'overlapping, out of order, merge'],
    [100, 'bytes=0-1,200-300', null, '0-1', 'an unsatisfiable spec is dropped beside a good one'],
    [100, 'bytes=200-300,-0', null, 'unsatisfiable', 'every spec dropped'],
    [100, 'bytes=0-1,x', null, 'whole', 'one malformed spec spoils the header'],
    [100, 'bytes=0-1,', null, 'whole', 'an empty spec is malformed'],
    [100, 'bytes=', null, 'whole', 'no spec'],
    [100, 'bytes=-', null, 'whole', 'neither number'],
    [100, 'bytes=1-2-3', null, 'whole', 'two dashes'],
    [100, 'bytes=+1-2', null, 'whole', 'a sign'],
    [100, 'bytes=1e1-20', null, 'whole', 'not digits'],
    [100, 'bytes=abc', null, 'whole', 'garbage'],
    [100, 'bytes= 1 - 2 ', null, '1-2', 'whitespace around numbers'],
    [100, 'bytes=\u00a01-2', null, '1-2', 'JavaScript trim: Unicode spaces too'],
    [100, 'bytes=01-002', null, '1-2', 'leading zeros'],
    [100, '  bytes=1-2', null, '1-2', 'leading spaces before the unit'],
    [100, '\tbytes=1-2', null, 'whole', 'a tab before the unit: not bytes'],
    [100, 'Bytes=1-2', null, 'whole', 'the unit is case-sensitive'],
    [100, 'bytes =1-2', null, 'whole', 'no space before ='],
    [100, 'items=1-2', null, 'whole', 'another unit'],
    [100, 'bytes==1-2', null, 'whole', 'a second ='],
    [0, null, null, 'whole', 'empty file, no Range'],
    [0, 'bytes=0-', null, 'unsatisfiable', 'any range on an empty file'],
    [0, 'bytes=-5', null, 'unsatisfiable', 'a suffix on an empty file'],
    [0, 'bytes=0-0', null, 'unsatisfiable', 'the first byte of nothing'],
    [0, 'bytes=x', null, 'whole', 'malformed on an empty file'],
    [100, 'bytes=10-19', ETAG, '10-19', 'If-Range with our ETag'],
    [100, 'bytes=10-19', `W/${ETAG}`, '10-19', 'a weak tag naming ours: send matches by substring'],
    [100, 'bytes=10-19', `"x", ${ETAG}`, '10-19', 'a list naming ours'],
    [100, 'bytes=10-19', '"other"', 'whole', 'another ETag'],
    [100, 'bytes=10-19', ID, 'whole', 'our ID unquoted is read as a date'],
    [100, 'bytes=10-19', 'Wed, 21 Oct 2099 07:28:00 GMT', 'whole', 'a date: no Last-Modified to hold it'],
    [100, 'bytes=10-19', '', '10-19', 'an empty If-Range counts as none'],
    [100, 'bytes=500-', '"other"', 'whole', 'stale If-Range beats unsatisfiable'],
    [100, 'bytes=500-', ETAG, 'unsatisfiable', 'matching If-Range keeps a 416'],
    [100, null, '"other"', 'whole', 'If-Range without Range'],
  ];

  it.each(table)('size %i, Range %j, If-Range %j → %s (%s)', (size, range, ifRange, expected) => {
    expect(short(parseRange(size, range, ifRange, ETAG))).toBe(expected);
    expect(ourOutcome(size, range, ifRange, ETAG)).toEqual(sendOutcome(size, range, ifRange, ETAG));
  });

  it('without an ETag no If-Range tag holds', () => {
    expect(short(parseRange(100, 'bytes=1-2', ETAG))).toBe('whole');
    expect(sendOutcome(100, 'bytes=1-2', ETAG, undefined).status).toBe(200);
  });

  it('a size that is not a byte count is an empty body', () => {
    for (const size of [-1, NaN, 1.5, Infinity, 2 ** 60]) {
      expect(short(parseRange(size, 'bytes=0-', null, ETAG))).toBe('unsatisfiable');
      expect(short(parseRange(size, null, null, ETAG))).toBe('whole');
    }
  });

  it('differs from the CDN in one place: a date If-Range, which the CDN compares with its Last-Modified', () => {
    const mtime = new Date('2024-01-01T00:00:00Z');
    const later = 'Mon, 01 Jan 2035 00:00:00 GMT';
    const earlier = 'Mon, 01 Jan 2001 00:00:00 GMT';
    expect(sendOutcome(100, 'bytes=1-2', later, ETAG, mtime).status).toBe(206);
    expect(sendOutcome(100, 'bytes=1-2', earlier, ETAG, mtime).status).toBe(200);
    // The Service Worker sends no Last-Modified, so no date is a validator of ours.
    expect(short(parseRange(100, 'bytes=1-2', later, ETAG))).toBe('whole');
    expect(short(parseRange(100, 'bytes=1-2', earlier, ETAG))).toBe('whole');
  });
});

describe('parseRange against send, property-based', () => {
  const ws = fc.constantFrom('', '', '', ' ', '  ', '\t', '\u00a0', '\n');
  const num = (size: number) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: size + 20 }).map(String) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 6000 }).map(String) },
      { weight: 1, arbitrary: fc.constantFrom('0', '00', '007', String(size), String(size - 1), '9007199254740993', '9'.repeat(30), '9'.repeat(400)) },
    );
  const spec = (size: number) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(num(size), num(size)).map(([a, b]) => `${a}-${b}`) },
      { weight: 2, arbitrary: num(size).map((a) => `${a}-`) },
      { weight: 2, arbitrary: num(size).map((a) => `-${a}`) },
      { weight: 1, arbitrary: fc.tuple(ws, num(size), ws, ws, num(size), ws).map(([w1, a, w2, w3, b, w4]) => `${w1}${a}${w2}-${w3}${b}${w4}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('', '-', ' - ', 'x', '5', '1-2-3', '--5', '+1-2', '1e3-', '0x10-', '-x', 'a-b', '1 2-3', '١-٢', '=0-1', '-+1'),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
    );
  const unit = fc.constantFrom('bytes=', 'bytes=', 'bytes=', 'bytes=', ' bytes=', '  bytes=', '\tbytes=', 'Bytes=', 'bytes =', 'bytes', 'items=', '', 'bytes==');
  /** Ranges that touch, overlap or leave a gap of a byte or two: where merging decides 206 or 200. */
  const nearRanges = (size: number) =>
    fc
      .tuple(fc.integer({ min: 0, max: size + 5 }), fc.array(fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: 0, max: 5 })), { minLength: 2, maxLength: 4 }))
      .map(([from, steps]) => {
        let at = from;
        return steps.map(([gap, length]) => {
          const start = Math.max(0, at + gap);
          at = start + length + 1;
          return `${start}-${start + length}`;
        });
      })
      .chain((specs) => fc.shuffledSubarray(specs, { minLength: specs.length }))
      .map((specs) => 'bytes=' + specs.join(','));
  const rangeHeader = (size: number) =>
    fc.oneof(
      { weight: 3, arbitrary: nearRanges(size) },
      { weight: 8, arbitrary: fc.tuple(unit, fc.array(spec(size), { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ',', ', ', ' ,', ',,')).map(([u, specs, sep]) => u + specs.join(sep)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => 'bytes=' + s) },
    );
  const ifRange = fc.constantFrom(
    null, null, null, null, '', ETAG, `W/${ETAG}`, '"other"', `"other", ${ETAG}`, ID, `"${ID}`, 'Wed, 21 Oct 2015 07:28:00 GMT', 'Wed, 21 Oct 2099 07:28:00 GMT', 'garbage', '*',
  );
  const sizes = fc.oneof(fc.constantFrom(0, 1, 2, 100), fc.integer({ min: 0, max: 5000 }));
  const cases = sizes.chain((size) =>
    fc.record({
      size: fc.constant(size),
      range: fc.option(rangeHeader(size), { nil: null, freq: 10 }),
      ifRange,
      etag: fc.constantFrom<string | undefined>(ETAG, ETAG, ETAG, undefined),
    }),
  );

  it('gives send’s status, Content-Range and Content-Length for any header', () => {
    fc.assert(
      fc.property(cases, ({ size, range, ifRange, etag }) => {
        expect(ourOutcome(size, range, ifRange, etag)).toEqual(sendOutcome(size, range, ifRange, etag));
      }),
      { numRuns: 5000 },
    );
  });

  it('swarmResponseHead agrees with send too, and its body range is the one announced', () => {
    fc.assert(
      fc.property(cases, ({ size, range, ifRange }) => {
        const head = swarmResponseHead({ method: 'GET', size, mimeType: 'video/mp4', name: 'a.mp4', contentId: ID, range, ifRange });
        const theirs = sendOutcome(size, range, ifRange, ETAG);
        expect(head.status).toBe(theirs.status);
        expect(head.headers['Content-Range']).toBe(theirs.contentRange);
        if (head.status !== 416) expect(head.headers['Content-Length']).toBe(theirs.contentLength);
        expect(head.end - head.start).toBe(Number(head.headers['Content-Length']));
        expect(head.start >= 0 && head.end <= size).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('swarmResponseHead', () => {
  const base: SwarmRequestHead = { method: 'GET', size: 1000, mimeType: 'video/mp4', name: 'film.mp4', contentId: ID, range: null, ifRange: null };
  const fixed = {
    'Accept-Ranges': 'bytes',
    ETag: ETAG,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; media-src 'self'; img-src 'self'",
  };

  it('200: the whole body, inline for a video', () => {
    expect(swarmResponseHead(base)).toEqual({
      status: 200,
      start: 0,
      end: 1000,
      headers: {
        ...fixed,
        'Content-Type': 'video/mp4',
        'Content-Disposition': "inline; filename*=UTF-8''film.mp4",
        'Content-Length': '1000',
      },
    });
  });

  it('206: Content-Range, Content-Length and the body range, end exclusive', () => {
    expect(swarmResponseHead({ ...base, range: 'bytes=100-199' })).toEqual({
      status: 206,
      start: 100,
      end: 200,
      headers: {
        ...fixed,
        'Content-Type': 'video/mp4',
        'Content-Disposition': "inline; filename*=UTF-8''film.mp4",
        'Content-Range': 'bytes 100-199/1000',
        'Content-Length': '100',
      },
    });
    expect(swarmResponseHead({ ...base, range: 'bytes=-1' })).toMatchObject({ status: 206, start: 999, end: 1000 });
    expect(swarmResponseHead({ ...base, range: 'bytes=990-' }).headers['Content-Range']).toBe('bytes 990-999/1000');
  });

  it('416: Content-Range bytes */size, no body', () => {
    expect(swarmResponseHead({ ...base, range: 'bytes=1000-' })).toEqual({
      status: 416,
      start: 0,
      end: 0,
      headers: { ...fixed, 'Content-Range': 'bytes */1000', 'Content-Length': '0' },
    });
    expect(swarmResponseHead({ ...base, size: 0, range: 'bytes=0-' }).headers['Content-Range']).toBe('bytes */0');
  });

  it('an empty file: 200 with Content-Length 0', () => {
    expect(swarmResponseHead({ ...base, size: 0 })).toMatchObject({ status: 200, start: 0, end: 0, headers: { 'Content-Length': '0' } });
  });

  it('If-Range: our ETag keeps the range, anything else gives the whole body', () => {
    expect(swarmResponseHead({ ...base, range: 'bytes=1-2', ifRange: ETAG }).status).toBe(206);
    expect(swarmResponseHead({ ...base, range: 'bytes=1-2', ifRange: '"other"' }).status).toBe(200);
    expect(swarmResponseHead({ ...base, range: 'bytes=1-2', ifRange: 'Wed, 21 Oct 2099 07:28:00 GMT' }).status).toBe(200);
  });

  it('HEAD: the headers of GET, no body', () => {
    for (const range of [null, 'bytes=100-199', 'bytes=5000-']) {
      const get = swarmResponseHead({ ...base, range });
      const head = swarmResponseHead({ ...base, method: 'HEAD', range });
      expect(head.status).toBe(get.status);
      expect(head.headers).toEqual(get.headers);
      expect(head.end).toBe(head.start);
    }
  });

  it.each([
    ['video/mp4', 'video/mp4', 'inline'],
    ['video/webm', 'video/webm', 'inline'],
    ['VIDEO/MP4; codecs="avc1.42E01E"', 'video/mp4', 'inline'],
    ['  audio/mpeg ', 'audio/mpeg', 'inline'],
    ['audio/ogg;\r\nX-Evil: 1', 'audio/ogg', 'inline'],
    ['image/png', 'image/png', 'inline'],
    ['image/jpeg', 'image/jpeg', 'inline'],
    ['image/gif', 'image/gif', 'inline'],
    ['image/webp', 'image/webp', 'inline'],
    ['image/avif', 'image/avif', 'inline'],
    ['text/html', 'application/octet-stream', 'attachment'],
    ['text/html; charset=utf-8', 'application/octet-stream', 'attachment'],
    ['image/svg+xml', 'application/octet-stream', 'attachment'],
    ['application/xhtml+xml', 'application/octet-stream', 'attachment'],
    ['text/xml', 'application/octet-stream', 'attachment'],
    ['application/pdf', 'application/octet-stream', 'attachment'],
    ['text/plain', 'application/octet-stream', 'attachment'],
    ['image/bmp', 'application/octet-stream', 'attachment'],
    ['application/octet-stream', 'application/octet-stream', 'attachment'],
    ['video/', 'application/octet-stream', 'attachment'],
    ['video', 'application/octet-stream', 'attachment'],
    ['videos/mp4', 'application/octet-stream', 'attachment'],
    ['video/mp4\r\nX-Evil: 1', 'application/octet-stream', 'attachment'],
    ['video/mp4 x', 'application/octet-stream', 'attachment'],
    ['', 'application/octet-stream', 'attachment'],
  ])('type %j → %s, %s', (mimeType, type, disposition) => {
    expect(representationOf(mimeType)).toEqual({ type, disposition });
    const head = swarmResponseHead({ ...base, mimeType });
    expect(head.headers['Content-Type']).toBe(type);
    expect(head.headers['Content-Disposition']).toBe(`${disposition}; filename*=UTF-8''film.mp4`);
  });

  it.each([
    ['film.mp4', 'film.mp4'],
    ['päckage "v1".bin', 'p%C3%A4ckage%20%22v1%22.bin'],
    ['a\r\nSet-Cookie: x=1', 'a%0D%0ASet-Cookie%3A%20x%3D1'],
    ["it's (1)*.mp4", 'it%27s%20%281%29%2A.mp4'],
    ['a;b,c\\d', 'a%3Bb%2Cc%5Cd'],
    ['!#$&+-.^_`|~', '!%23%24%26%2B-.%5E_%60%7C~'],
    ['😀.mp4', '%F0%9F%98%80.mp4'],
    ['\uD800x', '%EF%BF%BDx'],
    ['x\uDC00', 'x%EF%BF%BD'],
  ])('name %j → filename*=UTF-8\'\'%s', (name, encoded) => {
    expect(encodeRfc5987(name)).toBe(encoded);
    expect(swarmResponseHead({ ...base, name }).headers['Content-Disposition']).toBe(`inline; filename*=UTF-8''${encoded}`);
  });

  it('an empty name falls back to the content ID', () => {
    expect(swarmResponseHead({ ...base, name: '' }).headers['Content-Disposition']).toBe(`inline; filename*=UTF-8''${ID}`);
  });

  it('no ETag for something that is not a content ID', () => {
    const head = swarmResponseHead({ ...base, contentId: 'x"\r\ny', range: 'bytes=1-2', ifRange: '"x"' });
    expect(head.headers['ETag']).toBeUndefined();
    expect(head.status).toBe(200);
  });

  it('never throws, and every header is a valid field value, whatever the publisher wrote', () => {
    const attrChars = /^(?:inline|attachment); filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]*$/;
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.oneof(fc.constant(ID), fc.string({ maxLength: 70 })),
        fc.integer({ min: -10, max: 10_000 }),
        fc.option(fc.string({ maxLength: 20 }), { nil: null }),
        (name, mimeType, contentId, size, range) => {
          const head = swarmResponseHead({ method: 'GET', size, mimeType, name, contentId, range, ifRange: null });
          for (const value of Object.values(head.headers)) expect(value).toMatch(/^[\x20-\x7e]*$/);
          if (head.status !== 416) {
            expect(head.headers['Content-Disposition']).toMatch(attrChars);
            expect(['inline', 'attachment']).toContain(head.headers['Content-Disposition']!.split(';')[0]);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the encoded name decodes back to the name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (name) => {
        expect(decodeURIComponent(encodeRfc5987(name))).toBe(name);
      }),
    );
  });
});

describe('parseSwarmPath', () => {
  it('accepts <scope>swarm/<64 lower-case hex>/<name>, and decodes the name', () => {
    expect(parseSwarmPath(`/swarm/${ID}/film.mp4`, '/')).toEqual({ contentId: ID, name: 'film.mp4' });
    expect(parseSwarmPath(`/app/swarm/${ID}/my%20film%20%C3%A4.mp4`, '/app/')).toEqual({ contentId: ID, name: 'my film ä.mp4' });
    expect(parseSwarmPath(`/app/swarm/${ID}/x`, '/app')).toEqual({ contentId: ID, name: 'x' });
    expect(parseSwarmPath(`/swarm/${ID}/a%2Fb`, '/')).toEqual({ contentId: ID, name: 'a/b' });
  });

  it.each([
    [`/swarm/${ID.toUpperCase()}/film.mp4`, '/', 'upper-case hex'],
    [`/swarm/${'A' + ID.slice(1)}/film.mp4`, '/', 'one upper-case digit'],
    [`/swarm/${ID.slice(1)}/film.mp4`, '/', '63 characters'],
    [`/swarm/${ID}0/film.mp4`, '/', '65 characters'],
    [`/swarm/${'g' + ID.slice(1)}/film.mp4`, '/', 'not hex'],
    [`/swarm/${ID}/`, '/', 'missing name'],
    [`/swarm/${ID}`, '/', 'missing name and slash'],
    [`/swarm/${ID}/..`, '/', '..'],
    [`/swarm/${ID}/.`, '/', '.'],
    [`/swarm/${ID}/%2E%2E`, '/', 'encoded ..'],
    [`/swarm/${ID}/a%2F..%2Fb`, '/', 'a .. segment, encoded'],
    [`/swarm/${ID}/a%5C..`, '/', 'a .. segment after a backslash'],
    [`/swarm/${ID}/a/b`, '/', 'two segments'],
    [`/swarm/${ID}/film.mp4/`, '/', 'trailing slash'],
    [`/swarm/${ID}/%E0%A4%A`, '/', 'malformed percent-encoding'],
    [`/swarm/${ID}/film.mp4`, '/app/', 'outside the scope'],
    [`/other/swarm/${ID}/film.mp4`, '/', 'not right under the scope'],
    [`/swarms/${ID}/film.mp4`, '/', 'another prefix'],
    [`/swarm//${ID}/film.mp4`, '/', 'double slash'],
    ['', '/', 'empty'],
  ])('rejects %j under scope %j (%s)', (pathname, scope) => {
    expect(parseSwarmPath(pathname, scope)).toBeUndefined();
  });
});

describe('against the real CDN origin', () => {
  const SIZE = 10_000;
  let dir: string;
  let server: ServerHandle;
  let url: string;
  let contentId: string;

  beforeAll(async () => {
    dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    const published = await publishDeterministic(dir, contentDir, SIZE, 7, 'clip.mp4');
    contentId = published.contentId;
    server = await startServer(contentDir);
    url = `${server.url}/cdn/${contentId}/clip.mp4`;
  });
  afterAll(async () => {
    await server?.close();
    if (dir !== undefined) await removeDir(dir);
  });

  // `etag` stands for our ETag, filled in once the content is published.
  const cases: Array<[string | null, string | null, 'GET' | 'HEAD']> = [
    [null, null, 'GET'],
    ['bytes=0-0', null, 'GET'],
    ['bytes=100-199', null, 'GET'],
    ['bytes=9000-', null, 'GET'],
    ['bytes=9990-20000', null, 'GET'],
    ['bytes=-100', null, 'GET'],
    ['bytes=-10000', null, 'GET'],
    ['bytes=-10001', null, 'GET'],
    ['bytes=-0', null, 'GET'],
    ['bytes=5-2', null, 'GET'],
    ['bytes=10000-', null, 'GET'],
    ['bytes=0-1,3-4', null, 'GET'],
    ['bytes=0-1,2-4', null, 'GET'],
    ['bytes=0-1,x', null, 'GET'],
    ['items=0-1', null, 'GET'],
    ['bytes=abc', null, 'GET'],
    ['bytes=100-199', 'etag', 'GET'],
    ['bytes=100-199', 'W/etag', 'GET'],
    ['bytes=100-199', '"other"', 'GET'],
    ['bytes=100-199', 'Thu, 01 Jan 1970 00:00:00 GMT', 'GET'],
    ['bytes=100-199', null, 'HEAD'],
  ];

  it.each(cases)('Range %j, If-Range %j, %s: same status, Content-Range and Content-Length', async (range, ifRangeTemplate, method) => {
    const etag = `"${contentId}"`;
    const ifRange = ifRangeTemplate?.replace('etag', etag) ?? null;
    const headers: Record<string, string> = {};
    if (range !== null) headers['Range'] = range;
    if (ifRange !== null) headers['If-Range'] = ifRange;
    const res = await fetch(url, { method, headers });
    await res.arrayBuffer();
    const ours = swarmResponseHead({ method, size: SIZE, mimeType: 'video/mp4', name: 'clip.mp4', contentId, range, ifRange });
    expect(ours.status).toBe(res.status);
    expect(ours.headers['Content-Range']).toBe(res.headers.get('content-range') ?? undefined);
    // The origin's 416 is its error reply: its own headers and an error text; ours has no body.
    if (ours.status === 416) return;
    expect(ours.headers['Content-Length']).toBe(res.headers.get('content-length'));
    expect(ours.headers['ETag']).toBe(res.headers.get('etag'));
    expect(ours.headers['Accept-Ranges']).toBe(res.headers.get('accept-ranges'));
  });
});
