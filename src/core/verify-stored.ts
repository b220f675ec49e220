/**
 * Trust in what IndexedDB gives back. Pieces and metadata were verified before they were
 * stored, but the origin's IndexedDB can be changed afterwards by anything that runs in the
 * origin (another page of the site, an extension with access to it, a user with devtools) and,
 * rarely, by the disk. So nothing read back is taken on its word (docs/cache.md):
 *
 * - a stored piece is hashed again before it is served to a peer (PieceFile.read with the
 *   expected SHA-256, in the store's piece pass: core/download/serving.ts):
 *   a peer that receives a bad piece strikes and bans us, and our good name in the swarm is
 *   worth one SHA-256 per uploaded piece (~0.7 ms per MiB on the worker pool idle, ~2 ms on
 *   a loaded 2-core machine, test/e2e/cache.spec.ts; a piece takes ~35 ms to cross a data
 *   channel at 30 MB/s);
 * - cached metadata is hashed again against its content ID before a cached content is
 *   re-opened without the server (`verifyStoredMetadata`), exactly as fetched metadata is.
 *
 * Pieces handed to the user are covered by the whole-file SHA-256 already (the piece pass).
 * Pure: the hashing goes through the Hasher port.
 */
import { TabswarmError } from './errors.js';
import type { Hasher } from './ports.js';
import { toHex } from '../protocol/hex.js';
import { parseMetadata, type Metadata } from '../protocol/metadata.js';

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
