/**
 * What the Node cache (disk-content-cache.ts) finds in its directory when it opens: every
 * valid cache record, each recounted against the disk store, since the store is the truth of
 * what is on disk and a record only remembers it. A record that says 200 MiB stored and
 * complete beside a content file someone deleted, truncated or replaced (the store then holds
 * nothing of it: disk-piece-store.ts trusts no piece record beside a file of the wrong size)
 * comes back as 0 bytes, not complete. Files that are not valid records are left alone (the
 * next `touch` of their content writes over them); temporary files of a write a crash cut
 * short are removed.
 *
 * Memory: one record at a time (its metadata text is dropped once read); what is kept is each
 * content's summary, a few hundred bytes.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pieceCountOf, pieceLength } from '../protocol/metadata.js';
import { readCacheRecord, type CacheSummary } from './cache-record.js';
import { ifMissing, unlinkIfThere } from './disk-content.js';
import type { DiskPieceStore } from './disk-piece-store.js';
import { cacheRecordTempNameOf, storageIdOfCacheRecord } from './storage-id.js';

/** Bytes of the stored pieces `indexes` of a content of these sizes, and whether every piece is stored. */
export function storedOf(indexes: readonly number[], sizes: { fileSize: number; pieceSize: number }): { bytes: number; all: boolean } {
  const count = pieceCountOf(sizes.fileSize, sizes.pieceSize);
  let bytes = 0;
  let stored = 0;
  for (const i of indexes) {
    if (!Number.isInteger(i) || i < 0 || i >= count) continue;
    bytes += pieceLength(sizes, i);
    stored++;
  }
  return { bytes, all: stored === count };
}

/**
 * A summary's bytes and complete flag as the store's pieces say: counted by the piece size
 * when the record knows it; without it (a record never recounted) only "nothing stored" can
 * be told, and then the record's claims go.
 */
export function reconciled(summary: CacheSummary, indexes: readonly number[]): CacheSummary {
  if (summary.pieceSize !== undefined) {
    const { bytes, all } = storedOf(indexes, { fileSize: summary.fileSize, pieceSize: summary.pieceSize });
    return { ...summary, bytesStored: bytes, complete: summary.complete && all };
  }
  return indexes.length === 0 ? { ...summary, bytesStored: 0, complete: false } : summary;
}

/**
 * The valid records in `directory`, recounted against `pieces`; `changed` names those whose
 * counts the recount changed (the caller writes them back).
 */
export async function scanCacheRecords(directory: string, pieces: DiskPieceStore): Promise<{ summaries: Map<string, CacheSummary>; changed: string[] }> {
  const summaries = new Map<string, CacheSummary>();
  const changed: string[] = [];
  const names = await readdir(directory).catch(ifMissing([] as string[]));
  for (const name of names.sort()) {
    const storageId = storageIdOfCacheRecord(name);
    if (storageId === undefined) {
      const cut = name.endsWith('.tmp') ? storageIdOfCacheRecord(name.slice(0, -'.tmp'.length)) : undefined;
      if (cut !== undefined && name === cacheRecordTempNameOf(cut)) await unlinkIfThere(join(directory, name));
      continue;
    }
    const found = await readCacheRecord(join(directory, name), storageId);
    if (!found) continue; // not a record: ignored, and written over by the next touch
    const summary = reconciled(found.summary, await pieces.list(storageId));
    if (summary.bytesStored !== found.summary.bytesStored || summary.complete !== found.summary.complete) changed.push(storageId);
    summaries.set(storageId, summary);
  }
  return { summaries, changed };
}
