/**
 * The simulated file (issue 18): `pieceCount` pieces of `pieceBytes` actual bytes each (the
 * smallest piece the metadata allows, 16 KiB, stands for a 1 MiB piece: sim-network.ts's
 * byte scale), deterministic from a seed, with its real metadata: every piece is hashed and
 * verified by the core as any other.
 */
import { createHash } from 'node:crypto';
import { deterministicChunk } from '../signaling/deterministic-content.js';
import { encodeMetadata, type Metadata } from '../src/protocol/metadata.js';

export interface SimContent {
  contentId: string;
  metadata: Metadata;
  /** The whole file's actual bytes (pieceCount × pieceBytes: 4 MiB for 256 pieces). */
  bytes: Uint8Array;
  piece(index: number): Uint8Array;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function makeSimContent(pieceCount: number, pieceBytes: number, seed: number): SimContent {
  const bytes = deterministicChunk(seed, 0, pieceCount * pieceBytes);
  const piece = (i: number) => bytes.subarray(i * pieceBytes, (i + 1) * pieceBytes);
  const metadata: Metadata = {
    format: 'tabswarm-metadata',
    version: 1,
    name: `sim-${seed}.bin`,
    mimeType: 'application/octet-stream',
    fileSize: bytes.byteLength,
    pieceSize: pieceBytes,
    fileSha256: sha256(bytes),
    pieceSha256: Array.from({ length: pieceCount }, (_, i) => sha256(piece(i))),
  };
  return { contentId: sha256(encodeMetadata(metadata)), metadata, bytes, piece };
}
