/**
 * Engine settings from a URL's query (`?httpDelayMs=0&maxPeers=4`), for demos, tests and links
 * that carry settings: every key of ClientConfig by name, numbers and booleans (`true`/`1`)
 * read from text, then checked like every other source of settings (`sanitizeConfig`): invalid
 * values are dropped. The app reads its page's (src/ui/url-config.ts), `tabswarm get` a link's.
 */
import { DEFAULT_CONFIG, sanitizeConfig, type ClientConfig } from './config.js';

export function configFromQuery(search: string): Partial<ClientConfig> {
  const params = new URLSearchParams(search);
  const raw: Record<string, unknown> = {};
  for (const [key, fallback] of Object.entries(DEFAULT_CONFIG)) {
    const text = params.get(key);
    if (text === null) continue;
    if (typeof fallback === 'number') raw[key] = text.trim() === '' ? NaN : Number(text);
    else if (typeof fallback === 'boolean') raw[key] = text === 'true' || text === '1';
    else raw[key] = text;
  }
  return sanitizeConfig(raw);
}
