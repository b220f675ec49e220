import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTabswarmError } from '../../../src/core/errors.js';
import { verifiedPieceReader, verifyStoredMetadata } from '../../../src/core/verify-stored.js';
import { encodeMetadata, METADATA_FORMAT, METADATA_VERSION, type Metadata } from '../../../src/protocol/metadata.js';
import { createNodeHasher } from '../../helpers/node-hasher.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const pieces = [new Uint8Array(100).fill(1), new Uint8Array(100).fill(2), new Uint8Array(50).fill(3)];

describe('verifiedPieceReader', () => {
  function setup(stored: Map<number, Uint8Array>) {
    const corrupt: Array<[number, string]> = [];
    const hasher = createNodeHasher();
    const read = verifiedPieceReader({
      read: async (i) => stored.get(i),
      hasher,
      expectedSha256: (i) => (pieces[i] ? sha(pieces[i]) : undefined),
      onCorrupt: (i, reason) => corrupt.push([i, reason]),
    });
    return { read, corrupt, hasher };
  }

  it('serves stored pieces that still match, hashing each read', async () => {
    const { read, corrupt, hasher } = setup(new Map(pieces.map((p, i) => [i, p.slice()])));
    expect(await read(1)).toEqual(pieces[1]);
    expect(await read(2)).toEqual(pieces[2]);
    expect(hasher.digests).toBe(2);
    expect(corrupt).toEqual([]);
  });

  it('withholds a piece changed in storage and reports it', async () => {
    const changed = pieces[0]!.slice();
    changed[7]! ^= 0xff;
    const { read, corrupt } = setup(new Map([[0, changed]]));
    expect(await read(0)).toBeUndefined();
    expect(corrupt).toHaveLength(1);
    expect(corrupt[0]![0]).toBe(0);
    expect(corrupt[0]![1]).toMatch(/no longer matches its SHA-256/);
  });

  it('passes a missing piece through as undefined without calling it corrupt', async () => {
    const { read, corrupt } = setup(new Map());
    expect(await read(1)).toBeUndefined();
    expect(corrupt).toEqual([]);
  });
});

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
