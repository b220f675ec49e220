/**
 * Trust in what IndexedDB gives back. Pieces and metadata were verified before they were
 * stored, but the origin's IndexedDB can be changed afterwards by anything that runs in the
 * origin (another page of the site, an extension with access to it, a user with devtools) and,
 * rarely, by the disk. So nothing read back is taken on its word (docs/cache.md):
 *
 * - a stored piece is hashed again before it is served to a peer (`verifiedPieceReader`):
 *   a peer that receives a bad piece strikes and bans us, and our good name in the swarm is
 *   worth one SHA-256 per uploaded piece (~0.7 ms per MiB on the worker pool idle, ~2 ms on
 *   a loaded 2-core machine, test/e2e/cache.spec.ts; a piece takes ~35 ms to cross a data
 *   channel at 30 MB/s);
 * - cached metadata is hashed again against its content ID before a cached content is
 *   re-opened without the server (`verifyStoredMetadata`), exactly as fetched metadata is.
 *
 * Pieces handed to the user are covered by the whole-file SHA-256 already (core/whole-file.ts).
 * Pure: the hashing goes through the Hasher port.
 */
import { TabswarmError } from './errors.js';
import type { Hasher } from './ports.js';
import { toHex } from '../protocol/hex.js';
import { parseMetadata, type Metadata } from '../protocol/metadata.js';

export interface VerifiedPieceReaderOptions {
  /** Reads a stored piece (the download's `readPiece`). */
  read(index: number): Promise<Uint8Array | undefined>;
  hasher: Hasher;
  /** The piece's SHA-256 in hex, from the verified metadata. */
  expectedSha256(index: number): string | undefined;
  /**
   * Called once per read that failed its check, with the reason. The reader has already
   * withheld the bytes; the download should delete the stored piece and fetch it again.
   */
  onCorrupt(index: number, reason: string): void;
}

/**
 * Wraps a piece read so that it resolves with the stored bytes only if they still hash to the
 * metadata's SHA-256, and with undefined otherwise (the upload side then refuses the request,
 * as for a piece it lacks, and the peer asks someone else). A read that fails resolves
 * undefined too; it is not a corruption.
 */
export function verifiedPieceReader(options: VerifiedPieceReaderOptions): (index: number) => Promise<Uint8Array | undefined> {
  return async (index) => {
    const stored = await options.read(index);
    if (stored === undefined) return undefined;
    const expected = options.expectedSha256(index);
    if (expected === undefined) {
      options.onCorrupt(index, `piece ${index} has no SHA-256 in the metadata`);
      return undefined;
    }
    // The hasher may transfer `stored`'s buffer: only `result.data` is used afterwards.
    const result = await options.hasher.digest(stored);
    const actual = toHex(result.digest);
    if (actual !== expected) {
      options.onCorrupt(index, `stored piece ${index} no longer matches its SHA-256 (${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…)`);
      return undefined;
    }
    return result.data;
  };
}

/**
 * Checks cached metadata text against its content ID (SHA-256 of its UTF-8 bytes, which are
 * the canonical bytes the server published) and parses it. Rejects with a TabswarmError of kind
 * 'metadata-hash-mismatch' or 'metadata-invalid'; the cached content must then be dropped.
 */
export async function verifyStoredMetadata(contentId: string, metadataJson: string, hasher: Hasher): Promise<Metadata> {
  const { digest, data } = await hasher.digest(new TextEncoder().encode(metadataJson));
  const actual = toHex(digest);
  if (actual !== contentId.toLowerCase()) {
    throw new TabswarmError('metadata-hash-mismatch', `cached metadata of ${contentId.slice(0, 12)}… hashes to ${actual.slice(0, 12)}…: it was changed in storage`);
  }
  const parsed = parseMetadata(data);
  if (!parsed.ok) throw new TabswarmError('metadata-invalid', `cached metadata of ${contentId.slice(0, 12)}… is malformed (${parsed.reason})`);
  return parsed.metadata;
}
