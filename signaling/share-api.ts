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
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ShareReply } from '../src/protocol/share.js';
import type { ServerConfig } from './config.js';
import { ContentRejectedError, type ContentStore } from './content-store.js';
import { logRequest } from './http-api.js';
import { readCappedBody, sendJson, sendJsonError, setCors } from './http-util.js';
import { createJoinApi } from './join-api.js';
import { JoinCodes } from './join-codes.js';
import { MetadataCheckerBusyError } from './metadata-checker.js';
import { sha256Hex } from './publish.js';
import { JoinGuard, type JoinGuardConfig } from './join-guard.js';
import { addressBucketOf, remoteAddressOf } from './lan-key.js';
import { JOIN_PAGE_PREFIX, shareLinks } from './share-links.js';
import { DeleteSecrets, ShareQuota } from './share-quota.js';

export { JOIN_PAGE_PREFIX } from './share-links.js';
export const SHARE_PATH = '/api/share';
export const JOIN_API_PREFIX = '/api/join/';


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

export function createShareApi(deps: ShareApiDeps) {
  const { contents, config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'share' });
  const codes = new JoinCodes({ ttlMs: config.joinCodeTtlMs, now, maxCodes: deps.maxJoinCodes });
  const joins = createJoinApi({ codes, guard: new JoinGuard(config, now), config });
  const quota = new ShareQuota(config, now);
  /** Delete secrets (their hashes), in memory: after a restart a share goes at its TTL. Bounded by the share quota. */
  const secrets = new DeleteSecrets();
  // Shares live `shareTtlMs`: swept now and every few minutes (their files' mtimes say when they were made).
  const sweep = () =>
    void contents
      .expireShared(config.shareTtlMs, now())
      // Secrets of shares that are gone go too.
      .then(() => secrets.prune((id) => contents.get(id) !== undefined && contents.get(id)?.filePath === undefined))
      .catch((err: unknown) => log.error({ err }, 'share expiry failed'));
  sweep();
  const sweepTimer = setInterval(sweep, Math.max(1000, Math.min(5 * 60_000, config.shareTtlMs / 10)));
  sweepTimer.unref();
  const tooLarge = `the metadata is over the ${config.shareMaxMetadataBytes}-byte limit of shares on this server (a file of about ${Math.floor(config.shareMaxMetadataBytes / 67 / 1024)} GiB in 1 MiB pieces)`;

  async function share(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = addressBucketOf(remoteAddressOf(req, config.trustProxy));
    if (!quota.takeRate(address)) {
      return sendJson(req, res, 429, { error: 'too many shares from this address; wait a minute and try again' }, { 'Retry-After': '60' });
    }
    // Checked before anything is stored: a full table refuses the share, it evicts no one's code.
    if (!codes.hasRoom()) return sendJson(req, res, 503, { error: 'too many live shares on this server; try again later' }, { 'Retry-After': '300' });
    const body = await readCappedBody(req, res, config.shareMaxMetadataBytes, tooLarge);
    if (body === undefined) return;
    if (body.byteLength === 0) return sendJsonError(req, res, 400, 'the body must be the metadata JSON bytes; it was empty');
    // Quotas, for content not here yet (sharing the same bytes again costs nothing). The hash
    // of the largest body takes ~3 ms; parsing waits for the worker thread.
    const isNew = (await contents.lookup(sha256Hex(body))) === undefined;
    if (isNew) {
      const usage = contents.sharedUsage();
      if (usage.count + 1 > config.shareMaxTotal || usage.bytes + body.byteLength > config.shareMaxTotalBytes) {
        return sendJson(req, res, 503, { error: 'this server holds as many shares as it may; try again later' }, { 'Retry-After': '3600' });
      }
      if (quota.wouldExceed(address, body.byteLength)) {
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
      quota.record(address, body.byteLength);
      // Only the sharer that made it may delete it: whoever shares the same bytes later gets no secret.
      deleteSecret = secrets.issue(record.contentId);
    }
    const groupId = `class-${randomBytes(8).toString('hex')}`;
    const entry = codes.create(record.contentId, groupId);
    if (entry === undefined) return sendJson(req, res, 503, { error: 'too many live shares on this server; try again later' }, { 'Retry-After': '300' });
    log.info({ contentId: record.contentId, name: record.name, fileSize: record.fileSize, peerOnly: record.filePath === undefined, joinCode: entry.code }, 'content shared');
    const reply: ShareReply = { contentId: record.contentId, joinCode: entry.code, groupId, ...shareLinks(config, req, entry), ...(deleteSecret ? { deleteSecret } : {}) };
    sendJson(req, res, 201, reply, { 'Cache-Control': 'no-store' });
  }

  /** `DELETE /api/share/<contentId>` with the share's secret as a bearer token: 204, 403 or 404. */
  async function unshare(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const verdict = secrets.check(id, req.headers.authorization);
    if (verdict === 'unknown') return sendJsonError(req, res, 404, 'no share with this content ID can be deleted here');
    if (verdict === 'wrong') return sendJsonError(req, res, 403, 'this is not the secret of that share');
    secrets.drop(id);
    codes.dropContent(id);
    if (!(await contents.deleteShared(id))) return sendJsonError(req, res, 404, 'no share with this content ID can be deleted here');
    log.info({ contentId: id }, 'share deleted by its sharer');
    res.statusCode = 204;
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
      else if (isJoinApi) joins.join(req, res, pathname.slice(JOIN_API_PREFIX.length));
      else joins.joinPage(req, res, pathname.slice(JOIN_PAGE_PREFIX.length));
      return true;
    },
  };
}
