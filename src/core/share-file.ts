/**
 * Sharing a local file with a class (the share page, `client.share`): the file is hashed piece
 * by piece in the worker pool, its metadata (as signaling/publish.ts builds it) is published to
 * the server through a port (POST /api/share), and its pieces are written to the piece store
 * under the content ID, where a download of that content finds them all and seeds them. No
 * copy of the file goes to the server. The reply is checked: it must name this file's content.
 */
import { hashFile, storePieces } from './hash-file.js';
import { openPieceFile } from './piece-file.js';
import type { Hasher, PieceStore } from './ports.js';
import { toHex } from '../protocol/hex.js';
import { LIMITS } from '../protocol/limits.js';
import { buildMetadata, encodeMetadata, parseMetadata, pieceSizeFor } from '../protocol/metadata.js';
import type { ShareReply } from '../protocol/share.js';

export type SharePhase = 'hashing' | 'publishing' | 'storing';

export interface ShareFileOptions {
  /** Default: the file's own (if it has one), cut to the metadata's limit. */
  name?: string;
  mimeType?: string;
  /** After each piece of a phase, and once as publishing starts (0 of the size). */
  onProgress?: (phase: SharePhase, bytesDone: number, fileSize: number) => void;
  /** The server accepted the share: its link and join code can be shown before the pieces are stored. */
  onPublished?: (reply: ShareReply) => void;
  signal?: AbortSignal;
}

export interface ShareFileDeps {
  hasher: Hasher;
  store: PieceStore;
  /** Publishes the metadata's bytes; resolves with the server's parsed reply (transport/share-api.ts). */
  publish: (metadata: Uint8Array) => Promise<ShareReply>;
}

/** Hashes, publishes and stores `file`; resolves with the server's reply once every piece is stored. */
export async function shareFile(file: Blob & { name?: string }, deps: ShareFileDeps, options: ShareFileOptions = {}): Promise<ShareReply> {
  if (file.size === 0) throw new Error('the file is empty: there is nothing to share');
  if (file.size > LIMITS.maxFileSize) throw new Error(`the file is ${file.size} bytes, over the ${LIMITS.maxFileSize}-byte limit`);
  const name = (options.name ?? (file.name || 'shared-file.bin')).slice(0, LIMITS.maxNameLength);
  const mimeType = (options.mimeType ?? (file.type || 'application/octet-stream')).slice(0, LIMITS.maxMimeLength);
  const pieceSize = pieceSizeFor(file.size);
  const progress = (phase: SharePhase) => (done: number) => options.onProgress?.(phase, done, file.size);

  // 1. Hash every piece and the whole file, in the workers.
  const hashes = await hashFile(file, pieceSize, deps.hasher, progress('hashing'), options.signal);
  const metadataBytes = encodeMetadata(buildMetadata({ name, mimeType, fileSize: hashes.fileSize, pieceSize, fileSha256: hashes.fileSha256, pieceSha256: hashes.pieceSha256 }));
  const checked = parseMetadata(metadataBytes);
  if (!checked.ok) throw new Error(`built invalid metadata: ${checked.reason}`);
  const contentId = toHex((await deps.hasher.digest(metadataBytes.slice())).digest);

  // 2. Publish the metadata; the server answers with the link and the join code.
  options.signal?.throwIfAborted();
  progress('publishing')(0);
  const reply = await deps.publish(metadataBytes);
  if (reply.contentId !== contentId) throw new Error(`the server names content ${reply.contentId.slice(0, 12)}…, but this file's is ${contentId.slice(0, 12)}…`);
  options.onPublished?.(reply);

  // 3. Keep the pieces where a download finds them.
  const layout = { pieceCount: hashes.pieceSha256.length, pieceSize, fileSize: hashes.fileSize };
  const pieces = await openPieceFile(deps.store, deps.hasher, contentId, layout);
  try {
    await storePieces(file, pieceSize, pieces, hashes.pieceSha256, progress('storing'), options.signal);
    // The pass hashed the file again as it stored it; this also records every piece as held
    // before the seeding download opens the content.
    const stored = await pieces.fileSha256();
    if (stored !== hashes.fileSha256) throw new Error(`the file changed while it was shared: its SHA-256 is now ${stored.slice(0, 12)}…`);
  } finally {
    pieces.close();
  }
  return reply;
}
