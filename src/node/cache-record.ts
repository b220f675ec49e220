/**
 * The Node cache's record of one content (disk-content-cache.ts): a small JSON file beside the
 * content's file and piece record in the disk store's directory, `<name>.cache.json`
 * (storage-id.ts), holding what the browser's IndexedDB record holds (storage/piece-cache.ts's
 * CacheRecord, docs/cache.md) and the content's use:
 *
 *   {"format":"tabswarm-cache-record","version":1,"storageId":…,"contentId":…,
 *    "metadataJson":…,"fileName":…,"fileSize":…,"pieceSize":…,"bytesStored":…,"complete":…,
 *    "lastUsedAt":…,"pinned":…,"seedable":…,"addedAt":…,"uses":…,"bytesServed":…,"lastServedAt":…}
 *
 * `metadataJson` is the metadata's canonical JSON text, exactly as published: its SHA-256 is the
 * content ID, so a restarted node re-opens and seeds the content without the server, checking
 * it against the ID first (core/verify-stored.ts). Leases are not written: they belong to the
 * one live process (the directory lock, directory-lock.ts), and a restarted process holds none.
 *
 * A file is taken only if it parses whole against the schema and names the storage ID its file
 * name says; anything else (garbled, cut short, hand-edited into nonsense, larger than any
 * record can be) is no record: `list` ignores it and the next `touch` writes a new one over it.
 * A record is written aside and renamed into place, so a crash leaves the old one or the new.
 */
import { open, rename } from 'node:fs/promises';
import { z } from 'zod';
import { SHA256_HEX } from '../protocol/hex.js';
import { LIMITS } from '../protocol/limits.js';
import { ifMissing } from './disk-content.js';
import { isStorageId } from './storage-id.js';

export const CACHE_RECORD_FORMAT = 'tabswarm-cache-record';

/** One cached content, as `list` and `get` return it: the browser's CacheRecord, with its use. */
export interface DiskCacheRecord {
  /** The disk store's key and the record's name: the content ID, or `simple:<content ID>`. */
  storageId: string;
  contentId: string;
  /** The metadata's canonical JSON text (SHA-256 of its UTF-8 bytes = content ID); absent in simple mode. */
  metadataJson?: string;
  fileName: string;
  fileSize: number;
  /** The content's piece size, once known (from the metadata or a recount): what a restart recounts the stored bytes by. */
  pieceSize?: number;
  /** Bytes of the pieces stored: the sum of their lengths. */
  bytesStored: number;
  /** Every piece is stored and the whole file passed its SHA-256. */
  complete: boolean;
  /** When the content was last downloaded, seeded, opened or served (ms). */
  lastUsedAt: number;
  /** Never evicted. */
  pinned: boolean;
  /** Its policy allowed peering when it was last opened: it may be seeded from the cache. */
  seedable: boolean;
  /** This process's lease, while it uses the content: `{ [holder]: until }` (ms); not written to disk. */
  leases: Record<string, number>;
  /** When the record was created (ms). */
  addedAt: number;
  /** Opens of the content: each `touch` (a download, a seed, a `tabswarm get`). */
  uses: number;
  /** Bytes served to peers from the cache (`recordServed`), in total. */
  bytesServed: number;
  /** When bytes were last served (ms); absent if never. */
  lastServedAt?: number;
}

/** A record without its metadata text and leases: what the cache keeps of every content in memory. */
export type CacheSummary = Omit<DiskCacheRecord, 'metadataJson' | 'leases'>;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const recordSchema = z
  .object({
    format: z.literal(CACHE_RECORD_FORMAT),
    version: z.literal(1),
    storageId: z.string().refine(isStorageId, 'not a storage ID'),
    contentId: z.string().regex(SHA256_HEX),
    metadataJson: z.string().max(LIMITS.maxMetadataBytes).optional(),
    fileName: z.string().max(LIMITS.maxNameLength),
    fileSize: count.max(LIMITS.maxFileSize),
    pieceSize: count.min(1).max(LIMITS.maxPieceSize).optional(),
    bytesStored: count,
    complete: z.boolean(),
    lastUsedAt: count,
    pinned: z.boolean(),
    seedable: z.boolean(),
    addedAt: count,
    uses: count,
    bytesServed: count,
    lastServedAt: count.optional(),
  })
  .strict()
  .refine((r) => r.storageId === r.contentId || r.storageId === `simple:${r.contentId}`, 'the storage ID is not the content ID')
  .refine((r) => r.bytesStored <= r.fileSize, 'more bytes stored than the file has');

/**
 * The most bytes a record file can take: the largest metadata text, every character escaped
 * (JSON.stringify writes a quote as two), and the other fields. A larger file is not read.
 */
export const MAX_CACHE_RECORD_BYTES = 2 * LIMITS.maxMetadataBytes + 64 * 1024;

/** The record's text as written: the fields in a fixed order, one line. */
export function encodeCacheRecord(summary: CacheSummary, metadataJson: string | undefined): string {
  const out: Record<string, unknown> = {
    format: CACHE_RECORD_FORMAT,
    version: 1,
    storageId: summary.storageId,
    contentId: summary.contentId,
    ...(metadataJson !== undefined ? { metadataJson } : {}),
    fileName: summary.fileName,
    fileSize: summary.fileSize,
    ...(summary.pieceSize !== undefined ? { pieceSize: summary.pieceSize } : {}),
    bytesStored: summary.bytesStored,
    complete: summary.complete,
    lastUsedAt: summary.lastUsedAt,
    pinned: summary.pinned,
    seedable: summary.seedable,
    addedAt: summary.addedAt,
    uses: summary.uses,
    bytesServed: summary.bytesServed,
    ...(summary.lastServedAt !== undefined ? { lastServedAt: summary.lastServedAt } : {}),
  };
  return JSON.stringify(out) + '\n';
}

/** A record's text parsed: its summary and metadata text, or undefined if it is not a valid record of `storageId`. Never throws. */
export function decodeCacheRecord(text: string, storageId: string): { summary: CacheSummary; metadataJson: string | undefined } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success || parsed.data.storageId !== storageId) return undefined;
  const { format: _format, version: _version, metadataJson, ...summary } = parsed.data;
  return { summary, metadataJson };
}

/**
 * Reads and decodes the record file at `path`: undefined if there is none, or it is not a valid
 * record of `storageId` (larger than a record can be: not read). Rejects only when the file
 * system fails (other than "no such file").
 */
export async function readCacheRecord(path: string, storageId: string): Promise<ReturnType<typeof decodeCacheRecord>> {
  const handle = await open(path, 'r').catch(ifMissing(undefined));
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (size > MAX_CACHE_RECORD_BYTES) return undefined;
    const bytes = await handle.readFile();
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return undefined;
    }
    return decodeCacheRecord(text, storageId);
  } finally {
    await handle.close();
  }
}

/** Writes `text` to `temp`, flushes it when `durable`, and renames it to `path`. */
export async function writeCacheRecord(path: string, temp: string, text: string, durable: boolean): Promise<void> {
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
    if (durable) await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
