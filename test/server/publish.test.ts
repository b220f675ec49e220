import { execFile } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PIECE_SIZE, METADATA_FORMAT, METADATA_VERSION, parseMetadata } from '../../src/protocol/metadata.js';
import { deterministicChunk, writeDeterministicFile } from '../../signaling/deterministic-content.js';
import { PublishError, hashPieces, publishFile } from '../../signaling/publish.js';
import { MiB, SMALL_SIZE, makeTempDir, removeDir, sha256Hex } from './helpers.js';

describe('publishFile', () => {
  let dir: string;
  let contentDir: string;
  beforeAll(async () => {
    dir = await makeTempDir();
    contentDir = join(dir, 'content');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('hashes each piece and the whole file as node:crypto does (short last piece)', async () => {
    const src = join(dir, 'small.bin');
    await writeDeterministicFile(src, SMALL_SIZE, 42);
    const bytes = deterministicChunk(42, 0, SMALL_SIZE);
    const { contentId, metadata, metadataBytes, filePath, metaPath } = await publishFile(src, { contentDir });

    expect(metadata.format).toBe(METADATA_FORMAT);
    expect(metadata.version).toBe(METADATA_VERSION);
    expect(metadata.name).toBe('small.bin');
    expect(metadata.mimeType).toBe('application/octet-stream');
    expect(metadata.fileSize).toBe(SMALL_SIZE);
    expect(metadata.pieceSize).toBe(DEFAULT_PIECE_SIZE);
    expect(metadata.fileSha256).toBe(sha256Hex(bytes));
    expect(metadata.pieceSha256).toHaveLength(4);
    for (let i = 0; i < 4; i++) {
      expect(metadata.pieceSha256[i]).toBe(sha256Hex(bytes.subarray(i * MiB, Math.min(SMALL_SIZE, (i + 1) * MiB))));
    }

    const onDisk = await readFile(metaPath);
    expect(metaPath).toBe(join(contentDir, 'meta', `${contentId}.json`));
    expect(sha256Hex(onDisk)).toBe(contentId);
    expect(onDisk.equals(Buffer.from(metadataBytes))).toBe(true);
    const parsed = parseMetadata(onDisk);
    expect(parsed.ok && parsed.metadata).toEqual(metadata);

    expect(filePath).toBe(join(contentDir, 'files', contentId));
    expect((await readFile(filePath)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('is idempotent', async () => {
    const src = join(dir, 'again.bin');
    await writeDeterministicFile(src, 200_000, 3);
    const first = await publishFile(src, { contentDir, name: 'again.bin' });
    const before = await stat(first.metaPath);
    const listing = await readdir(join(contentDir, 'meta'));
    const second = await publishFile(src, { contentDir, name: 'again.bin' });
    expect(second.contentId).toBe(first.contentId);
    expect(second.metadata).toEqual(first.metadata);
    expect((await stat(first.metaPath)).mtimeMs).toBe(before.mtimeMs); // not rewritten
    expect(await readdir(join(contentDir, 'meta'))).toEqual(listing);
    expect((await readdir(join(contentDir, 'files'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('handles a size that is not a multiple of a small piece size', async () => {
    const src = join(dir, 'odd.bin');
    const size = 100 * 1024 + 1;
    await writeDeterministicFile(src, size, 5);
    const bytes = deterministicChunk(5, 0, size);
    const pieceSize = 16 * 1024;
    const { metadata } = await publishFile(src, { contentDir, pieceSize });
    expect(metadata.pieceSize).toBe(pieceSize);
    expect(metadata.pieceSha256).toHaveLength(7);
    expect(metadata.pieceSha256[6]).toBe(sha256Hex(bytes.subarray(6 * pieceSize)));
    expect(metadata.pieceSha256[2]).toBe(sha256Hex(bytes.subarray(2 * pieceSize, 3 * pieceSize)));
  });

  it('publishes an empty file', async () => {
    const src = join(dir, 'empty.txt');
    await writeFile(src, '');
    const { contentId, metadata, filePath } = await publishFile(src, { contentDir });
    expect(metadata.fileSize).toBe(0);
    expect(metadata.pieceSha256).toEqual([]);
    expect(metadata.fileSha256).toBe(sha256Hex(new Uint8Array(0)));
    expect(metadata.mimeType).toBe('text/plain; charset=utf-8');
    expect((await stat(filePath)).size).toBe(0);
    expect(sha256Hex(await readFile(join(contentDir, 'meta', `${contentId}.json`)))).toBe(contentId);
  });

  it('takes name and MIME type from options, else guesses from the extension', async () => {
    const src = join(dir, 'clip.MP4');
    await writeDeterministicFile(src, 1000, 8);
    expect((await publishFile(src, { contentDir })).metadata.mimeType).toBe('video/mp4');
    const custom = await publishFile(src, { contentDir, name: 'Ünïcode name.iso', mimeType: 'application/x-custom' });
    expect(custom.metadata.name).toBe('Ünïcode name.iso');
    expect(custom.metadata.mimeType).toBe('application/x-custom');
  });

  it('rejects bad piece sizes, names and missing files', async () => {
    const src = join(dir, 'x.bin');
    await writeFile(src, 'x');
    await expect(publishFile(src, { contentDir, pieceSize: 1000 })).rejects.toThrow(PublishError);
    await expect(publishFile(src, { contentDir, pieceSize: 3 * 16 * 1024 })).rejects.toThrow(/power of two/);
    await expect(publishFile(src, { contentDir, name: '' })).rejects.toThrow(/name/);
    await expect(publishFile(join(dir, 'missing.bin'), { contentDir })).rejects.toThrow(/cannot read/);
    await expect(publishFile(dir, { contentDir })).rejects.toThrow(/not a regular file/);
  });
});

describe('hashPieces', () => {
  it('handles chunks that do not fall on piece boundaries', async () => {
    const pieceSize = 16 * 1024;
    const bytes = deterministicChunk(6, 0, 5 * pieceSize + 123);
    const sizes = [1, 7, 16 * 1024 - 8, 40_000, 3, 16 * 1024, 100_000];
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let off = 0;
      for (let i = 0; off < bytes.length; i++) {
        const n = sizes[i % sizes.length]!;
        yield bytes.subarray(off, off + n);
        off += n;
      }
    }
    const h = await hashPieces(chunks(), pieceSize);
    expect(h.fileSize).toBe(bytes.length);
    expect(h.fileSha256).toBe(sha256Hex(bytes));
    expect(h.pieceSha256).toEqual(
      Array.from({ length: 6 }, (_, i) => sha256Hex(bytes.subarray(i * pieceSize, (i + 1) * pieceSize))),
    );
  });
});

describe('tabswarm publish', () => {
  const run = promisify(execFile);
  const TSX = join('node_modules', '.bin', 'tsx');
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('prints the content ID and link, exit 0', async () => {
    const src = join(dir, 'cli.bin');
    await writeDeterministicFile(src, 50_000, 2);
    const contentDir = join(dir, 'content');
    const { stdout } = await run(TSX, ['signaling/bin.ts', 'publish', src, '--name', 'cli name.bin', '--piece-size', '16384', '--content-dir', contentDir], { timeout: 20_000 });
    const id = /content ID:\s+([0-9a-f]{64})/.exec(stdout)?.[1];
    expect(id).toBeDefined();
    expect(stdout).toContain(`/#c=${id}`);
    const meta = await readFile(join(contentDir, 'meta', `${id}.json`));
    expect(sha256Hex(meta)).toBe(id);
    const parsed = parseMetadata(meta);
    expect(parsed.ok && parsed.metadata.name).toBe('cli name.bin');
    expect(parsed.ok && parsed.metadata.pieceSize).toBe(16384);
  });

  it('fails with exit code 1 and a message, and 2 with the usage for a wrong command line', async () => {
    const err = await run(TSX, ['signaling/bin.ts', 'publish', join(dir, 'nope.bin'), '--content-dir', join(dir, 'c2')], { timeout: 20_000 }).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(1);
    expect((err as { stderr?: string }).stderr).toMatch(/publish: cannot read .*nope\.bin/);
    const usage = await run(TSX, ['signaling/bin.ts', 'publish'], { timeout: 20_000 }).catch((e: unknown) => e);
    expect((usage as { code?: number }).code, 'a wrong command line').toBe(2);
    expect((usage as { stderr?: string }).stderr).toMatch(/usage:/);
  });
});
