/**
 * Join codes on the wire (share-api.ts routes them): `GET /api/join/<code>` answers the share's
 * content ID, group and links; `GET /j/<code>` redirects to the link (a short URL for a QR code
 * or a board). Every lookup passes the guess limits first (join-guard.ts); an unknown code
 * counts as a failed guess.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ShareReply } from '../src/protocol/share.js';
import type { ServerConfig } from './config.js';
import { sendJson, sendJsonError, sendText } from './http-util.js';
import type { JoinCodes, JoinEntry } from './join-codes.js';
import type { JoinGuard, JoinVerdict } from './join-guard.js';
import { addressBucketOf, remoteAddressOf } from './lan-key.js';
import { linkPath, shareLinks, type ShareLinksConfig } from './share-links.js';

type Refusal = Extract<JoinVerdict, { ok: false }>;

export function createJoinApi(d: { codes: JoinCodes; guard: JoinGuard; config: ShareLinksConfig & Pick<ServerConfig, 'joinCodeTtlMs'> }) {
  const { codes, guard, config } = d;

  /** The live entry of a code from a request path, under the guess limits: the refusal when the caller is over them. */
  function lookup(req: IncomingMessage, raw: string): JoinEntry | Refusal | undefined {
    const address = addressBucketOf(remoteAddressOf(req, config.trustProxy));
    const verdict = guard.check(address);
    if (!verdict.ok) return verdict;
    let entry: JoinEntry | undefined;
    try {
      entry = codes.resolve(decodeURIComponent(raw));
    } catch {
      entry = undefined; // malformed percent-encoding (`%`, `%zz`): no such code
    }
    if (entry === undefined) guard.failed(address);
    return entry;
  }

  function tooManyGuesses(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
    sendJson(req, res, 429, { error: refusal.why }, { 'Retry-After': String(refusal.retryAfterS), 'Cache-Control': 'no-store' });
  }

  function join(req: IncomingMessage, res: ServerResponse, code: string): void {
    const entry = lookup(req, code);
    if (entry !== undefined && 'why' in entry) return tooManyGuesses(req, res, entry);
    if (entry === undefined) return sendJsonError(req, res, 404, 'unknown or expired join code');
    const reply: ShareReply = { contentId: entry.contentId, groupId: entry.groupId, joinCode: entry.code, ...shareLinks(config, req, entry) };
    sendJson(req, res, 200, reply, { 'Cache-Control': 'no-store' });
  }

  function joinPage(req: IncomingMessage, res: ServerResponse, code: string): void {
    const entry = lookup(req, code);
    if (entry !== undefined && 'why' in entry) return tooManyGuesses(req, res, entry);
    if (entry === undefined) {
      return sendText(req, res, 404, `This join code (${code.slice(0, 16)}) is unknown or has expired (codes last ${Math.round(config.joinCodeTtlMs / 3600_000)} h).\nAsk the person sharing for a new link or code.\n`, {
        'Cache-Control': 'no-store',
      });
    }
    res.statusCode = 302;
    res.setHeader('Location', linkPath(entry));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', '0');
    res.end();
  }

  return { join, joinPage };
}
