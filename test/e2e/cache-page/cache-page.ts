/**
 * The page test/e2e/cache.spec.ts drives: the real piece store (IndexedDB database
 * `tabswarm`, pieces written by the writer worker), the real piece cache (`tabswarm-cache`)
 * and the real SHA-256 worker pool, exposed as `window.cacheTest`. Contents are made up here
 * from a seed, with real metadata (piece hashes, content ID = SHA-256 of the metadata bytes),
 * so that a cached content can be re-opened and its pieces verified as the client would.
 *
 * The cache's clock is the page's, shifted by `advance(ms)`, so that tests can age contents.
 */
import { planEviction, type CacheLimits } from '../../../src/core/cache-policy.js';
import { openPieceFile } from '../../../src/core/piece-file.js';
import { verifyStoredMetadata } from '../../../src/core/verify-stored.js';
import { toHex } from '../../../src/protocol/hex.js';
import { encodeMetadata, METADATA_FORMAT, METADATA_VERSION, pieceCountOf, pieceLength, type Metadata } from '../../../src/protocol/metadata.js';
import { createIdbPieceStore } from '../../../src/storage/idb-piece-store.js';
import { createPieceCache } from '../../../src/storage/piece-cache.js';
import { createHasherPool } from '../../../src/workers/hasher-pool.js';

let shift = 0;
const now = () => Date.now() + shift;
const store = createIdbPieceStore();
const hasher = createHasherPool();
const cache = createPieceCache({ pieces: store, now });

/** Deterministic bytes of piece `index` of content `seed` (xorshift). */
function pieceBytes(seed: number, index: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 0x9e3779b1 + index * 0x85ebca6b + 1) >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = x >>> 24;
  }
  return out;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex((await hasher.digest(bytes.slice())).digest);
}

const api = {
  advance(ms: number) {
    shift += ms;
  },
  now,

  /** Makes a content of `pieces` pieces of `pieceSize` (the last one 1000 bytes shorter), stores its pieces and records it in the cache. */
  async addContent(seed: number, pieces: number, pieceSize: number): Promise<{ contentId: string; fileSize: number }> {
    const fileSize = pieces * pieceSize - 1000;
    const metadata: Metadata = {
      format: METADATA_FORMAT,
      version: METADATA_VERSION,
      name: `content-${seed}.bin`,
      mimeType: 'application/octet-stream',
      fileSize,
      pieceSize,
      fileSha256: '0'.repeat(64), // not checked here: the whole-file check is the download's
      pieceSha256: [],
    };
    for (let i = 0; i < pieces; i++) metadata.pieceSha256.push(await sha256Hex(pieceBytes(seed, i, pieceLength(metadata, i))));
    const contentId = await sha256Hex(encodeMetadata(metadata));
    // As create-client does: the record before the first piece, the bytes as pieces land.
    await cache.touch({ contentId, metadata, seedable: true });
    for (let i = 0; i < pieces; i++) await store.put(contentId, i, pieceBytes(seed, i, pieceLength(metadata, i)));
    await cache.recordBytes(contentId, fileSize, true);
    await cache.release(contentId);
    return { contentId, fileSize };
  },

  list: () => cache.list(),
  usage: () => cache.usage(),
  pin: (id: string) => cache.pin(id),
  pieceIndexes: (id: string) => store.list(id),
  storageIds: () => store.storageIds(),
  orphans: () => cache.orphans(),
  recount: async (id: string) => {
    const r = await cache.get(id);
    if (!r?.metadataJson) throw new Error(`no metadata for ${id}`);
    const m = JSON.parse(r.metadataJson) as Metadata;
    return cache.recount(id, m);
  },
  async enforce(limits: CacheLimits, active: string[] = []) {
    return cache.enforce(limits, new Set(active));
  },
  /** The plan with the real quota, without deleting (to check the share-of-quota limit). */
  async planWithQuota(limits: CacheLimits) {
    const usage = await cache.usage();
    const records = await cache.list();
    const entries = records.map((r) => ({ storageId: r.storageId, bytes: r.bytesStored, lastUsedAt: r.lastUsedAt, pinned: r.pinned, active: false }));
    return { quota: usage.quota, plan: planEviction({ entries, limits, quota: usage.quota, now: now() }) };
  },

  /** Re-opens a cached content without the server: its metadata checked against the content ID, every piece re-hashed as it would be served. */
  async reopen(contentId: string): Promise<{ name: string; served: number; corrupt: Array<{ index: number; reason: string }>; indexes: number[] }> {
    const record = await cache.get(contentId);
    if (!record?.metadataJson) throw new Error(`${contentId} is not cached with its metadata`);
    const metadata = await verifyStoredMetadata(contentId, record.metadataJson, hasher);
    const corrupt: Array<{ index: number; reason: string }> = [];
    const { fileSize, pieceSize } = metadata;
    const file = await openPieceFile(store, hasher, contentId, { pieceCount: pieceCountOf(fileSize, pieceSize), fileSize, pieceSize });
    let served = 0;
    for (const i of await file.list()) {
      const read = await file.read(i, metadata.pieceSha256[i]);
      if ('bytes' in read) served++;
      else if ('corrupt' in read) {
        corrupt.push({ index: i, reason: read.corrupt });
        await file.remove(i);
      }
    }
    file.close();
    return { name: metadata.name, served, corrupt, indexes: await store.list(contentId) };
  },

  /** Overwrites a stored piece behind the cache's back, as an extension or a user with devtools could. */
  async tamper(contentId: string, index: number): Promise<void> {
    const bad = await store.get(contentId, index);
    if (!bad) throw new Error('no such piece');
    bad[0]! ^= 0xff;
    await store.put(contentId, index, bad);
  },

  /**
   * The trust rule's cost: reads `rounds` times every stored piece of `contentId` back and
   * hashes it, with 4 reads in flight, as the upload side's read-ahead does. Milliseconds per
   * MiB for the read alone, the hash alone (of bytes in hand) and the read plus the hash.
   */
  async rehashCost(contentId: string, rounds: number): Promise<{ mib: number; readMsPerMiB: number; hashMsPerMiB: number; readAndHashMsPerMiB: number }> {
    const indexes = await store.list(contentId);
    const run = async (hash: boolean) => {
      let bytes = 0;
      const t0 = performance.now();
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < indexes.length; k += 4) {
          await Promise.all(
            indexes.slice(k, k + 4).map(async (i) => {
              const data = (await store.get(contentId, i))!;
              bytes += data.byteLength;
              if (hash) await hasher.digest(data);
            }),
          );
        }
      }
      return { ms: performance.now() - t0, mib: bytes / (1024 * 1024) };
    };
    const hashOnly = async () => {
      const inHand = await Promise.all(indexes.map(async (i) => (await store.get(contentId, i))!));
      let bytes = 0;
      const t0 = performance.now();
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < inHand.length; k += 4) {
          await Promise.all(
            inHand.slice(k, k + 4).map(async (data, j) => {
              bytes += data.byteLength;
              inHand[k + j] = (await hasher.digest(data)).data; // the pool hands the bytes back
            }),
          );
        }
      }
      return { ms: performance.now() - t0, mib: bytes / (1024 * 1024) };
    };
    await run(true); // warm-up: workers started, IndexedDB opened
    const read = await run(false);
    const hash = await hashOnly();
    const both = await run(true);
    return { mib: both.mib, readMsPerMiB: read.ms / read.mib, hashMsPerMiB: hash.ms / hash.mib, readAndHashMsPerMiB: both.ms / both.mib };
  },
};

declare global {
  interface Window {
    cacheTest: typeof api;
  }
}
window.cacheTest = api;
