/**
 * The CDN origin: `GET|HEAD /cdn/<contentId>[/<anything>]` serves `files/<contentId>`.
 *
 * Contract: single byte ranges are answered 206 with `Content-Range` (multiple ranges get the
 * whole file, 200), unsatisfiable ones 416 with `Content-Range: bytes *\/<size>`; conditional
 * requests (If-None-Match, If-Modified-Since, If-Range, If-Match) are honoured. The ETag is the
 * content ID: the path is content-addressed, so the bytes behind it never change (hence also
 * `immutable` caching). Every reply carries CORS headers so pages on any origin can read
 * ranges. Every request and body byte is counted in the CDN log (cdn-log.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { basename, dirname } from 'node:path';
import { Transform } from 'node:stream';
import type { Logger } from 'pino';
import send from 'send';
import type { CdnLogRecorder } from './cdn-log.js';
import { CdnStreams } from './cdn-streams.js';
import { isContentId } from './content-paths.js';
import type { ServerConfig } from './config.js';
import type { ContentStore } from './content-store.js';
import { answeredByMethodCheck, sendText, setCors } from './http-util.js';
import { addressBucketOf, remoteAddressOf } from './lan-key.js';

export const CDN_PREFIX = '/cdn/';
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

/** `Content-Disposition` carrying `name`: an ASCII fallback plus the exact UTF-8 name (RFC 6266). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  headers?: Record<string, string>;
  message?: string;
}

/** Ends a response's connection with a reset, which frees its kernel send buffer at once. */
function resetConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null) return void res.destroy();
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // not a TCP handle (TLS is on the raw socket below this one)
  }
}

/** Responses one address may have streaming at once (a browser asks 4-6 ranges at a time). */
export const DEFAULT_CDN_STREAMS_PER_ADDRESS = 64;

export function createCdnHandler(deps: {
  contents: ContentStore;
  cdnLog: CdnLogRecorder;
  logger: Logger;
  /** `cdnRateBytesPerSec`, `cdnStreamsPerAddress` (past it 429) and `trustProxy`. */
  config?: Partial<Pick<ServerConfig, 'cdnRateBytesPerSec' | 'cdnStreamsPerAddress' | 'trustProxy'>>;
  /** Concurrent responses in total, as cdn-streams.ts's `effectiveCdnMaxStreams` gives it; past it 503. @default 256 */
  maxStreams?: number;
}) {
  const rate = deps.config?.cdnRateBytesPerSec ?? 0;
  const trustProxy = deps.config?.trustProxy ?? false;
  const { contents, cdnLog } = deps;
  const log = deps.logger.child({ component: 'cdn' });
  /**
   * Streaming responses, per address and in total. Each holds a socket, a file descriptor, the
   * threadpool's time to read and up to a kernel send buffer (cdn-streams.ts).
   */
  const streams = new CdnStreams(deps.config?.cdnStreamsPerAddress ?? DEFAULT_CDN_STREAMS_PER_ADDRESS, deps.maxStreams ?? 256);

  /**
   * A pass-through that releases each chunk no sooner than `bytes so far / rate` after the
   * start: one connection's rate, as a CDN edge limits it. (Pausing the file stream instead
   * does not hold: pipe() resumes it on every 'drain' of the response.)
   */
  function throttled(): Transform {
    const started = Date.now();
    let passed = 0;
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        passed += chunk.length;
        const wait = started + (passed / rate) * 1000 - Date.now();
        if (wait <= 0) done(null, chunk);
        else setTimeout(() => done(null, chunk), wait);
      },
    });
  }

  /** Handles a request whose path starts with `/cdn/`. */
  return async function handleCdn(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    if (answeredByMethodCheck(req, res)) return;
    setCors(res);
    const contentId = pathname.slice(CDN_PREFIX.length).split('/', 1)[0] ?? '';
    if (!isContentId(contentId)) {
      sendText(req, res, 400, 'malformed content ID\n');
      return;
    }
    const record = await contents.lookup(contentId);
    if (record === undefined) {
      sendText(req, res, 404, 'unknown content\n');
      return;
    }
    if (record.filePath === undefined) {
      // Peer-only content (shared from a browser): the server never had the file.
      sendText(req, res, 404, 'no CDN copy: this content is shared by peers only\n');
      return;
    }
    const filePath = record.filePath;
    const address = addressBucketOf(remoteAddressOf(req, trustProxy));
    const slot = streams.admit(address, () => resetConnection(res));
    if (slot === 'address') {
      sendText(req, res, 429, `at most ${streams.perAddress} downloads at once from one address\n`, { 'Retry-After': '1' });
      return;
    }
    if (slot === 'total') {
      sendText(req, res, 503, 'too many downloads at once; try again shortly\n', { 'Retry-After': '1' });
      return;
    }
    res.once('close', slot.release);
    cdnLog.recordRequest(contentId);

    let streamed = false;
    let handed = 0;
    let counted = false;
    const count = (aborted: boolean): void => {
      if (counted) return;
      counted = true;
      if (streamed) cdnLog.recordBytes(contentId, handed, aborted);
    };
    res.on('finish', () => count(false));
    res.on('close', () => count(!res.writableFinished));

    res.setHeader('Content-Type', record.mimeType);
    res.setHeader('Content-Disposition', contentDisposition(record.name));
    res.setHeader('ETag', `"${contentId}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Timing-Allow-Origin', '*');

    const stream = send(req, '/' + basename(filePath), {
      root: dirname(filePath),
      acceptRanges: true,
      etag: false, // set above: the content ID
      lastModified: true,
      cacheControl: true,
      maxAge: ONE_YEAR_MS,
      immutable: true,
      index: false,
      dotfiles: 'deny',
    });
    stream.on('stream', (fileStream: NodeJS.ReadableStream) => {
      streamed = true;
      fileStream.on('data', (chunk: Buffer) => {
        // The file is read only as the reader takes bytes (pipe's back-pressure): progress.
        handed += chunk.length;
        slot.moved();
      });
      if (rate > 0) {
        // send pipes the file stream into the response right after this event: route that
        // one pipe through the throttle.
        const pipe = fileStream.pipe.bind(fileStream);
        fileStream.pipe = <T extends NodeJS.WritableStream>(dest: T): T => pipe(throttled()).pipe(dest);
      }
    });
    stream.on('error', (err: HttpLikeError) => {
      const status = err.status ?? err.statusCode ?? 500;
      if (res.headersSent) {
        log.warn({ contentId, err: err.message }, 'CDN response failed mid-body');
        res.destroy();
        return;
      }
      if (status >= 500) log.error({ contentId, err: err.message }, 'CDN response failed');
      for (const header of res.getHeaderNames()) res.removeHeader(header);
      setCors(res);
      for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
      sendText(req, res, status, `${STATUS_CODES[status] ?? 'error'}\n`);
    });
    stream.pipe(res);
  };
}
