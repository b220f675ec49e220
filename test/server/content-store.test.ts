import { appendFile, mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMetadata } from '../../src/protocol/metadata.js';
import { demoNameFor, ensureDemoContent, loadContentStore, DEMO_SEED } from '../../signaling/content-store.js';
import { deterministicChunk } from '../../signaling/deterministic-content.js';
import { makeTempDir, publishDeterministic, removeDir, sha256Hex } from './helpers.js';

describe('content store', () => {
  let dir: string;
  let contentDir: string;
  beforeEach(async () => {
    dir = await makeTempDir();
    contentDir = join(dir, 'content');
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('loads nothing from a missing directory', async () => {
    const store = await loadContentStore(join(dir, 'nothing'));
    expect(store.size).toBe(0);
    expect(store.list()).toEqual([]);
  });

  it('loads valid content and skips bad entries', async () => {
    const good = await publishDeterministic(dir, contentDir, 100_000, 1, 'b-good.bin');
    const noFile = await publishDeterministic(dir, contentDir, 50_000, 2, 'a-no-file.bin');
    const shortFile = await publishDeterministic(dir, contentDir, 50_000, 3, 'short.bin');
    const tampered = await publishDeterministic(dir, contentDir, 50_000, 4, 'tampered.bin');
    await removeDir(noFile.filePath);
    await truncate(shortFile.filePath, 10);
    await appendFile(tampered.metaPath, ' ');
    // Well-hashed bytes that are not metadata, and a file name that is not an ID.
    const junk = new TextEncoder().encode('{"format":"nope"}');
    await writeFile(join(contentDir, 'meta', `${sha256Hex(junk)}.json`), junk);
    await writeFile(join(contentDir, 'meta', 'README.json'), '{}');

    const store = await loadContentStore(contentDir);
    expect(store.list()).toEqual([{ contentId: good.contentId, name: 'b-good.bin', mimeType: 'application/octet-stream', fileSize: 100_000 }]);
    const record = store.get(good.contentId);
    expect(record?.filePath).toBe(good.filePath);
    // The record keeps where the metadata is, not its bytes.
    expect(Buffer.from(await readFile(record!.metadataPath)).equals(Buffer.from(good.metadataBytes))).toBe(true);
    expect(record!.metadataSize).toBe(good.metadataBytes.byteLength);
    expect(Object.values(record!).some((v) => v instanceof Uint8Array)).toBe(false);
    for (const bad of [noFile, shortFile, tampered]) expect(await store.lookup(bad.contentId)).toBeUndefined();
  });

  it('finds content published after loading', async () => {
    const store = await loadContentStore(contentDir);
    const later = await publishDeterministic(dir, contentDir, 10_000, 5);
    expect(store.get(later.contentId)).toBeUndefined();
    expect((await store.lookup(later.contentId))?.name).toBe(later.metadata.name);
    const more = await publishDeterministic(dir, contentDir, 10_000, 6);
    await store.refresh();
    expect(store.list().map((c) => c.contentId)).toContain(more.contentId);
    expect(await store.lookup('not-an-id')).toBeUndefined();
  });

  it('sorts the catalog by name', async () => {
    await publishDeterministic(dir, contentDir, 1000, 1, 'zeta.bin');
    await publishDeterministic(dir, contentDir, 1000, 2, 'alpha.bin');
    const store = await loadContentStore(contentDir);
    expect(store.list().map((c) => c.name)).toEqual(['alpha.bin', 'zeta.bin']);
  });

  it('skips metadata re-serialised to other bytes (hash check)', async () => {
    const p = await publishDeterministic(dir, contentDir, 1000, 7);
    // Same JSON, different bytes: parses, but its hash is no longer the ID.
    const reencoded = Buffer.from(JSON.stringify(p.metadata, null, 2));
    await mkdir(join(contentDir, 'meta'), { recursive: true });
    await writeFile(p.metaPath, reencoded);
    expect(Buffer.from(encodeMetadata(p.metadata)).equals(reencoded)).toBe(false);
    expect((await loadContentStore(contentDir)).size).toBe(0);
  });
});

describe('ensureDemoContent', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('publishes a deterministic demo file into an empty directory, once', async () => {
    const contentDir = join(dir, 'content');
    const size = 1024 * 1024 + 17;
    const result = await ensureDemoContent(contentDir, size);
    expect(result?.metadata.name).toBe(demoNameFor(size));
    expect(result?.metadata.fileSha256).toBe(sha256Hex(deterministicChunk(DEMO_SEED, 0, size)));
    expect((await readdir(contentDir)).sort()).toEqual(['files', 'meta']); // temp file removed
    const store = await loadContentStore(contentDir);
    expect(store.list().map((c) => c.contentId)).toEqual([result?.contentId]);
    expect(await ensureDemoContent(contentDir, size)).toBeUndefined();
    expect(await ensureDemoContent(join(dir, 'other'), 0)).toBeUndefined();
  });

  it('names the demo by size', () => {
    expect(demoNameFor(64 * 1024 * 1024)).toBe('tabswarm-demo-64MiB.bin');
    expect(demoNameFor(3 * 1024)).toBe('tabswarm-demo-3KiB.bin');
    expect(demoNameFor(1000)).toBe('tabswarm-demo-1000B.bin');
  });
});
