/** The simulator's scaled settings (sim/scaled-config.ts): every byte setting of the core is scaled, nothing else. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { BYTE_SETTINGS, scaledConfig } from '../../../sim/scaled-config.js';

describe('scaledConfig', () => {
  it('lists every setting counted in bytes (a new one must be scaled too)', () => {
    const bytes = Object.keys(DEFAULT_CONFIG).filter((k) => /Bytes(PerSec)?$/.test(k) || k === 'minFileSizeToPeer' || k === 'persistStorageFromBytes');
    expect([...BYTE_SETTINGS].sort()).toEqual(bytes.sort());
  });

  it('divides byte settings by the scale, keeps 0 (off) as 0 and times and counts as they are', () => {
    const c = scaledConfig(64, { wireChunkBytes: 64 * 1024, maxForegroundCdnBytesPerSec: 0, httpDelayMs: 4000 });
    expect(c.wireChunkBytes).toBe(1024);
    expect(c.sendBufferHighBytes).toBe(DEFAULT_CONFIG.sendBufferHighBytes / 64);
    expect(c.minPeerBytesPerSec).toBe(DEFAULT_CONFIG.minPeerBytesPerSec / 64);
    expect(c.maxForegroundCdnBytesPerSec).toBe(0);
    expect(c.httpDelayMs).toBe(4000);
    expect(c.peerRequestsInFlight).toBeUndefined();
  });
});
