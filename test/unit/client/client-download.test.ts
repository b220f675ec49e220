/**
 * src/client/client-download.ts on its own, over a real core Download on memory ports: the
 * events it forwards, progress at each stored piece, `done`, the hooks the client ties it with
 * (stored, completed, ended once, aborted), the file as a stream of its stored pieces in order,
 * abort by call or by signal, and saveTo() (the File System Access path) into a target that
 * works, one whose disk fills, and from a store that lost a piece.
 */
import { describe, expect, it } from 'vitest';
import { createClientDownload, type ClientDownloadHooks, type Progress } from '../../../src/client/client-download.js';
import { Download } from '../../../src/core/download.js';
import { isTabswarmError } from '../../../src/core/errors.js';
import { blobSlices, saveTo } from '../../../src/client/save-to.js';
import type { OpenedContent } from '../../../src/core/open-content.js';
import type { DownloadStatus } from '../../../src/core/status.js';
import { makeContent, type TestContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { MemoryStore } from '../../helpers/memory-store.js';
import { createNodeHasher } from '../../helpers/node-hasher.js';
import { newPeerId } from '../../helpers/sim-peer.js';

const PIECE = 32 * 1024;

function setUp(content: TestContent, signal?: AbortSignal, cdnLatencyMs = 1) {
  const store = new MemoryStore();
  const download = new Download({
    contentId: content.contentId,
    metadata: content.metadata,
    peerId: newPeerId(),
    cdnUrls: ['mem://cdn'],
    hasher: createNodeHasher(),
    store,
    http: new MemoryCdn(content.bytes, cdnLatencyMs),
  });
  const calls = { stored: [] as number[], completed: 0, ended: 0, aborted: 0 };
  const hooks: ClientDownloadHooks = {
    store: {
      get: (id, i) => store.get(id, i),
      assemble: async () => {
        throw new Error('not used here');
      },
    },
    signal,
    signaling: undefined,
    peeringOff: undefined,
    status: () => ({ FileId: content.contentId }) as DownloadStatus,
    ended: () => calls.ended++,
    stored: (bytes) => calls.stored.push(bytes),
    completed: () => calls.completed++,
    url: async () => 'https://example.test/swarm/x',
    setPlayer: () => undefined,
    aborted: () => calls.aborted++,
  };
  const opened: OpenedContent = { mode: 'verified', contentId: content.contentId, policy: {} as never, metadata: content.metadata, cdnUrls: ['mem://cdn'] };
  const cd = createClientDownload(download, opened, hooks);
  return { cd, calls, download, store };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

describe('createClientDownload', () => {
  it('reports progress at each stored piece, resolves done, calls each hook as it should, and streams the stored file in order', async () => {
    const content = makeContent(5 * PIECE + 17, 11, PIECE);
    const { cd, calls } = setUp(content);
    const progress: Progress[] = [];
    const pieces: number[] = [];
    cd.on('progress', (p) => progress.push(p));
    cd.on('piece', (p) => pieces.push(p.index));
    // Asked before completion: the stream waits for `done`; file() refuses.
    const stream = cd.stream();
    const early = await cd.file().catch((e: unknown) => e);
    expect(isTabswarmError(early) && early.kind).toBe('aborted');
    await cd.done;
    expect(pieces.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(calls.stored).toHaveLength(6);
    expect(calls.stored.at(-1)).toBe(content.bytes.byteLength);
    expect(calls.completed).toBe(1);
    expect(calls.ended).toBe(1);
    expect(calls.aborted).toBe(0);
    expect(progress.at(-1)).toMatchObject({ fileSize: content.bytes.byteLength, bytesDone: content.bytes.byteLength, bytesFromCdn: content.bytes.byteLength, state: 'complete' });
    expect(Buffer.from(await readAll(stream)).equals(Buffer.from(content.bytes))).toBe(true);
    expect(cd.status().FileId).toBe(content.contentId);
  });

  it('abort() stops the download: done rejects with kind aborted, the hooks hear it once', async () => {
    const content = makeContent(40 * PIECE, 12, PIECE);
    const { cd, calls, download } = setUp(content, undefined, 20);
    cd.abort();
    const err = await cd.done.catch((e: unknown) => e);
    expect(isTabswarmError(err) && err.kind).toBe('aborted');
    expect(download.state).toBe('stopped');
    expect(calls.aborted).toBe(1);
    expect(calls.ended).toBe(1);
    expect(calls.completed).toBe(0);
  });

  it('an AbortSignal aborts it as abort() does', async () => {
    const content = makeContent(40 * PIECE, 13, PIECE);
    const controller = new AbortController();
    const { cd, calls } = setUp(content, controller.signal, 20);
    controller.abort();
    const err = await cd.done.catch((e: unknown) => e);
    expect(isTabswarmError(err) && err.kind).toBe('aborted');
    expect(calls.aborted).toBe(1);
  });

  describe('saveTo', () => {
    /** A stand-in for FileSystemWritableFileStream that records what it is given. */
    function target(failOnWrite?: number) {
      const parts: Uint8Array[] = [];
      const log: string[] = [];
      return {
        parts,
        log,
        async write(data: Blob | Uint8Array) {
          log.push('write');
          if (parts.length + 1 === failOnWrite) throw new Error('There is not enough space on the disk.');
          parts.push(data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : data.slice());
        },
        close: async () => void log.push('close'),
        abort: async () => void log.push('abort'),
      };
    }

    it('writes the stored file into the target in order, a piece at a time, with progress, then closes it', async () => {
      const content = makeContent(5 * PIECE + 17, 14, PIECE);
      const { cd } = setUp(content);
      const early = await cd.saveTo(target()).catch((e: unknown) => e);
      expect(isTabswarmError(early) && early.kind).toBe('aborted');
      await cd.done;
      const t = target();
      const progress: number[] = [];
      await cd.saveTo(t, { onProgress: (written, size) => (expect(size).toBe(content.bytes.byteLength), progress.push(written)) });
      expect(t.log).toEqual([...Array(6).fill('write'), 'close']);
      expect(Buffer.concat(t.parts).equals(Buffer.from(content.bytes))).toBe(true);
      expect(progress).toEqual([1, 2, 3, 4, 5].map((n) => n * PIECE).concat(content.bytes.byteLength));
    });

    it('a write that fails aborts the target (never closed, so never looks saved) and rejects with save-failed', async () => {
      const content = makeContent(5 * PIECE, 15, PIECE);
      const { cd } = setUp(content);
      await cd.done;
      const t = target(3);
      const err = await cd.saveTo(t).catch((e: unknown) => e);
      expect(isTabswarmError(err) && err.kind).toBe('save-failed');
      expect((err as Error).message).toContain(`after ${2 * PIECE} of ${5 * PIECE} bytes`);
      expect((err as Error).message).toContain('not enough space');
      expect(t.log).toEqual(['write', 'write', 'write', 'abort']);
    });

    it('a signal aborted mid-save stops it before the next write and aborts the target', async () => {
      const content = makeContent(5 * PIECE, 17, PIECE);
      const { cd } = setUp(content);
      await cd.done;
      const t = target();
      const controller = new AbortController();
      const err = await cd.saveTo(t, { signal: controller.signal, onProgress: (written) => written >= 2 * PIECE && controller.abort() }).catch((e: unknown) => e);
      expect(isTabswarmError(err) && err.kind).toBe('save-failed');
      expect(isTabswarmError((err as Error).cause, 'aborted')).toBe(true);
      expect(t.log).toEqual(['write', 'write', 'abort']);
    });

    it('a piece missing from storage aborts the target and says which', async () => {
      const content = makeContent(5 * PIECE, 16, PIECE);
      const { cd, download, store } = setUp(content);
      await cd.done;
      store.pieces.delete(`${download.storageId}#2`);
      const t = target();
      const err = await cd.saveTo(t).catch((e: unknown) => e);
      expect(isTabswarmError(err) && err.kind).toBe('save-failed');
      expect((err as Error).message).toContain('piece 2');
      expect(t.log).toEqual(['write', 'write', 'abort']);
    });
  });
});

describe('saveTo from a disk-backed Blob (the OPFS path)', () => {
  it('hands the target slices of the Blob, not its bytes, and checks the length it was told', async () => {
    const bytes = new Uint8Array(10_000).map((_, i) => i * 7);
    const written: Blob[] = [];
    const log: string[] = [];
    const t = {
      write: async (d: Blob | Uint8Array) => void (expect(d).toBeInstanceOf(Blob), written.push(d as Blob), log.push('write')),
      close: async () => void log.push('close'),
      abort: async () => void log.push('abort'),
    };
    await saveTo(t, blobSlices(new Blob([bytes]), 4096), bytes.byteLength);
    expect(written.map((b) => b.size)).toEqual([4096, 4096, 1808]);
    expect(Buffer.from(await new Blob(written).arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    expect(log.at(-1)).toBe('close');

    // A store that holds fewer bytes than the metadata says: aborted, not closed.
    log.length = 0;
    const err = await saveTo(t, blobSlices(new Blob([bytes.subarray(0, 5000)]), 4096), bytes.byteLength).catch((e: unknown) => e);
    expect(isTabswarmError(err) && err.kind).toBe('save-failed');
    expect(log).toEqual(['write', 'write', 'abort']);
  });
});
