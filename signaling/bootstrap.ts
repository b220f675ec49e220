/**
 * DO's KeyValue and Discovery services, as two `/api` routes (docs/services.md):
 *
 *   GET /api/bootstrap                                        the client's configuration:
 *       service endpoints, limits, ICE servers                (bootstrapSchema)
 *   GET /api/discovery?contentId=<64 hex>&mode=lan|group|internet[&group=<id>]
 *       which Arrays instance serves that swarm               (discoverySchema)
 *
 * One instance serves every swarm for now, so Discovery names this one: its Arrays URL comes
 * from `publicUrl` when configured, else from the request (Host, and TLS or, behind a trusted
 * proxy, X-Forwarded-Proto and X-Forwarded-Host). Replies are checked against their schemas
 * before they are sent; a query that fails its schema is 400, an unpublished content 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import {
  BOOTSTRAP_VERSION,
  bootstrapSchema,
  discoveryQuerySchema,
  discoverySchema,
  type Bootstrap,
  type Discovery,
} from '../src/protocol/bootstrap.js';
import { LIMITS } from '../src/protocol/limits.js';
import type { ApiRoute } from './http-api.js';
import type { ServerConfig } from './config.js';
import { sendJson, sendJsonError } from './http-util.js';
import { lanKeyOf, lastForwarded, remoteAddressOf } from './lan-key.js';
import { scopeKeyOf } from './swarm-registry.js';

export type BootstrapConfig = Pick<
  ServerConfig,
  'iceServers' | 'iceTransportPolicy' | 'publicUrl' | 'instanceId' | 'announceIntervalMs' | 'peerExpiryMs' | 'maxPeersPerReply' | 'trustProxy' | 'cacheNodes'
>;

export interface BootstrapDeps {
  config: BootstrapConfig;
  /** Path of the Arrays WebSocket (`/arrays`). */
  arraysPath: string;
  logger: Logger;
  /** Whether a content is published here; Discovery answers 404 for others. @default any */
  isKnownContent?: (contentId: string) => Promise<boolean>;
  /**
   * With several instances (Redis scale-out): the live instance that serves this swarm
   * partition, and its public URL. Absent, or answering undefined, or an instance without a
   * public URL: this instance answers for itself.
   */
  instanceFor?: (contentId: string, scopeKey: string) => Promise<{ instanceId: string; publicUrl?: string | undefined } | undefined>;
  /**
   * The port of this instance's uWebSockets Arrays listener (arrays-uws.ts), when it has one:
   * plain-HTTP clients are then sent there. @default none: `/arrays` on the HTTP port
   */
  arraysPort?: () => number | undefined;
}

/** A Host header value: a DNS name or IPv4 address, or a bracketed IPv6 address, and an optional port. */
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;


/**
 * The Host a request came for and whether it came over TLS; behind a trusted proxy, the last
 * X-Forwarded-Proto and X-Forwarded-Host (ours) instead. `host` is undefined (lower-cased
 * otherwise) when the request carries no usable Host, so no link is ever built on a bad one.
 */
export function requestHost(req: IncomingMessage, trustProxy: boolean): { host: string | undefined; secure: boolean } {
  let secure = (req.socket as Partial<TLSSocket>).encrypted === true;
  let host = req.headers.host;
  if (trustProxy) {
    const proto = lastForwarded(req.headers['x-forwarded-proto'])?.toLowerCase();
    if (proto === 'https' || proto === 'http') secure = proto === 'https';
    host = lastForwarded(req.headers['x-forwarded-host']) ?? host;
  }
  return { host: host !== undefined && HOST_RE.test(host) ? host.toLowerCase() : undefined, secure };
}

/**
 * The absolute ws:/wss: URL of this instance's Arrays service for `req`, or undefined if the
 * request carries no usable Host. With `arraysPort` (the uWebSockets listener) and no public
 * URL, a plain-HTTP request gets that port on the same host; a TLS one keeps the HTTP port
 * (the uWebSockets listener speaks plain ws:, and a secure page may not open ws:).
 */
export function arraysUrlFor(
  req: IncomingMessage,
  config: Pick<BootstrapConfig, 'publicUrl' | 'trustProxy'>,
  arraysPath: string,
  arraysPort?: number,
): string | undefined {
  if (config.publicUrl !== undefined) {
    const u = new URL(config.publicUrl);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.pathname = `${u.pathname.replace(/\/+$/, '')}${arraysPath}`;
    return u.href;
  }
  const origin = requestHost(req, config.trustProxy);
  const { secure } = origin;
  let { host } = origin;
  if (host === undefined) return undefined;
  if (arraysPort !== undefined && !secure) host = `${host.replace(/:\d{1,5}$/, '')}:${arraysPort}`;
  return `${secure ? 'wss' : 'ws'}://${host.toLowerCase()}${arraysPath}`;
}

/** The query of a discovery request as a plain object; undefined if a key repeats. */
function queryObject(url: URL): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (Object.hasOwn(out, k)) return undefined;
    out[k] = v;
  }
  return out;
}

export function createBootstrapRoutes(deps: BootstrapDeps): { bootstrap: ApiRoute; discovery: ApiRoute } {
  const { config, arraysPath } = deps;
  const log = deps.logger.child({ component: 'bootstrap' });

  function sendChecked<T>(req: IncomingMessage, res: ServerResponse, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } } }, body: T, what: string): void {
    const checked = schema.safeParse(body);
    if (!checked.success) {
      // Our own broken invariant: fail loudly, serve nothing wrong.
      log.error({ issues: checked.error.issues }, `built an invalid ${what}`);
      return sendJsonError(req, res, 500, `invalid ${what}`);
    }
    sendJson(req, res, 200, checked.data);
  }

  const bootstrap: ApiRoute = (req, res) => {
    const port = deps.arraysPort?.();
    const body: Bootstrap = {
      version: BOOTSTRAP_VERSION,
      instanceId: config.instanceId,
      endpoints: {
        arrays: (port !== undefined ? arraysUrlFor(req, config, arraysPath, port) : undefined) ?? arraysPath,
        discovery: '/api/discovery',
        catalog: '/api/catalog',
        contentPolicy: '/api/content/{contentId}',
        metadata: '/meta/{contentId}',
      },
      limits: {
        maxPeersPerReply: config.maxPeersPerReply,
        announceIntervalMs: config.announceIntervalMs,
        peerExpiryMs: Math.round(config.peerExpiryMs),
        maxSignalingMessageBytes: LIMITS.maxSignalingMessageBytes,
      },
      iceServers: config.iceServers,
      // Only when not the default: a client that predates the field rejects unknown fields.
      ...(config.iceTransportPolicy === 'relay' ? { iceTransportPolicy: 'relay' as const } : {}),
      // Likewise only when some are configured (TABSWARM_CACHE_NODES).
      ...(config.cacheNodes.length > 0 ? { cacheNodes: [...config.cacheNodes] } : {}),
    };
    sendChecked(req, res, bootstrapSchema, body, 'bootstrap document');
  };

  const discovery: ApiRoute = async (req, res, url) => {
    const raw = queryObject(url);
    if (raw === undefined) return sendJsonError(req, res, 400, 'a query parameter is repeated');
    const query = discoveryQuerySchema.safeParse(raw);
    if (!query.success) {
      const issue = query.error.issues[0];
      const where = issue?.path.join('.') || 'query';
      return sendJsonError(req, res, 400, `bad ${where}: ${issue?.message ?? 'invalid'}`.slice(0, 200));
    }
    if (deps.isKnownContent !== undefined && !(await deps.isKnownContent(query.data.contentId))) {
      return sendJsonError(req, res, 404, 'unknown content');
    }
    let instanceId = config.instanceId;
    let arraysUrl = arraysUrlFor(req, config, arraysPath, deps.arraysPort?.());
    if (arraysUrl === undefined) return sendJsonError(req, res, 400, 'missing or malformed Host header');
    if (deps.instanceFor !== undefined) {
      // The partition the asker will announce into: the same key the Arrays service computes.
      const scopeKey = scopeKeyOf(query.data, lanKeyOf(remoteAddressOf(req, config.trustProxy)));
      try {
        const owner = await deps.instanceFor(query.data.contentId, scopeKey);
        if (owner !== undefined && owner.instanceId !== config.instanceId && owner.publicUrl !== undefined) {
          instanceId = owner.instanceId;
          arraysUrl = arraysUrlFor(req, { publicUrl: owner.publicUrl, trustProxy: false }, arraysPath)!;
        }
      } catch (e) {
        // Redis away: this instance serves, and the relay carries what must cross.
        log.warn({ err: e }, 'discovery: instance map unavailable, answering for this instance');
      }
    }
    const body: Discovery = {
      contentId: query.data.contentId,
      mode: query.data.mode,
      ...(query.data.group !== undefined ? { group: query.data.group } : {}),
      instanceId,
      arraysUrl,
    };
    sendChecked(req, res, discoverySchema, body, 'discovery reply');
  };

  return { bootstrap, discovery };
}
