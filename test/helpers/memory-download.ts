/**
 * A core Download over memory ports (MemoryCdn, MemoryStore, the node hasher, and a
 * MemoryNetwork when given), not started, with the pieces and rejections it reports recorded:
 * what the unit tests of the scheduler's decisions drive one at a time.
 */
import { Download, type DownloadOptions } from '../../src/core/download.js';
import type { TestContent } from './content.js';
import type { MemoryCdn } from './memory-http.js';
import type { MemoryNetwork } from './memory-network.js';
import { MemoryStore } from './memory-store.js';
import { createNodeHasher } from './node-hasher.js';
import { newPeerId } from './sim-peer.js';

export function memoryDownload(content: TestContent, cdn: MemoryCdn, options: Partial<DownloadOptions> & { net?: MemoryNetwork } = {}) {
  const peerId = newPeerId();
  const store = (options.store as MemoryStore | undefined) ?? new MemoryStore();
  const { net, ...rest } = options;
  const d = new Download({
    contentId: content.contentId,
    metadata: content.metadata,
    peerId,
    cdnUrls: ['mem://cdn'],
    hasher: createNodeHasher(),
    store,
    http: cdn,
    ...(net ? { signaling: net.signaling(peerId), connector: net.connector(peerId) } : {}),
    ...rest,
    config: { minFileSizeToPeer: 0, announceIntervalMs: 200, ...options.config },
  });
  const pieces: Array<{ index: number; kind: string; source: string }> = [];
  d.events.on('piece', (p) => pieces.push(p));
  const rejected: Array<{ index: number; source: string }> = [];
  d.events.on('rejected', (r) => rejected.push(r));
  return { d, store, pieces, rejected, peerId };
}
