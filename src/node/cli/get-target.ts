/**
 * What `tabswarm get` is asked to download: a content ID and the server that knows it, from a
 * bare content ID (with --server or TABSWARM_SERVER), an app link (`/#c=<id>`, `/?c=<id>`), a
 * share link (`/?downloadMode=group&groupId=<g>#c=<id>`: its group comes along) or a join link
 * (`/j/<code>`: asked of the server's `/api/join/<code>`, its answer parsed before use).
 *
 * A link's query carries engine settings as it does for the app (`?httpDelayMs=0`), read the
 * way src/ui/url-config.ts reads them (src/node may not import the UI): every ClientConfig key
 * by name, then `sanitizeConfig`, which drops what is invalid. The content ID stays the root of
 * trust: nothing read here is trusted beyond naming what to fetch and verify.
 */
import type { ClientConfig } from '../../core/config.js';
import { configFromQuery } from '../../core/config-query.js';
import { contentIdOf } from '../../core/tab-downloads.js';
import { SHA256_HEX } from '../../protocol/hex.js';
import { shareReplySchema } from '../../protocol/share.js';
import { GetError } from './get-args.js';

export interface GetTarget {
  contentId: string;
  /** The server's origin (its API paths are absolute). */
  serverUrl: string;
  /** Settings the link carries (its query, a share's group). */
  linkConfig: Partial<ClientConfig>;
}

const JOIN_PATH = /^\/j\/([^/?#]{1,64})\/?$/;

/** Resolves `target` against `server` (the --server flag or TABSWARM_SERVER, which wins over a link's own origin). */
export async function resolveTarget(target: string, server: string | undefined, fetchImpl: typeof fetch = fetch): Promise<GetTarget> {
  const text = target.trim();
  if (SHA256_HEX.test(text.toLowerCase())) {
    if (server === undefined) throw new GetError('usage', 'a bare content ID needs the server: --server URL (or TABSWARM_SERVER)');
    return { contentId: text.toLowerCase(), serverUrl: originOf(server, '--server'), linkConfig: {} };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GetError('bad-target', `"${shown(text)}" is neither a content ID (64 hex characters) nor a link (http://host:port/#c=<content ID>)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GetError('bad-target', `a tabswarm link is http: or https:, not ${url.protocol} ("${shown(text)}")`);
  const serverUrl = server !== undefined ? originOf(server, '--server') : url.origin;
  const linkConfig = configFromQuery(url.search);
  const contentId = contentIdOf(text);
  if (contentId !== undefined) return { contentId, serverUrl, linkConfig };
  const code = JOIN_PATH.exec(url.pathname)?.[1];
  if (code !== undefined) return joined(serverUrl, code, linkConfig, fetchImpl);
  throw new GetError('bad-target', `${shown(text)} is not a tabswarm link: it names no content (#c=<64 hex characters>) and no join code (/j/<code>)`);
}

/** A join link: the share's content and group, from the server. */
async function joined(serverUrl: string, code: string, linkConfig: Partial<ClientConfig>, fetchImpl: typeof fetch): Promise<GetTarget> {
  const url = new URL(`/api/join/${code}`, serverUrl).href;
  let res: Response;
  try {
    res = await fetchImpl(url, { cache: 'no-store' });
  } catch (e) {
    throw new GetError('bad-target', `the server at ${serverUrl} cannot be reached (${messageOf(e)})`, { cause: e });
  }
  if (res.status === 404) throw new GetError('bad-target', `the join code ${shown(code)} is unknown or has expired at ${serverUrl}`);
  if (!res.ok) throw new GetError('bad-target', `${url} answered HTTP ${res.status}`);
  const text = await res.text();
  let parsed;
  try {
    parsed = text.length <= 64 * 1024 ? shareReplySchema.safeParse(JSON.parse(text)) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new GetError('bad-target', `${url} did not answer with a share (not the JSON of /api/join)`);
  return { contentId: parsed.data.contentId, serverUrl, linkConfig: { ...linkConfig, downloadMode: 'group', groupId: parsed.data.groupId } };
}

function originOf(server: string, what: string): string {
  try {
    const url = new URL(server.trim());
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  } catch {
    // said below
  }
  throw new GetError('usage', `${what} must be an http(s) URL such as http://localhost:8080, got "${shown(server)}"`);
}

function shown(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
