/**
 * Publishing: hash a file into its metadata ("hash file") and place both in a content directory.
 *
 * Contract: after `publishFile` resolves, `<contentDir>/files/<contentId>` holds the exact bytes
 * that were hashed and `<contentDir>/meta/<contentId>.json` holds the exact metadata bytes, whose
 * SHA-256 is `contentId`. Both are written so that a reader (the running server) never sees a
 * partial file: the data file is placed before the metadata that announces it, and each is
 * renamed into place. Publishing the same file again changes nothing.
 *
 * The file is hard-linked into the content directory when possible (no copy for large files),
 * so it must not be modified in place afterwards: its published bytes would change, and every
 * client would reject them. Publish a copy if the original may change.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LIMITS } from '../src/protocol/limits.js';
import {
  DEFAULT_PIECE_SIZE,
  buildMetadata,
  encodeMetadata,
  parseMetadata,
  pieceCountOf,
  type Metadata,
} from '../src/protocol/metadata.js';
import { filePathOf, filesDirOf, metaDirOf, metaPathOf } from './content-paths.js';
import { mimeTypeFor } from './mime-types.js';

export interface PublishOptions {
  contentDir: string;
  /** Name shown to users and used for downloads. @default basename of the file */
  name?: string;
  /** @default guessed from the name's extension, else application/octet-stream */
  mimeType?: string;
  /** A power of two within LIMITS.minPieceSize..maxPieceSize. @default DEFAULT_PIECE_SIZE (1 MiB) */
  pieceSize?: number;
}

export interface PublishResult {
  contentId: string;
  metadata: Metadata;
  /** The exact metadata bytes; `sha256(metadataBytes) === contentId`. */
  metadataBytes: Uint8Array;
  /** Where the file and the metadata were placed. */
  filePath: string;
  metaPath: string;
}

export class PublishError extends Error {
  override name = 'PublishError';
}

export interface FileHashes {
  fileSize: number;
  fileSha256: string;
  pieceSha256: string[];
}

/**
 * SHA-256 of each `pieceSize` piece and of the whole stream, reading chunks of any size and
 * alignment (a read stream's chunks are not guaranteed to fall on piece boundaries).
 */
export async function hashPieces(chunks: AsyncIterable<Uint8Array>, pieceSize: number): Promise<FileHashes> {
  const whole = createHash('sha256');
  const pieceSha256: string[] = [];
  let piece: Hash | undefined;
  let inPiece = 0;
  let fileSize = 0;
  for await (const chunk of chunks) {
    whole.update(chunk);
    fileSize += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      piece ??= createHash('sha256');
      const n = Math.min(pieceSize - inPiece, chunk.length - pos);
      piece.update(chunk.subarray(pos, pos + n));
      inPiece += n;
      pos += n;
      if (inPiece === pieceSize) {
        pieceSha256.push(piece.digest('hex'));
        piece = undefined;
        inPiece = 0;
      }
    }
  }
  if (piece !== undefined) pieceSha256.push(piece.digest('hex'));
  return { fileSize, fileSha256: whole.digest('hex'), pieceSha256 };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkPieceSize(pieceSize: number): void {
  if (!Number.isInteger(pieceSize) || pieceSize < LIMITS.minPieceSize || pieceSize > LIMITS.maxPieceSize || (pieceSize & (pieceSize - 1)) !== 0) {
    throw new PublishError(
      `piece size must be a power of two from ${LIMITS.minPieceSize} to ${LIMITS.maxPieceSize} bytes, got ${pieceSize}`,
    );
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

async function sizeOrUndefined(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
}

/** Places `source` at `dest` (hard link, else a copy renamed into place) unless a file of `size` is already there. */
async function placeFile(source: string, dest: string, size: number): Promise<void> {
  const existing = await sizeOrUndefined(dest);
  if (existing === size) return;
  if (existing !== undefined) await unlink(dest); // a stale or truncated leftover
  try {
    await link(source, dest);
    return;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST' && (await sizeOrUndefined(dest)) === size) return; // a concurrent publish
  }
  await writeAtomically(dest, (tmp) => copyFile(source, tmp));
}

/** Writes `dest` through a temporary file renamed into place, so readers never see half a file. */
async function writeAtomically(dest: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(dest);
  try {
    await write(tmp);
    await rename(tmp, dest);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes `bytes` to `dest` through a temporary file unless `dest` already holds exactly them. */
async function placeBytes(bytes: Uint8Array, dest: string): Promise<void> {
  try {
    const current = await readFile(dest);
    if (Buffer.compare(current, bytes) === 0) return;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  await writeAtomically(dest, (tmp) => writeFile(tmp, bytes));
}

/** Hashes `filePath` and publishes it into `options.contentDir`. Idempotent. */
export async function publishFile(filePath: string, options: PublishOptions): Promise<PublishResult> {
  const pieceSize = options.pieceSize ?? DEFAULT_PIECE_SIZE;
  checkPieceSize(pieceSize);
  const name = options.name ?? basename(filePath);
  if (name.length < 1 || name.length > LIMITS.maxNameLength) {
    throw new PublishError(`name must be 1-${LIMITS.maxNameLength} characters, got ${name.length}`);
  }
  const mimeType = options.mimeType ?? mimeTypeFor(name);
  if (mimeType.length < 1 || mimeType.length > LIMITS.maxMimeLength) {
    throw new PublishError(`MIME type must be 1-${LIMITS.maxMimeLength} characters, got ${mimeType.length}`);
  }

  let before;
  try {
    before = await stat(filePath);
  } catch (err) {
    throw new PublishError(`cannot read ${filePath}: ${errnoCode(err) ?? String(err)}`);
  }
  if (!before.isFile()) throw new PublishError(`${filePath} is not a regular file`);
  if (before.size > LIMITS.maxFileSize) throw new PublishError(`${filePath} is ${before.size} bytes, over the ${LIMITS.maxFileSize}-byte limit`);
  if (pieceCountOf(before.size, pieceSize) > LIMITS.maxPieces) {
    throw new PublishError(`${filePath} would have more than ${LIMITS.maxPieces} pieces; use a larger piece size`);
  }

  const hashes = await hashPieces(createReadStream(filePath, { highWaterMark: pieceSize }), pieceSize);
  if (hashes.fileSize !== before.size) throw new PublishError(`${filePath} changed size while it was being hashed`);

  const metadata: Metadata = buildMetadata({
    name,
    mimeType,
    fileSize: hashes.fileSize,
    pieceSize,
    fileSha256: hashes.fileSha256,
    pieceSha256: hashes.pieceSha256,
  });
  const metadataBytes = encodeMetadata(metadata);
  const parsed = parseMetadata(metadataBytes);
  if (!parsed.ok) throw new PublishError(`built invalid metadata: ${parsed.reason}`); // our own bug
  const contentId = sha256Hex(metadataBytes);

  const { contentDir } = options;
  await mkdir(metaDirOf(contentDir), { recursive: true });
  await mkdir(filesDirOf(contentDir), { recursive: true });
  const storedPath = filePathOf(contentDir, contentId);
  const metaPath = metaPathOf(contentDir, contentId);

  await placeFile(filePath, storedPath, hashes.fileSize);
  const after = await stat(storedPath);
  if (after.size !== before.size || (after.ino === before.ino && after.mtimeMs !== before.mtimeMs)) {
    throw new PublishError(`${filePath} changed while it was being published; publish it again`);
  }
  await placeBytes(metadataBytes, metaPath);
  return { contentId, metadata: parsed.metadata, metadataBytes, filePath: storedPath, metaPath };
}
