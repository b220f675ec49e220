/**
 * The links of a share (share-api.ts): `<origin>/?downloadMode=group&groupId=<group>#c=<id>`
 * (the content ID rides in the fragment, the root of trust), the short `/j/<code>`, and, for a
 * page opened on loopback of a server that binds every interface, the same short link on each
 * LAN address so that other devices can open it.
 */
import type { IncomingMessage } from 'node:http';
import { requestHost } from './bootstrap.js';
import type { ServerConfig } from './config.js';
import type { JoinEntry } from './join-codes.js';
import { bindsAllInterfaces, lanAddresses } from './tls.js';

export const JOIN_PAGE_PREFIX = '/j/';
const LOOPBACK_HOST_RE = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::(\d{1,5}))?$/i;

export type ShareLinksConfig = Pick<ServerConfig, 'publicUrl' | 'trustProxy' | 'host'>;

export const linkPath = (e: JoinEntry): string => `/?downloadMode=group&groupId=${e.groupId}#c=${e.contentId}`;

/** The origin links are built on: the public URL, else the request's scheme and Host; '' if none is usable. */
function originOf(config: ShareLinksConfig, req: IncomingMessage): { origin: string; host: string | undefined; secure: boolean } {
  if (config.publicUrl !== undefined) return { origin: config.publicUrl, host: undefined, secure: config.publicUrl.startsWith('https:') };
  const { host, secure } = requestHost(req, config.trustProxy);
  return { origin: host === undefined ? '' : `${secure ? 'https' : 'http'}://${host}`, host, secure };
}

export function shareLinks(config: ShareLinksConfig, req: IncomingMessage, e: JoinEntry): { link: string; shortLink: string; expiresAt: string; lanLinks: string[] } {
  const { origin, host, secure } = originOf(config, req);
  const lanLinks: string[] = [];
  const loopback = host === undefined ? null : LOOPBACK_HOST_RE.exec(host);
  if (loopback && bindsAllInterfaces(config.host)) {
    const port = loopback[1] === undefined ? '' : `:${loopback[1]}`;
    for (const a of lanAddresses()) if (!a.includes(':')) lanLinks.push(`${secure ? 'https' : 'http'}://${a}${port}${JOIN_PAGE_PREFIX}${e.code}`);
  }
  return { link: `${origin}${linkPath(e)}`, shortLink: `${origin}${JOIN_PAGE_PREFIX}${e.code}`, expiresAt: new Date(e.expiresAt).toISOString(), lanLinks };
}
