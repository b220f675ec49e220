/**
 * Small helpers shared by the HTTP handlers: JSON and text replies, CORS, method checks.
 * Every resource of this server is public and carries no credentials, so CORS allows any origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Headers a cross-origin page must be able to read from CDN and metadata replies. */
export const EXPOSED_HEADERS = 'Content-Range, Content-Length, ETag, Accept-Ranges';
/** Request headers allowed by CORS preflight: Range and the conditional-request headers. */
const ALLOWED_REQUEST_HEADERS = 'Range, If-Range, If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since';

export function setCors(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
}

/** Answers a CORS preflight for a read-only resource. */
export function sendPreflight(res: ServerResponse): void {
  setCors(res);
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', ALLOWED_REQUEST_HEADERS);
  res.setHeader('Access-Control-Max-Age', '86400');
  res.setHeader('Content-Length', '0');
  res.statusCode = 204;
  res.end();
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  setCors(res);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(bytes.length));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (!('Cache-Control' in headers)) res.setHeader('Cache-Control', 'no-cache');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** A JSON error reply `{ error }`. */
export function sendJsonError(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  sendJson(req, res, status, { error });
}

export function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(text);
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', String(bytes.length));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/**
 * Handles OPTIONS (preflight) and refuses methods other than GET and HEAD.
 * Returns true when the request was answered here.
 */
export function answeredByMethodCheck(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  if (req.method === 'OPTIONS') {
    sendPreflight(res);
    return true;
  }
  setCors(res);
  sendText(req, res, 405, 'method not allowed\n', { Allow: 'GET, HEAD, OPTIONS' });
  return true;
}

/** True if an `If-None-Match` header value matches the (strong) `etag`. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * The request body, or undefined (and `tooLarge` sent as a 413, the rest of the upload cut)
 * when it is over `max` bytes: by its Content-Length, or as it streams.
 */
export function readCappedBody(req: IncomingMessage, res: ServerResponse, max: number, tooLargeMessage: string): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => {
      sendJsonError(req, res, 413, tooLargeMessage);
      res.once('finish', () => req.destroy());
      resolve(undefined);
    };
    if (Number.isFinite(declared) && declared > max) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        req.pause();
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on('error', reject);
  });
}
