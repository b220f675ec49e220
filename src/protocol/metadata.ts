/**
 * The content metadata ("hash file"), format version 1.
 *
 * The metadata is a UTF-8 JSON document. Its content ID is the SHA-256 of its exact bytes
 * as published, so parsing never needs to re-serialise it: a link carrying the content ID
 * certifies the metadata, and the metadata certifies every piece and the whole file.
 * docs/protocol.md documents every field.
 */
import { z } from 'zod';
import { boundedString } from './bounded-string.js';
import { LIMITS } from './limits.js';
import { SHA256_HEX } from './hex.js';

export const METADATA_FORMAT = 'tabswarm-metadata';
export const METADATA_VERSION = 1;
/** Default piece size: 1 MiB, as Delivery Optimization. */
export const DEFAULT_PIECE_SIZE = 1024 * 1024;

const sha256Hex = z.string().regex(SHA256_HEX, 'expected 64 lower-case hex characters');

const metadataSchema = z
  .object({
    format: z.literal(METADATA_FORMAT),
    version: z.literal(METADATA_VERSION),
    name: boundedString(LIMITS.maxNameLength, 1),
    mimeType: boundedString(LIMITS.maxMimeLength, 1),
    fileSize: z.number().int().min(0).max(LIMITS.maxFileSize),
    pieceSize: z
      .number()
      .int()
      .min(LIMITS.minPieceSize)
      .max(LIMITS.maxPieceSize)
      .refine((n) => (n & (n - 1)) === 0, 'pieceSize must be a power of two'),
    fileSha256: sha256Hex,
    pieceSha256: z.array(sha256Hex).max(LIMITS.maxPieces),
  })
  .strict()
  .superRefine((m, ctx) => {
    const expected = pieceCountOf(m.fileSize, m.pieceSize);
    if (m.pieceSha256.length !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['pieceSha256'],
        message: `expected ${expected} piece hashes for ${m.fileSize} bytes, got ${m.pieceSha256.length}`,
      });
    }
  });

/** Parsed, validated metadata. */
export type Metadata = z.infer<typeof metadataSchema>;

export function pieceCountOf(fileSize: number, pieceSize: number): number {
  return Math.ceil(fileSize / pieceSize);
}

/** Length in bytes of piece `index`: pieceSize for all but the last. */
export function pieceLength(meta: Pick<Metadata, 'fileSize' | 'pieceSize'>, index: number): number {
  const start = index * meta.pieceSize;
  return Math.max(0, Math.min(meta.pieceSize, meta.fileSize - start));
}

export type MetadataParseResult = { ok: true; metadata: Metadata } | { ok: false; reason: string };

/** Why `pieceSha256` of parsed JSON cannot be valid, found cheaply; undefined if it may be. */
function pieceListProblem(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || !('pieceSha256' in json)) return undefined;
  const list = (json as { pieceSha256: unknown }).pieceSha256;
  if (!Array.isArray(list)) return undefined; // the schema says what is wrong
  if (list.length > LIMITS.maxPieces) return `metadata invalid at pieceSha256: more than ${LIMITS.maxPieces} piece hashes`;
  for (let i = 0; i < list.length; i++) {
    const h: unknown = list[i];
    if (typeof h !== 'string' || !SHA256_HEX.test(h)) return `metadata invalid at pieceSha256.${i}: expected 64 lower-case hex characters`;
  }
  return undefined;
}

/** Parses metadata bytes. Never throws: malformed input yields `{ ok: false, reason }`. */
export function parseMetadata(bytes: Uint8Array): MetadataParseResult {
  if (bytes.byteLength > LIMITS.maxMetadataBytes) {
    return { ok: false, reason: `metadata is ${bytes.byteLength} bytes, over the ${LIMITS.maxMetadataBytes} limit` };
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, reason: 'metadata is not UTF-8 JSON' };
  }
  // The piece list first, by hand, stopping at its first bad entry: the schema would check
  // every entry and build an issue for each (2 MB of junk took 1.5 s and 500 MB).
  const early = pieceListProblem(json);
  if (early !== undefined) return { ok: false, reason: early };
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `metadata invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}` };
  }
  // One document, one reading: the bytes must be exactly what encodeMetadata writes, so no
  // duplicate key, other field order, spacing or number spelling can mean different things
  // to different parsers of the same content ID.
  const canonical = encodeMetadata(parsed.data);
  if (canonical.byteLength !== bytes.byteLength || canonical.some((b, i) => b !== bytes[i])) {
    return { ok: false, reason: 'metadata is not in canonical form (as encodeMetadata writes it)' };
  }
  return { ok: true, metadata: parsed.data };
}

/** Serialises metadata to the bytes whose SHA-256 is the content ID. */
export function encodeMetadata(meta: Metadata): Uint8Array {
  const ordered: Metadata = {
    format: meta.format,
    version: meta.version,
    name: meta.name,
    mimeType: meta.mimeType,
    fileSize: meta.fileSize,
    pieceSize: meta.pieceSize,
    fileSha256: meta.fileSha256,
    pieceSha256: meta.pieceSha256,
  };
  return new TextEncoder().encode(JSON.stringify(ordered) + '\n');
}

/** What a publisher measures of a file; `buildMetadata` adds the format and version. */
export interface MetadataFields {
  name: string;
  mimeType: string;
  fileSize: number;
  pieceSize: number;
  fileSha256: string;
  pieceSha256: string[];
}

/**
 * The metadata of a hashed file, as every publisher builds it (signaling/publish.ts on the
 * server, the share page in the browser); `encodeMetadata` of it gives the bytes whose
 * SHA-256 is the content ID. Not checked here: run the bytes through `parseMetadata`.
 */
export function buildMetadata(fields: MetadataFields): Metadata {
  return {
    format: METADATA_FORMAT,
    version: METADATA_VERSION,
    name: fields.name,
    mimeType: fields.mimeType,
    fileSize: fields.fileSize,
    pieceSize: fields.pieceSize,
    fileSha256: fields.fileSha256,
    pieceSha256: fields.pieceSha256,
  };
}

/**
 * The piece size for a file of `fileSize` bytes: the 1 MiB default, doubled while the file
 * would have more than `LIMITS.maxPieces` pieces (never past `LIMITS.maxPieceSize`).
 */
export function pieceSizeFor(fileSize: number): number {
  let size = DEFAULT_PIECE_SIZE;
  while (pieceCountOf(fileSize, size) > LIMITS.maxPieces && size < LIMITS.maxPieceSize) size *= 2;
  return size;
}
