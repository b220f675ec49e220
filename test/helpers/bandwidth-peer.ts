/**
 * Simulation peers with bandwidth controls (sim-peer.ts's startPeer, plus a shared Bandwidth),
 * and a rate measurement over a real-time window.
 */
import type { Bandwidth } from '../../src/core/bandwidth.js';
import type { ClientConfig } from '../../src/core/config.js';
import type { Download } from '../../src/core/download.js';
import type { TestContent } from './content.js';
import type { MemoryCdn } from './memory-http.js';
import type { MemoryNetwork } from './memory-network.js';
import { MemoryStore } from './memory-store.js';
import { startPeer, type SimPeer } from './sim-peer.js';

/** startPeer with a shared Bandwidth (the client's one object for all its downloads). */
export function startBandwidthPeer(
  net: MemoryNetwork,
  content: TestContent,
  cdn: MemoryCdn,
  options: { bandwidth?: Bandwidth; store?: MemoryStore; config?: Partial<ClientConfig>; peering?: boolean } = {},
): SimPeer {
  return startPeer(net, content, cdn, options);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Bytes per second by which `counter()` grows over `windowMs` of real time, starting
 * `afterMs` from now (to skip a start-up burst). Timed by the clock, not by the sleeps asked.
 */
export async function measureRate(counter: () => number, afterMs: number, windowMs: number): Promise<number> {
  await sleep(afterMs);
  const t0 = performance.now();
  const b0 = counter();
  await sleep(windowMs);
  const t1 = performance.now();
  return ((counter() - b0) * 1000) / (t1 - t0);
}

/** Resolves once `download` holds at least `pieces` pieces. */
export function waitForPieces(download: Download, pieces: number): Promise<void> {
  if (download.have.cardinality >= pieces) return Promise.resolve();
  return new Promise((resolve) => {
    const off = download.events.on('piece', () => {
      if (download.have.cardinality >= pieces) {
        off();
        resolve();
      }
    });
  });
}
