/**
 * Classroom sharing: a browser publishes the metadata of a file it holds, and its receivers
 * download it from that browser and from each other; the server never has the file.
 *
 *   POST /api/share          body: the exact metadata bytes (at most `shareMaxMetadataBytes`, 6 MiB),
 *                            parsed with parseMetadata; content ID = SHA-256 of the bytes as
 *                            sent. 201 { contentId, joinCode, groupId, link, shortLink,
 *                            expiresAt, lanLinks, deleteSecret }. 400 bad metadata, 413 too
 *                            large, 429 over an address's rate or quota, 503 over the totals.
 *   DELETE /api/share/<id>   with `Authorization: Bearer <deleteSecret>`: 204 deleted, 403 wrong
 *                            secret, 404 no such share (or the server restarted since).
 *                            Shares also go at their TTL (`shareTtlMs`).
 *   GET  /api/join/<code>    { contentId, groupId, link, shortLink, expiresAt }; 404 unknown or expired.
 *   GET  /j/<code>           302 to the link (a short URL for a QR code or a board); 404 page otherwise.
 *
 * The content is peer-only (content-store.ts): its policy names no CDN, `/cdn` answers 404 for
 * it. Every receiver joins download mode Group with the share's own group ID, so the sharer and
 * its receivers are one swarm partition (docs/services.md, scopes) whatever their addresses.
 * The link is `<origin>/?downloadMode=group&groupId=<group>#c=<contentId>`: the content ID
 * rides in the fragment, the root of trust, as in every tabswarm link.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ShareReply } from '../src/protocol/share.js';
import { requestHost } from './bootstrap.js';
import type { ServerConfig } from './config.js';
import { ContentRejectedError, type ContentStore } from './content-store.js';
import { logRequest } from './http-api.js';
import { sendJson, sendJsonError, sendText, setCors } from './http-util.js';
import { JoinCodes, type JoinEntry } from './join-codes.js';
import { MetadataCheckerBusyError } from './metadata-checker.js';
import { sha256Hex } from './publish.js';
import { JoinGuard, type JoinGuardConfig, type JoinVerdict } from './join-guard.js';

type Refusal = Extract<JoinVerdict, { ok: false }>;
import { addressBucketOf, remoteAddressOf } from './lan-key.js';
import { bindsAllInterfaces, lanAddresses } from './tls.js';
import { TokenBucket } from '../src/protocol/token-bucket.js';

export const SHARE_PATH = '/api/share';
export const JOIN_API_PREFIX = '/api/join/';
export const JOIN_PAGE_PREFIX = '/j/';


export interface ShareApiDeps {
  contents: ContentStore;
  config: Pick<
    ServerConfig,
    | 'shareRatePerMinute'
    | 'shareBurst'
    | 'joinCodeTtlMs'
    | 'trustProxy'
    | 'publicUrl'
    | 'host'
    | 'shareMaxMetadataBytes'
    | 'shareMaxTotal'
    | 'shareMaxTotalBytes'
    | 'shareMaxPerAddress'
    | 'shareMaxBytesPerAddress'
    | 'shareTtlMs'
  > &
    JoinGuardConfig;
  logger: Logger;
  /** The clock (ms), for tests. */
  now?: () => number;
  /** Most live join codes (JoinCodes' `maxCodes`), for tests. @default 100000 */
  maxJoinCodes?: number;
}

const LOOPBACK_HOST_RE = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::(\d{1,5}))?$/i;
/** Most addresses whose buckets are kept; past it the table starts again (bounded memory). */
const MAX_BUCKETS = 10_000;

export function createShareApi(deps: ShareApiDeps) {
  const { contents, config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'share' });
  const codes = new JoinCodes({ ttlMs: config.joinCodeTtlMs, now, maxCodes: deps.maxJoinCodes });
  const guard = new JoinGuard(config, now);
  /**
   * SHA-256 of each share's delete secret, by content ID. In memory: after a restart a share
   * can no longer be deleted early, and goes at its TTL. Bounded by the share quota.
   */
  const deleteHashes = new Map<string, Buffer>();
  /** Shares each address made within the last `shareTtlMs` (when, and their bytes). */
  const madeBy = new Map<string, Array<{ at: number; bytes: number }>>();
  // Shares live `shareTtlMs`: swept now and every few minutes (their files' mtimes say when they were made).
  const sweep = () =>
    void contents
      .expireShared(config.shareTtlMs, now())
      .then(() => {
        // Secrets of shares that are gone go too.
        for (const id of deleteHashes.keys()) if (contents.get(id)?.filePath !== undefined || contents.get(id) === undefined) deleteHashes.delete(id);
      })
      .catch((err: unknown) => log.error({ err }, 'share expiry failed'));
  sweep();
  const sweepTimer = setInterval(sweep, Math.max(1000, Math.min(5 * 60_000, config.shareTtlMs / 10)));
  sweepTimer.unref();

  /** What `address` shared within the window, old entries dropped. */
  function recentShares(address: string): Array<{ at: number; bytes: number }> {
    const t = now();
    const list = (madeBy.get(address) ?? []).filter((e) => t - e.at < config.shareTtlMs);
    madeBy.delete(address);
    if (list.length > 0) madeBy.set(address, list);
    while (madeBy.size > MAX_BUCKETS) madeBy.delete(madeBy.keys().next().value!);
    return list;
  }
  const buckets = new Map<string, TokenBucket>();

  /** The origin links are built on: the public URL, else the request's scheme and Host; '' if none is usable. */
  function originOf(req: IncomingMessage): { origin: string; host: string | undefined; secure: boolean } {
    if (config.publicUrl !== undefined) return { origin: config.publicUrl, host: undefined, secure: config.publicUrl.startsWith('https:') };
    const { host, secure } = requestHost(req, config.trustProxy);
    return { origin: host === undefined ? '' : `${secure ? 'https' : 'http'}://${host}`, host, secure };
  }

  const linkPath = (e: JoinEntry) => `/?downloadMode=group&groupId=${e.groupId}#c=${e.contentId}`;

  function linksOf(req: IncomingMessage, e: JoinEntry) {
    const { origin, host, secure } = originOf(req);
    const lanLinks: string[] = [];
    const loopback = host === undefined ? null : LOOPBACK_HOST_RE.exec(host);
    if (loopback && bindsAllInterfaces(config.host)) {
      const port = loopback[1] === undefined ? '' : `:${loopback[1]}`;
      for (const a of lanAddresses()) if (!a.includes(':')) lanLinks.push(`${secure ? 'https' : 'http'}://${a}${port}${JOIN_PAGE_PREFIX}${e.code}`);
    }
    return { link: `${origin}${linkPath(e)}`, shortLink: `${origin}${JOIN_PAGE_PREFIX}${e.code}`, expiresAt: new Date(e.expiresAt).toISOString(), lanLinks };
  }

  function allowed(req: IncomingMessage): boolean {
    const key = addressBucketOf(remoteAddressOf(req, config.trustProxy));
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      if (buckets.size >= MAX_BUCKETS) buckets.clear();
      bucket = new TokenBucket(config.shareRatePerMinute / 60, config.shareBurst, now());
      buckets.set(key, bucket);
    }
    return bucket.take(now());
  }

  /** The request body, or undefined (and the reply sent) when it is over `max` bytes. */
  function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length']);
      const tooLarge = () => {
        sendJsonError(req, res, 413, `the metadata is over the ${max}-byte limit of shares on this server (a file of about ${Math.floor(max / 67 / 1024)} GiB in 1 MiB pieces)`);
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

  async function share(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowed(req)) {
      return sendJson(req, res, 429, { error: 'too many shares from this address; wait a minute and try again' }, { 'Retry-After': '60' });
    }
    // Checked before anything is stored: a full table refuses the share, it evicts no one's code.
    if (!codes.hasRoom()) return sendJson(req, res, 503, { error: 'too many live shares on this server; try again later' }, { 'Retry-After': '300' });
    const body = await readBody(req, res, config.shareMaxMetadataBytes);
    if (body === undefined) return;
    if (body.byteLength === 0) return sendJsonError(req, res, 400, 'the body must be the metadata JSON bytes; it was empty');
    // Quotas, for content not here yet (sharing the same bytes again costs nothing). The hash
    // of the largest body takes ~3 ms; parsing waits for the worker thread.
    const address = addressBucketOf(remoteAddressOf(req, config.trustProxy));
    const isNew = (await contents.lookup(sha256Hex(body))) === undefined;
    if (isNew) {
      const usage = contents.sharedUsage();
      if (usage.count + 1 > config.shareMaxTotal || usage.bytes + body.byteLength > config.shareMaxTotalBytes) {
        return sendJson(req, res, 503, { error: 'this server holds as many shares as it may; try again later' }, { 'Retry-After': '3600' });
      }
      const mine = recentShares(address);
      if (mine.length + 1 > config.shareMaxPerAddress || mine.reduce((n, e) => n + e.bytes, 0) + body.byteLength > config.shareMaxBytesPerAddress) {
        return sendJson(req, res, 429, { error: `at most ${config.shareMaxPerAddress} shares (${config.shareMaxBytesPerAddress} bytes of metadata) from one address in ${Math.round(config.shareTtlMs / 3600_000)} h` }, { 'Retry-After': '3600' });
      }
    }
    let record;
    try {
      record = await contents.addPeerOnly(body);
    } catch (err) {
      if (err instanceof ContentRejectedError) return sendJsonError(req, res, 400, `bad metadata: ${err.message}`);
      if (err instanceof MetadataCheckerBusyError) return sendJson(req, res, 503, { error: 'the server is checking many shares; try again shortly' }, { 'Retry-After': '5' });
      throw err;
    }
    let deleteSecret: string | undefined;
    if (isNew) {
      madeBy.set(address, [...recentShares(address), { at: now(), bytes: body.byteLength }]);
      // Only the sharer that made it may delete it: whoever shares the same bytes later gets no secret.
      if (!deleteHashes.has(record.contentId)) {
        deleteSecret = randomBytes(32).toString('hex');
        deleteHashes.set(record.contentId, createHash('sha256').update(deleteSecret).digest());
      }
    }
    const groupId = `class-${randomBytes(8).toString('hex')}`;
    const entry = codes.create(record.contentId, groupId);
    if (entry === undefined) return sendJson(req, res, 503, { error: 'too many live shares on this server; try again later' }, { 'Retry-After': '300' });
    log.info({ contentId: record.contentId, name: record.name, fileSize: record.fileSize, peerOnly: record.filePath === undefined, joinCode: entry.code }, 'content shared');
    const reply: ShareReply = { contentId: record.contentId, joinCode: entry.code, groupId, ...linksOf(req, entry), ...(deleteSecret ? { deleteSecret } : {}) };
    sendJson(req, res, 201, reply, { 'Cache-Control': 'no-store' });
  }

  /** `DELETE /api/share/<contentId>` with the share's secret as a bearer token: 204, 403 or 404. */
  async function unshare(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const expected = deleteHashes.get(id);
    if (expected === undefined) return sendJsonError(req, res, 404, 'no share with this content ID can be deleted here');
    const m = /^Bearer\s+([0-9a-f]{64})\s*$/i.exec(req.headers.authorization ?? '');
    const given = createHash('sha256').update(m?.[1]?.toLowerCase() ?? '').digest();
    if (m === null || !timingSafeEqual(given, expected)) return sendJsonError(req, res, 403, 'this is not the secret of that share');
    deleteHashes.delete(id);
    codes.dropContent(id);
    if (!(await contents.deleteShared(id))) return sendJsonError(req, res, 404, 'no share with this content ID can be deleted here');
    log.info({ contentId: id }, 'share deleted by its sharer');
    res.statusCode = 204;
    res.setHeader('Content-Length', '0');
    res.end();
  }

  /**
   * The live entry of a code from a request path, under the guess limits (join-guard.ts):
   * the refusal when the caller is over them.
   */
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
    const reply: ShareReply = { contentId: entry.contentId, groupId: entry.groupId, joinCode: entry.code, ...linksOf(req, entry) };
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

  return {
    codes,
    close() {
      clearInterval(sweepTimer);
    },
    /** Handles `/api/share`, `/api/join/<code>` and `/j/<code>`; returns false for other paths. */
    async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
      const isShare = pathname === SHARE_PATH;
      const isOneShare = pathname.startsWith(`${SHARE_PATH}/`);
      const isJoinApi = pathname.startsWith(JOIN_API_PREFIX);
      const isJoinPage = pathname.startsWith(JOIN_PAGE_PREFIX);
      if (!isShare && !isOneShare && !isJoinApi && !isJoinPage) return false;
      if (!isJoinPage) logRequest(log, req, res);
      setCors(res);
      const allow = isShare ? 'POST, OPTIONS' : isOneShare ? 'DELETE, OPTIONS' : 'GET, HEAD';
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', allow);
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
        res.setHeader('Content-Length', '0');
        res.statusCode = 204;
        res.end();
        return true;
      }
      const ok = isShare ? req.method === 'POST' : isOneShare ? req.method === 'DELETE' : req.method === 'GET' || req.method === 'HEAD';
      if (!ok) {
        sendJson(req, res, 405, { error: 'method not allowed' }, { Allow: allow });
        return true;
      }
      if (isShare) await share(req, res);
      else if (isOneShare) await unshare(req, res, pathname.slice(SHARE_PATH.length + 1));
      else if (isJoinApi) join(req, res, pathname.slice(JOIN_API_PREFIX.length));
      else joinPage(req, res, pathname.slice(JOIN_PAGE_PREFIX.length));
      return true;
    },
  };
}
