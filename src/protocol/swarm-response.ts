/**
 * The status and headers of the Service Worker's answer to `GET|HEAD <scope>swarm/<contentId>/<name>`
 * (the URL a page gives `<video src>` to play a content while it downloads), and which bytes
 * its body carries. DOM-free: the page that answers the worker (src/client/stream-host.ts)
 * sends this head, then the body from src/core/piece-stream.ts.
 *
 * Contract:
 * - Ranges are decided as our CDN origin decides them (src/protocol/http-range.ts): 200 with
 *   the whole body, 206 with `Content-Range: bytes s-e/size`, or 416 with
 *   `Content-Range: bytes *\/size` and no body.
 * - Every answer carries `Accept-Ranges: bytes`, `ETag: "<contentId>"` (the bytes behind a
 *   content ID never change), `X-Content-Type-Options: nosniff`, `Cache-Control: no-store`
 *   (the SW answers from the swarm every time; nothing stale or partial is cached) and
 *   a Content-Security-Policy that allows nothing but the URL's own media or image (SWARM_CSP).
 * - The MIME type comes from whoever published the file (any classroom browser can), and the
 *   answer comes from our own origin: a `text/html` or `image/svg+xml` served inline would run
 *   the publisher's script with our origin's storage. So the type is sent, inline, only when
 *   it is a media type a browser never runs (`video/*`, `audio/*`, PNG, JPEG, GIF, WebP,
 *   AVIF), and only its essence (no parameters: nothing the publisher wrote reaches a header
 *   unchecked). Anything else is `application/octet-stream` as an attachment. The CSP backs
 *   this up should a browser render the body anyway: no script of it would run.
 * - The file name travels only RFC 5987-encoded (`filename*=UTF-8''…`): no quote, CR, LF or
 *   non-ASCII character of it reaches the header as such.
 * - 200/206 carry `Content-Type`, `Content-Disposition` and `Content-Length`; a 416 describes
 *   no representation and carries `Content-Length: 0` only, besides the headers above.
 * - HEAD gets the headers GET would get, and an empty body.
 */
import { SHA256_HEX } from './hex.js';
import { byteSize, parseRange } from './http-range.js';

export interface SwarmRequestHead {
  method: 'GET' | 'HEAD';
  /** The file's size in bytes (the metadata's). */
  size: number;
  /** The metadata's MIME type, as the publisher wrote it. */
  mimeType: string;
  /** The file name for `Content-Disposition` (the metadata's). */
  name: string;
  /** The content ID, 64 lower-case hex characters. */
  contentId: string;
  /** The request's `Range` header, or null. */
  range: string | null;
  /** The request's `If-Range` header, or null. */
  ifRange: string | null;
}

export interface SwarmResponseHead {
  status: 200 | 206 | 416;
  headers: Record<string, string>;
  /** The body is the file's bytes [start, end): end exclusive; start === end for no body (416, HEAD). */
  start: number;
  end: number;
}

/** Image types a browser only ever decodes as pixels (no script, no document): served inline. */
const INLINE_IMAGES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);
/** `video/*` and `audio/*` with a subtype of RFC 6838 restricted-name characters. */
const INLINE_MEDIA = /^(?:video|audio)\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/**
 * No script, style, frame or connection at all: only the document's own media and image (a
 * browser opening the URL shows it in its own media or image page, which loads the same URL).
 * Not `sandbox`: a sandboxed media page has an opaque origin, cannot load its own URL, and shows
 * nothing.
 */
export const SWARM_CSP = "default-src 'none'; media-src 'self'; img-src 'self'";

const FIXED_HEADERS: Readonly<Record<string, string>> = {
  'Accept-Ranges': 'bytes',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': SWARM_CSP,
};

/** The answer's status, headers and body range. Never throws. */
export function swarmResponseHead(req: SwarmRequestHead): SwarmResponseHead {
  const size = byteSize(req.size);
  const headers: Record<string, string> = { ...FIXED_HEADERS };
  // Only a content ID is quoted into a header; anything else (never from parseSwarmPath) gets no ETag, so If-Range cannot hold.
  const etag = SHA256_HEX.test(req.contentId) ? `"${req.contentId}"` : undefined;
  if (etag !== undefined) headers['ETag'] = etag;

  const decision = parseRange(size, req.range, req.ifRange, etag);
  if (decision.kind === 'unsatisfiable') {
    headers['Content-Range'] = `bytes */${size}`;
    headers['Content-Length'] = '0';
    return { status: 416, headers, start: 0, end: 0 };
  }
  const { type, disposition } = representationOf(req.mimeType);
  headers['Content-Type'] = type;
  headers['Content-Disposition'] = `${disposition}; filename*=UTF-8''${encodeRfc5987(req.name === '' ? req.contentId : req.name)}`;
  let start = 0;
  let end = size;
  if (decision.kind === 'partial') {
    start = decision.start;
    end = decision.end + 1;
    headers['Content-Range'] = `bytes ${decision.start}-${decision.end}/${size}`;
  }
  headers['Content-Length'] = String(end - start);
  return { status: decision.kind === 'partial' ? 206 : 200, headers, start, end: req.method === 'HEAD' ? start : end };
}

/** The type to send and whether inline: the publisher's type only if it is on the inline allowlist. */
export function representationOf(mimeType: string): { type: string; disposition: 'inline' | 'attachment' } {
  const essence = (mimeType.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (INLINE_IMAGES.has(essence) || INLINE_MEDIA.test(essence)) return { type: essence, disposition: 'inline' };
  return { type: 'application/octet-stream', disposition: 'attachment' };
}

/** Unpaired UTF-16 surrogates, which UTF-8 cannot encode (encodeURIComponent throws on them). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `value` as an RFC 5987 `value-chars`: UTF-8, every byte outside `attr-char` percent-encoded
 * (encodeURIComponent leaves `'()*` as they are, which attr-char excludes). Lone surrogates
 * become U+FFFD.
 */
export function encodeRfc5987(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, '\uFFFD')).replace(
    /['()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/**
 * A swarm path relative to the Service Worker's scope: `swarm/<contentId>/<name>`, the content
 * ID 64 lower-case hex characters, the name one non-empty path segment (still percent-encoded).
 */
export const SWARM_PATH_RE = /^swarm\/([0-9a-f]{64})\/([^/]+)$/;

/**
 * The content ID and (decoded) name a URL path asks for, or undefined if it is not a swarm
 * path under `scopePath` (the scope's pathname, e.g. `/` or `/app/`; a missing final `/` is
 * implied). Rejects a name that is not valid percent-encoded UTF-8, and one that decodes to
 * `.` or `..` or holds a `..` segment: it names a file, never a path.
 */
export function parseSwarmPath(pathname: string, scopePath: string): { contentId: string; name: string } | undefined {
  const scope = scopePath.endsWith('/') ? scopePath : scopePath + '/';
  if (!pathname.startsWith(scope)) return undefined;
  const match = SWARM_PATH_RE.exec(pathname.slice(scope.length));
  if (match === null) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(match[2]!);
  } catch {
    return undefined; // malformed percent-encoding
  }
  if (name === '.' || name.split(/[/\\]/).includes('..')) return undefined;
  return { contentId: match[1]!, name };
}
