/**
 * src/client/client-download.ts on its own, over a real core Download on memory ports: the
 * events it forwards, progress at each stored piece, `done`, the hooks the client ties it with
 * (stored, completed, ended once, aborted), the file as a stream of its stored pieces in order,
 * and abort by call or by signal.
 */
import { describe, expect, it } from 'vitest';
import { createClientDownload, type ClientDownloadHooks, type Progress } from '../../../src/client/client-download.js';
import { Download } from '../../../src/core/download.js';
import { isTabswarmError } from '../../../src/core/errors.js';
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
    aborted: () => calls.aborted++,
  };
  const opened: OpenedContent = { mode: 'verified', contentId: content.contentId, policy: {} as never, metadata: content.metadata, cdnUrls: ['mem://cdn'] };
  const cd = createClientDownload(download, opened, hooks);
  return { cd, calls, download };
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
});
