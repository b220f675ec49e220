/**
 * Engine settings from the page URL's query (`?httpDelayMs=0&maxPeers=4`), for demos and
 * tests. Only known numeric and boolean keys of ClientConfig are taken.
 */
import { DEFAULT_CONFIG, type ClientConfig } from '../core/config.js';

export function configFromQuery(search: string): Partial<ClientConfig> {
  const params = new URLSearchParams(search);
  const out: Record<string, number | boolean> = {};
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
  return out as Partial<ClientConfig>;
}
