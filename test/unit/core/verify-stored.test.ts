import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTabswarmError } from '../../../src/core/errors.js';
import { verifyStoredMetadata } from '../../../src/core/verify-stored.js';
import { encodeMetadata, METADATA_FORMAT, METADATA_VERSION, type Metadata } from '../../../src/protocol/metadata.js';
import { createNodeHasher } from '../../helpers/node-hasher.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const pieces = [new Uint8Array(100).fill(1), new Uint8Array(100).fill(2), new Uint8Array(50).fill(3)];

describe('verifyStoredMetadata', () => {
  const metadata: Metadata = {
    format: METADATA_FORMAT,
    version: METADATA_VERSION,
    name: 'f.bin',
    mimeType: 'application/octet-stream',
    fileSize: 2 * 16384 + 5,
    pieceSize: 16384,
    fileSha256: 'a'.repeat(64),
    pieceSha256: pieces.map(sha),
  };
  const bytes = encodeMetadata(metadata);
  const text = new TextDecoder().decode(bytes);
  const contentId = sha(bytes);

  it('re-opens metadata that hashes to its content ID', async () => {
    expect(await verifyStoredMetadata(contentId, text, createNodeHasher())).toEqual(metadata);
  });

  it('refuses metadata changed in storage', async () => {
    const edited = text.replace('f.bin', 'g.bin');
    const e = await verifyStoredMetadata(contentId, edited, createNodeHasher()).catch((x: unknown) => x);
    expect(isTabswarmError(e, 'metadata-hash-mismatch')).toBe(true);
  });
});
