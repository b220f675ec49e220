/**
 * The server's view of a content directory (layout in content-paths.ts).
 *
 * Contract: a content ID is served only if `meta/<id>.json` parses as metadata, its SHA-256
 * equals `<id>`, and `files/<id>` exists with exactly `fileSize` bytes. Bad entries are skipped
 * and logged, never served. The file's bytes are not re-hashed at load (that would read every
 * published byte at each start); clients verify every piece anyway.
 *
 * Content published while the server runs is picked up without a restart: a lookup of an
 * unknown ID checks the disk for it, and `refresh()` (run before each catalog reply) loads new
 * metadata files. Removing content needs a restart.
 *
 * Peer-only content (classroom sharing, signaling/share-api.ts): `shared/<id>.json` holds the
 * metadata of a file that only browsers hold; the server has no copy (`filePath` undefined), so
 * its policy names no CDN and `/cdn` answers 404 for it. It is served by lookup (policy,
 * metadata, Discovery, the Arrays service) but not listed in the catalog. A content with both
 * a published file and a shared entry is served as published.
 */
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CatalogEntry } from '../src/protocol/content-policy.js';
import { LIMITS } from '../src/protocol/limits.js';
import { parseMetadata } from '../src/protocol/metadata.js';
import { META_SUFFIX, filePathOf, isContentId, metaDirOf, metaPathOf } from './content-paths.js';
import { writeDeterministicFile } from './deterministic-content.js';
import { publishFile, sha256Hex, type PublishResult } from './publish.js';

/**
 * What the server keeps per content: the catalog fields and where its metadata and file are.
 * The metadata bytes stay on disk (served from there): a record is a few hundred bytes whatever
 * the file's size, so thousands of shares of 64 GiB files cost no memory.
 */
export interface ContentRecord extends CatalogEntry {
  pieceSize: number;
  /** The exact metadata bytes, checked against the content ID when loaded. */
  metadataPath: string;
  metadataSize: number;
  /** The published file; undefined for peer-only content (shared from a browser: no CDN copy). */
  filePath: string | undefined;
}

/** Folder of peer-only metadata (`shared/<contentId>.json`): content with no file on the server. */
export const SHARED_DIR = 'shared';

export function sharedPathOf(contentDir: string, contentId: string): string {
  if (!isContentId(contentId)) throw new Error('not a content ID');
  return join(contentDir, SHARED_DIR, contentId + META_SUFFIX);
}

/** Why `addPeerOnly` refused metadata (the message is for the person who sent it). */
export class ContentRejectedError extends Error {
  override name = 'ContentRejectedError';
}

export interface ContentStore {
  readonly contentDir: string;
  /** Number of valid contents loaded. */
  readonly size: number;
  /** Catalog entries, sorted by name. */
  list(): CatalogEntry[];
  /** A loaded content, without touching the disk. */
  get(contentId: string): ContentRecord | undefined;
  /** A loaded content, or one published since the last load. `contentId` must be well-formed. */
  lookup(contentId: string): Promise<ContentRecord | undefined>;
  /** Loads metadata files that appeared since the last load. */
  refresh(): Promise<void>;
  /**
   * Adds peer-only content from its exact metadata bytes (parsed and checked; the content ID is
   * their SHA-256) and keeps them in `shared/`, so it survives a restart. Idempotent; content
   * already published with its file stays as it is. Throws ContentRejectedError for bad metadata.
   */
  addPeerOnly(metadataBytes: Uint8Array): Promise<ContentRecord>;
  /** Peer-only shares on disk (`shared/`): how many, and their bytes. */
  sharedUsage(): { count: number; bytes: number };
  /**
   * Deletes the shares whose metadata file is older than `ttlMs` (its mtime: the time it was
   * shared, kept across restarts) and forgets their records. Returns how many went.
   */
  expireShared(ttlMs: number, now?: number): Promise<number>;
  /** Deletes one share (its metadata file and record); false if it is not a share here. */
  deleteShared(contentId: string): Promise<boolean>;
}

/** The catalog fields of checked metadata: what a record keeps of it. */
export type CheckedMetadata = { ok: true; contentId: string; name: string; mimeType: string; fileSize: number; pieceSize: number } | { ok: false; contentId: string; reason: string };

/**
 * Hashes and parses metadata bytes. The server passes its worker-thread checker
 * (metadata-checker.ts) so that a large document never stalls the event loop.
 * @default in this thread
 */
export type MetadataCheck = (bytes: Uint8Array) => Promise<CheckedMetadata>;

export const checkInThread: MetadataCheck = async (bytes) => {
  const contentId = sha256Hex(bytes);
  const parsed = parseMetadata(bytes);
  return parsed.ok
    ? { ok: true, contentId, name: parsed.metadata.name, mimeType: parsed.metadata.mimeType, fileSize: parsed.metadata.fileSize, pieceSize: parsed.metadata.pieceSize }
    : { ok: false, contentId, reason: parsed.reason };
};

/** A rejected or missing ID is not checked on disk again for this long (ms). */
const RETRY_AFTER_MS = 5000;

type LoadResult = { ok: true; record: ContentRecord } | { ok: false; reason: string; missing?: true };

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Loads and checks one content ID: published (meta/ and files/), else peer-only (shared/). Never throws. */
async function loadOne(contentDir: string, contentId: string, check: MetadataCheck): Promise<LoadResult> {
  const published = await loadPublished(contentDir, contentId, check);
  if (published.ok || !published.missing) return published;
  return loadPeerOnly(contentDir, contentId, check);
}

/** Metadata bytes checked against their content ID (SHA-256) and parsed: every loader's first step. */
async function checkedMetadata(contentId: string, bytes: Uint8Array, check: MetadataCheck): Promise<Extract<CheckedMetadata, { ok: true }> | { ok: false; reason: string }> {
  const c = await check(bytes);
  if (c.contentId !== contentId) return { ok: false, reason: 'SHA-256 of the metadata bytes is not the content ID' };
  return c;
}

/** The record of peer-only content (no file) from metadata already checked against its content ID. */
function peerOnlyRecord(meta: Extract<CheckedMetadata, { ok: true }>, metadataPath: string, metadataSize: number): ContentRecord {
  const { contentId, name, mimeType, fileSize, pieceSize } = meta;
  return { contentId, name, mimeType, fileSize, pieceSize, metadataPath, metadataSize, filePath: undefined };
}

async function loadPeerOnly(contentDir: string, contentId: string, check: MetadataCheck): Promise<LoadResult> {
  let bytes: Uint8Array;
  try {
    const path = sharedPathOf(contentDir, contentId);
    const st = await stat(path);
    if (!st.isFile() || st.size > LIMITS.maxMetadataBytes) return { ok: false, reason: 'shared metadata is not a regular file within the size limit' };
    bytes = await readFile(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { ok: false, reason: 'no metadata file', missing: true };
    return { ok: false, reason: `cannot read shared metadata: ${errnoCode(err) ?? String(err)}` };
  }
  const checked = await checkedMetadata(contentId, bytes, check);
  return checked.ok ? { ok: true, record: peerOnlyRecord(checked, sharedPathOf(contentDir, contentId), bytes.byteLength) } : checked;
}

async function loadPublished(contentDir: string, contentId: string, check: MetadataCheck): Promise<LoadResult> {
  const metaPath = metaPathOf(contentDir, contentId);
  let bytes: Uint8Array;
  try {
    const st = await stat(metaPath);
    if (!st.isFile()) return { ok: false, reason: 'metadata is not a regular file' };
    if (st.size > LIMITS.maxMetadataBytes) return { ok: false, reason: `metadata is ${st.size} bytes, over the limit` };
    bytes = await readFile(metaPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { ok: false, reason: 'no metadata file', missing: true };
    return { ok: false, reason: `cannot read metadata: ${errnoCode(err) ?? String(err)}` };
  }
  const checked = await checkedMetadata(contentId, bytes, check);
  if (!checked.ok) return checked;
  const meta = checked;
  const filePath = filePathOf(contentDir, contentId);
  try {
    const st = await stat(filePath);
    if (!st.isFile()) return { ok: false, reason: 'data file is not a regular file' };
    if (st.size !== meta.fileSize) return { ok: false, reason: `data file is ${st.size} bytes, metadata says ${meta.fileSize}` };
  } catch (err) {
    return { ok: false, reason: errnoCode(err) === 'ENOENT' ? 'data file missing' : `cannot stat data file: ${errnoCode(err) ?? String(err)}` };
  }
  return {
    ok: true,
    record: {
      contentId,
      name: meta.name,
      mimeType: meta.mimeType,
      fileSize: meta.fileSize,
      pieceSize: meta.pieceSize,
      metadataPath: metaPath,
      metadataSize: bytes.byteLength,
      filePath,
    },
  };
}

/** Loads every valid content of `contentDir` (which need not exist yet). */
export async function loadContentStore(contentDir: string, logger?: Logger, check: MetadataCheck = checkInThread): Promise<ContentStore> {
  const records = new Map<string, ContentRecord>();
  /** ID -> when it was last found bad or missing. */
  const rejected = new Map<string, number>();
  let refreshing: Promise<void> | undefined;

  async function tryLoad(contentId: string, logMissing: boolean): Promise<ContentRecord | undefined> {
    const last = rejected.get(contentId);
    if (last !== undefined && Date.now() - last < RETRY_AFTER_MS) return undefined;
    const r = await loadOne(contentDir, contentId, check);
    if (r.ok) {
      rejected.delete(contentId);
      if (!records.has(contentId)) {
        records.set(contentId, r.record);
        logger?.info({ contentId, name: r.record.name, fileSize: r.record.fileSize }, 'content loaded');
      }
      return records.get(contentId);
    }
    if (rejected.size > 10_000) rejected.clear(); // bounded: lookups of random IDs land here
    rejected.set(contentId, Date.now());
    if (!r.missing || logMissing) logger?.warn({ contentId, reason: r.reason }, 'content skipped');
    return undefined;
  }

  async function scan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(metaDirOf(contentDir));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const fileName of names.sort()) {
      if (fileName.startsWith('.')) continue; // temporary files of a publish in progress
      const id = fileName.endsWith(META_SUFFIX) ? fileName.slice(0, -META_SUFFIX.length) : '';
      if (!isContentId(id)) {
        logger?.warn({ file: join(metaDirOf(contentDir), fileName) }, 'content skipped: file name is not <contentId>.json');
        continue;
      }
      if (!records.has(id)) await tryLoad(id, true);
    }
  }

  /** Shares on disk, by content ID: their size (the quota's unit) and when they were made. */
  const shared = new Map<string, { bytes: number; at: number }>();
  let sharedBytes = 0;
  async function scanShared(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(join(contentDir, SHARED_DIR));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const fileName of names) {
      const id = fileName.endsWith(META_SUFFIX) ? fileName.slice(0, -META_SUFFIX.length) : '';
      if (!isContentId(id) || shared.has(id)) continue;
      const st = await stat(join(contentDir, SHARED_DIR, fileName)).catch(() => undefined);
      if (st?.isFile() !== true) continue;
      shared.set(id, { bytes: st.size, at: st.mtimeMs });
      sharedBytes += st.size;
    }
  }

  await scan();
  await scanShared();

  async function removeShared(id: string): Promise<void> {
    const s = shared.get(id);
    if (s === undefined) return;
    await unlink(sharedPathOf(contentDir, id)).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
    shared.delete(id);
    sharedBytes -= s.bytes;
    // A published content of the same ID stays: only the peer-only record goes.
    if (records.get(id)?.filePath === undefined) records.delete(id);
  }

  return {
    contentDir,
    get size() {
      return records.size;
    },
    list() {
      return [...records.values()]
        .filter((r) => r.filePath !== undefined)
        .map(({ contentId, name, mimeType, fileSize }) => ({ contentId, name, mimeType, fileSize }))
        .sort((a, b) => a.name.localeCompare(b.name) || a.contentId.localeCompare(b.contentId));
    },
    get(contentId) {
      return records.get(contentId);
    },
    async lookup(contentId) {
      return records.get(contentId) ?? (isContentId(contentId) ? tryLoad(contentId, false) : undefined);
    },
    refresh() {
      refreshing ??= scan().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    async addPeerOnly(metadataBytes) {
      const checked = await check(metadataBytes);
      const contentId = checked.contentId;
      const known = records.get(contentId) ?? (await tryLoad(contentId, false));
      if (known !== undefined) return known;
      if (!checked.ok) throw new ContentRejectedError(checked.reason);
      const path = sharedPathOf(contentDir, contentId);
      const record = peerOnlyRecord(checked, path, metadataBytes.byteLength);
      await mkdir(join(contentDir, SHARED_DIR), { recursive: true });
      const tmp = join(contentDir, SHARED_DIR, `.${contentId}.${process.pid}.${Date.now()}.tmp`);
      try {
        await writeFile(tmp, metadataBytes);
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      rejected.delete(contentId);
      if (!shared.has(contentId)) {
        shared.set(contentId, { bytes: metadataBytes.byteLength, at: Date.now() });
        sharedBytes += metadataBytes.byteLength;
      }
      if (!records.has(contentId)) {
        records.set(contentId, record);
        logger?.info({ contentId, name: record.name, fileSize: record.fileSize }, 'peer-only content shared');
      }
      return records.get(contentId)!;
    },
    sharedUsage() {
      return { count: shared.size, bytes: sharedBytes };
    },
    async expireShared(ttlMs, now = Date.now()) {
      let gone = 0;
      for (const [id, s] of [...shared]) {
        if (now - s.at < ttlMs) continue;
        await removeShared(id);
        gone++;
      }
      if (gone > 0) logger?.info({ expired: gone, left: shared.size }, 'expired shares deleted');
      return gone;
    },
    async deleteShared(contentId) {
      if (!shared.has(contentId)) return false;
      await removeShared(contentId);
      return true;
    },
  };
}

/** Name of the demo file for `size` bytes, e.g. `tabswarm-demo-64MiB.bin`. */
export function demoNameFor(size: number): string {
  const MiB = 1024 * 1024;
  const label = size % MiB === 0 ? `${size / MiB}MiB` : size % 1024 === 0 ? `${size / 1024}KiB` : `${size}B`;
  return `tabswarm-demo-${label}.bin`;
}

/** Seed of the demo content: fixed, so every server publishes the same demo content ID. */
export const DEMO_SEED = 1;

/**
 * Publishes a deterministic demo file (seed `DEMO_SEED`, `size` bytes) if `contentDir` holds no
 * valid content. Returns the publish result, or undefined when content already exists or
 * `size` is 0 (demo disabled).
 */
export async function ensureDemoContent(contentDir: string, size: number, logger?: Logger): Promise<PublishResult | undefined> {
  if (size <= 0) return undefined;
  const existing = await loadContentStore(contentDir);
  if (existing.size > 0) return undefined;
  await mkdir(contentDir, { recursive: true });
  const tmp = join(contentDir, `.demo-${process.pid}-${Date.now()}.tmp`);
  try {
    logger?.info({ size }, 'writing demo content');
    await writeDeterministicFile(tmp, size, DEMO_SEED);
    const result = await publishFile(tmp, { contentDir, name: demoNameFor(size) });
    logger?.info({ contentId: result.contentId, name: result.metadata.name }, 'demo content published');
    return result;
  } finally {
    await unlink(tmp).catch(() => undefined); // the published copy is a separate link or copy
  }
}
