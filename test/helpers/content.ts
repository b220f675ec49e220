/** Deterministic test content and its metadata, built in memory for Node tests of the core. */
import { createHash } from 'node:crypto';
import { deterministicChunk } from '../../signaling/deterministic-content.js';
import { DEFAULT_PIECE_SIZE, encodeMetadata, pieceCountOf, type Metadata } from '../../src/protocol/metadata.js';

export interface TestContent {
  bytes: Uint8Array;
  metadata: Metadata;
  metadataBytes: Uint8Array;
  contentId: string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function makeContent(size: number, seed = 7, pieceSize = DEFAULT_PIECE_SIZE): TestContent {
  const bytes = deterministicChunk(seed, 0, size);
  const pieceSha256: string[] = [];
  for (let i = 0; i < pieceCountOf(size, pieceSize); i++) pieceSha256.push(sha256(bytes.subarray(i * pieceSize, (i + 1) * pieceSize)));
  const metadata: Metadata = {
    format: 'tabswarm-metadata',
    version: 1,
    name: `test-${seed}.bin`,
    mimeType: 'application/octet-stream',
    fileSize: size,
    pieceSize,
    fileSha256: sha256(bytes),
    pieceSha256,
  };
  const metadataBytes = encodeMetadata(metadata);
  return { bytes, metadata, metadataBytes, contentId: sha256(metadataBytes) };
}
