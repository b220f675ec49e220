/**
 * Engine settings from the page URL's query (`?httpDelayMs=0&maxPeers=4`), for demos and
 * tests. Only known numeric and boolean keys of ClientConfig are taken, and `downloadMode`
 * (one of CLIENT_DOWNLOAD_MODES: http, lan, group, internet, simple, bypass) and `groupId`
 * (1-64 of [A-Za-z0-9_-]) when valid.
 */
import { CLIENT_DOWNLOAD_MODES, DEFAULT_CONFIG, type ClientConfig, type ClientDownloadMode } from '../core/config.js';
import { GROUP_ID_RE } from '../protocol/arrays-messages.js';

export function configFromQuery(search: string): Partial<ClientConfig> {
  const params = new URLSearchParams(search);
  const out: Record<string, number | boolean | string> = {};
  for (const [key, fallback] of Object.entries(DEFAULT_CONFIG)) {
    const raw = params.get(key);
    if (raw === null) continue;
    if (typeof fallback === 'number') {
      const n = Number(raw);
      if (Number.isFinite(n) && n >= 0) out[key] = n;
    } else if (typeof fallback === 'boolean') {
      out[key] = raw === 'true' || raw === '1';
    }
  }
  const mode = params.get('downloadMode');
  if (mode !== null && (CLIENT_DOWNLOAD_MODES as readonly string[]).includes(mode)) out.downloadMode = mode as ClientDownloadMode;
  const groupId = params.get('groupId');
  if (groupId !== null && GROUP_ID_RE.test(groupId)) out.groupId = groupId;
  return out as Partial<ClientConfig>;
}
