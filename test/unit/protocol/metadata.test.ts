import { describe, expect, it } from 'vitest';
import { encodeMetadata, parseMetadata, pieceLength, type Metadata } from '../../../src/protocol/metadata.js';

const hash = 'a'.repeat(64);
const valid: Metadata = {
  format: 'tabswarm-metadata',
  version: 1,
  name: 'x.bin',
  mimeType: 'application/octet-stream',
  fileSize: 2.5 * 1024 * 1024,
  pieceSize: 1024 * 1024,
  fileSha256: hash,
  pieceSha256: [hash, hash, hash],
};
const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

describe('metadata', () => {
  it('round-trips and sizes pieces', () => {
    const parsed = parseMetadata(encodeMetadata(valid));
    expect(parsed).toEqual({ ok: true, metadata: valid });
    expect(pieceLength(valid, 0)).toBe(1024 * 1024);
    expect(pieceLength(valid, 2)).toBe(512 * 1024);
  });

  it.each([
    ['wrong piece count', { ...valid, pieceSha256: [hash, hash] }],
    ['short hash', { ...valid, fileSha256: 'abc' }],
    ['upper-case hash', { ...valid, pieceSha256: [hash, hash, 'A'.repeat(64)] }],
    ['piece size not a power of two', { ...valid, pieceSize: 1000 * 1000, pieceSha256: [hash, hash, hash] }],
    ['negative size', { ...valid, fileSize: -1 }],
    ['unknown version', { ...valid, version: 2 }],
    ['extra field', { ...valid, extra: 1 }],
    ['name too long', { ...valid, name: 'n'.repeat(256) }],
  ])('rejects %s', (_name, doc) => {
    const r = parseMetadata(bytes(doc));
    expect(r.ok).toBe(false);
  });

  it('rejects bytes that are not UTF-8 JSON', () => {
    expect(parseMetadata(new Uint8Array([0xff, 0xfe, 0x00]))).toEqual({ ok: false, reason: 'metadata is not UTF-8 JSON' });
    expect(parseMetadata(bytes('just a string')).ok).toBe(false);
  });
});
