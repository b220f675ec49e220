/**
 * Where settings come from (src/client/settings.ts): defaults < the page's config < the user's
 * saved settings < URL parameters; anything invalid from storage or a URL is dropped.
 */
import { describe, expect, it } from 'vitest';
import { contentIdOf } from '../../../src/client/create-client.js';
import { layeredSettings, loadSavedSettings, saveSettings, SETTINGS_KEY, type SettingsStorage } from '../../../src/client/settings.js';
import { DEFAULT_CONFIG, resolveConfig, sanitizeConfig } from '../../../src/core/config.js';
import { configFromQuery } from '../../../src/ui/url-config.js';

function memoryStorage(initial?: string): SettingsStorage & { map: Map<string, string> } {
  const map = new Map<string, string>(initial === undefined ? [] : [[SETTINGS_KEY, initial]]);
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

describe('settings layers', () => {
  it('saved settings beat the page, URL parameters beat both, defaults fill the rest', () => {
    const storage = memoryStorage();
    saveSettings(storage, { maxUploadBytesPerSec: 500_000, downloadMode: 'group', groupId: 'room-7' });
    const merged = resolveConfig(
      layeredSettings({
        page: { maxUploadBytesPerSec: 2_000_000, httpDelayMs: 5000, maxCacheAgeMs: 1000 },
        saved: loadSavedSettings(storage),
        query: configFromQuery('?httpDelayMs=0&downloadMode=internet'),
      }),
    );
    expect(merged.maxUploadBytesPerSec).toBe(500_000); // the user's, over the page's
    expect(merged.httpDelayMs).toBe(0); // the URL's
    expect(merged.downloadMode).toBe('internet');
    expect(merged.groupId).toBe('room-7');
    expect(merged.maxCacheAgeMs).toBe(1000); // the page's
    expect(merged.maxSeededContents).toBe(DEFAULT_CONFIG.maxSeededContents);
  });

  it('persists per origin, merges changes and forgets a key set to undefined', () => {
    const storage = memoryStorage();
    saveSettings(storage, { uploadsEnabled: false, maxUploadShareOfCapacity: 0.5 });
    saveSettings(storage, { maxUploadShareOfCapacity: undefined, maxCacheBytes: 1e9 });
    expect(JSON.parse(storage.map.get(SETTINGS_KEY)!)).toEqual({ uploadsEnabled: false, maxCacheBytes: 1e9 });
    expect(() => saveSettings(undefined, { uploadsEnabled: true })).toThrow(/no localStorage/);
  });

  it('drops what storage or a URL can hold but a setting cannot be', () => {
    expect(loadSavedSettings(memoryStorage('{not json'))).toEqual({});
    expect(loadSavedSettings(memoryStorage('[1,2]'))).toEqual({});
    expect(
      sanitizeConfig({
        maxUploadBytesPerSec: -1,
        httpDelayMs: Infinity,
        maxUploadShareOfCapacity: 1.5,
        maxCacheShareOfQuota: 0,
        uploadsEnabled: 'yes',
        downloadMode: 'torrent',
        groupId: 'a b',
        unknownKey: 1,
        maxPeers: 4,
      }),
    ).toEqual({ maxPeers: 4 });
    expect(configFromQuery('?maxUploadShareOfCapacity=0.25&noUploadsOnBattery=false&maxPeers=&groupId=')).toEqual({
      maxUploadShareOfCapacity: 0.25,
      noUploadsOnBattery: false,
      groupId: '',
    });
  });
});

describe('contentIdOf', () => {
  const id = 'ab'.repeat(32);
  it('reads a content ID or an app link, and nothing else', () => {
    expect(contentIdOf(id)).toBe(id);
    expect(contentIdOf(id.toUpperCase())).toBe(id);
    expect(contentIdOf(`https://swarm.example/?httpDelayMs=0#c=${id}`)).toBe(id);
    expect(contentIdOf(`https://cdn.example/${id}/file.iso`)).toBeUndefined();
    expect(contentIdOf('https://example.com/big.iso')).toBeUndefined();
  });
});
