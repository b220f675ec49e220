/**
 * Which storage IDs the disk store takes, and the file names they map to. A storage ID is a
 * content ID (64 lower-case hex: the metadata's SHA-256) or `simple:<64 hex>` (a simple-mode
 * download, core/download.ts). Anything else is refused before it comes near a path: a name
 * built from it could leave the store's directory ('../x', an absolute path, a NUL byte).
 */
import { TabswarmError } from '../core/errors.js';

const STORAGE_ID = /^(simple:)?[0-9a-f]{64}$/;
const CONTENT_SUFFIX = '.content';
const RECORD_SUFFIX = '.held';
/** A record's file name, from which `storageIdOfRecord` gives the ID back. */
const RECORD_NAME = /^(simple-)?([0-9a-f]{64})\.held$/;
const CACHE_RECORD_SUFFIX = '.cache.json';
/** A cache record's file name (node/disk-content-cache.ts), from which `storageIdOfCacheRecord` gives the ID back. */
const CACHE_RECORD_NAME = /^(simple-)?([0-9a-f]{64})\.cache\.json$/;

export function isStorageId(value: unknown): value is string {
  return typeof value === 'string' && STORAGE_ID.test(value);
}

/** Throws TabswarmError 'storage-error' unless `value` is a storage ID. */
export function checkStorageId(value: unknown): string {
  if (isStorageId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new TabswarmError('storage-error', `not a storage ID (64 hex, or simple:<64 hex>): ${shown}`);
}

/** The base file name of a (checked) storage ID: the colon becomes a dash (no colon in Windows names). */
function baseName(storageId: string): string {
  return storageId.replace(':', '-');
}

/** The file holding the content's bytes, laid out as the content. */
export function contentNameOf(storageId: string): string {
  return baseName(storageId) + CONTENT_SUFFIX;
}

/** The record of which pieces are stored (disk-record.ts). */
export function recordNameOf(storageId: string): string {
  return baseName(storageId) + RECORD_SUFFIX;
}

/** A new record is written under this name, then renamed over the record. */
export function recordTempNameOf(storageId: string): string {
  return recordNameOf(storageId) + '.tmp';
}

/** The storage ID a record's file name belongs to; undefined for any other name. */
export function storageIdOfRecord(name: string): string | undefined {
  const m = RECORD_NAME.exec(name);
  return m ? `${m[1] ? 'simple:' : ''}${m[2]}` : undefined;
}

/** The cache's record of a content (node/cache-record.ts): its use, its metadata, whether it is pinned. */
export function cacheRecordNameOf(storageId: string): string {
  return baseName(storageId) + CACHE_RECORD_SUFFIX;
}

/** A new cache record is written under this name, then renamed over the record. */
export function cacheRecordTempNameOf(storageId: string): string {
  return cacheRecordNameOf(storageId) + '.tmp';
}

/** The storage ID a cache record's file name belongs to; undefined for any other name. */
export function storageIdOfCacheRecord(name: string): string | undefined {
  const m = CACHE_RECORD_NAME.exec(name);
  return m ? `${m[1] ? 'simple:' : ''}${m[2]}` : undefined;
}
