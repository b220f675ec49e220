/**
 * Engine settings from the page URL's query (`?httpDelayMs=0&maxPeers=4`), for demos and
 * tests: every key of ClientConfig by name, numbers and booleans (`true`/`1`) read from text,
 * then checked like every other source of settings (`sanitizeConfig`): invalid values are
 * dropped.
 */
import { DEFAULT_CONFIG, sanitizeConfig, type ClientConfig } from '../core/config.js';

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

/** `?store=idb` keeps pieces in IndexedDB even where the browser has OPFS (to compare, or to test the fallback). */
export function storeFromQuery(search: string): 'auto' | 'idb' {
  return new URLSearchParams(search).get('store') === 'idb' ? 'idb' : 'auto';
}
