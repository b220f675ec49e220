/**
 * Where a tab's settings come from, weakest first:
 *   1. DEFAULT_CONFIG (src/core/config.ts, DO's defaults where they fit a browser);
 *   2. the embedding page's config (`createClient({ config })`): the site's choices;
 *   3. the user's saved settings for this origin (localStorage `tabswarm:settings`, written by
 *      `client.saveSettings`): a user's upload cap outlives the page's defaults;
 *   4. URL parameters (`?maxUploadBytesPerSec=1000000`), for demos and tests.
 * Every layer goes through `sanitizeConfig`: storage and URLs can hold anything, and an invalid
 * value is dropped, never thrown.
 */
import { sanitizeConfig, type ClientConfig } from '../core/config.js';

export const SETTINGS_KEY = 'tabswarm:settings';

/** The part of the Web Storage API used here (tests pass a Map-backed one). */
export interface SettingsStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** `localStorage` when the page may use it (not in some sandboxed frames or privacy modes). */
export function defaultSettingsStorage(): SettingsStorage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** The saved settings of this origin; {} when none, unreadable or malformed. */
export function loadSavedSettings(storage: SettingsStorage | undefined): Partial<ClientConfig> {
  try {
    const text = storage?.getItem(SETTINGS_KEY);
    if (!text) return {};
    const raw: unknown = JSON.parse(text);
    return raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? sanitizeConfig(raw as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Merges `changes` into the saved settings (a key set to undefined is forgotten) and returns
 * what is saved now. Invalid values are dropped. Throws TypeError if storage is unavailable.
 */
export function saveSettings(storage: SettingsStorage | undefined, changes: Partial<Record<keyof ClientConfig, unknown>>): Partial<ClientConfig> {
  if (!storage) throw new TypeError('settings cannot be saved: this page has no localStorage');
  const saved: Record<string, unknown> = { ...loadSavedSettings(storage) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete saved[k];
    else saved[k] = v;
  }
  const clean = sanitizeConfig(saved);
  storage.setItem(SETTINGS_KEY, JSON.stringify(clean));
  return clean;
}

/** The layers merged, weakest first (see the top of this file). */
export function layeredSettings(layers: { page?: Partial<ClientConfig>; saved?: Partial<ClientConfig>; query?: Partial<ClientConfig> }): Partial<ClientConfig> {
  return { ...sanitizeConfig(layers.page ?? {}), ...(layers.saved ?? {}), ...(layers.query ?? {}) };
}
