/**
 * The core's settings for a simulated file whose bytes are scaled down (sim-network.ts): every
 * setting in bytes or bytes per second is divided by the scale, so that the core meets the
 * same rates, thresholds and buffer depths, relative to its pieces, as at full size. Times,
 * counts and shares are left alone. A byte setting added to ClientConfig must be listed here;
 * the unit test checks that every `*Bytes`/`*BytesPerSec` key is.
 */
import { DEFAULT_CONFIG, type ClientConfig } from '../src/core/config.js';

export const BYTE_SETTINGS = [
  'slowPeerBytesPerSec',
  'minPeerBytesPerSec',
  'uploadWasteBytes',
  'wireChunkBytes',
  'sendBufferHighBytes',
  'maxUploadBytesPerSec',
  'maxForegroundCdnBytesPerSec',
  'maxBackgroundCdnBytesPerSec',
  'minBackgroundBytesPerSec',
  'maxCacheBytes',
  'minFileSizeToPeer',
  'persistStorageFromBytes',
  'streamPeerPriorBytesPerSec',
  'streamFallbackBytesPerSec',
] as const satisfies ReadonlyArray<keyof ClientConfig>;

/** `config` (DEFAULT_CONFIG's values where unset) with its byte settings divided by `byteScale`. */
export function scaledConfig(byteScale: number, config: Partial<ClientConfig> = {}): Partial<ClientConfig> {
  const out: Partial<ClientConfig> = { ...config };
  for (const key of BYTE_SETTINGS) {
    const value = config[key] ?? DEFAULT_CONFIG[key];
    out[key] = value === 0 ? 0 : Math.max(1, Math.round(value / byteScale));
  }
  return out;
}
