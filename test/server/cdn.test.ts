import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deterministicChunk } from '../../signaling/deterministic-content.js';
import type { PublishResult } from '../../signaling/publish.js';
import type { ServerHandle } from '../../signaling/server.js';
import { MiB, SMALL_SIZE, makeTempDir, publishDeterministic, removeDir, startServer, waitFor } from './helpers.js';

const SEED = 21;

describe('CDN origin', () => {
  let dir: string;
  let server: ServerHandle;
  let content: PublishResult;
  let big: PublishResult;
  let url: string;
  const bytes = deterministicChunk(SEED, 0, SMALL_SIZE);
  const slice = (start: number, end: number): Buffer => Buffer.from(bytes.subarray(start, end));

  beforeAll(async () => {
    dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    content = await publishDeterministic(dir, contentDir, SMALL_SIZE, SEED, 'päckage "v1".bin');
    big = await publishDeterministic(dir, contentDir, 32 * MiB, 22, 'big.bin');
    server = await startServer(contentDir);
    url = `${server.url}/cdn/${content.contentId}/${encodeURIComponent(content.metadata.name)}`;
  });
  beforeEach(() => {
    server.cdnLog.reset();
  });
  afterAll(async () => {
    await server?.close();
    await removeDir(dir);
  });

  async function expectLogged(n: number): Promise<void> {
    await waitFor(() => server.cdnLog.bytesFor(content.contentId) === n, 2000, `cdnLog == ${n}`).catch(() => undefined);
    expect(server.cdnLog.bytesFor(content.contentId)).toBe(n);
  }

  it('serves the whole file with its headers', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(slice(0, SMALL_SIZE))).toBe(true);
    expect(res.headers.get('content-length')).toBe(String(SMALL_SIZE));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('etag')).toBe(`"${content.contentId}"`);
    expect(res.headers.get('last-modified')).toBeTruthy();
    expect(res.headers.get('cache-control')).toContain('immutable');
    const disposition = res.headers.get('content-disposition') ?? '';
    expect(disposition).toContain(`filename*=UTF-8''${encodeURIComponent('päckage "v1".bin')}`);
    expect(disposition).toContain('filename="p_ckage _v1_.bin"');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    for (const h of ['Content-Range', 'Content-Length', 'ETag', 'Accept-Ranges']) {
      expect(res.headers.get('access-control-expose-headers')).toContain(h);
    }
    await expectLogged(SMALL_SIZE);
    expect(server.cdnLog.requestsFor(content.contentId)).toBe(1);
  });

  it('serves /cdn/<id> without a name too', async () => {
    const res = await fetch(`${server.url}/cdn/${content.contentId}`, { headers: { Range: 'bytes=0-0' } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(slice(0, 1))).toBe(true);
  });

  it('answers a single range with 206 and the exact bytes', async () => {
    const res = await fetch(url, { headers: { Range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 100-199/${SMALL_SIZE}`);
    expect(res.headers.get('content-length')).toBe('100');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(Buffer.from(await res.arrayBuffer()).equals(slice(100, 200))).toBe(true);
    await expectLogged(100);
  });

  it('answers piece-sized, open-ended and suffix ranges', async () => {
    const piece = await fetch(url, { headers: { Range: `bytes=${3 * MiB}-${4 * MiB - 1}` } }); // the short last piece
    expect(piece.status).toBe(206);
    expect(piece.headers.get('content-range')).toBe(`bytes ${3 * MiB}-${SMALL_SIZE - 1}/${SMALL_SIZE}`);
    expect(Buffer.from(await piece.arrayBuffer()).equals(slice(3 * MiB, SMALL_SIZE))).toBe(true);

    const open = await fetch(url, { headers: { Range: `bytes=${SMALL_SIZE - 1000}-` } });
    expect(open.status).toBe(206);
    expect(open.headers.get('content-range')).toBe(`bytes ${SMALL_SIZE - 1000}-${SMALL_SIZE - 1}/${SMALL_SIZE}`);
    expect(Buffer.from(await open.arrayBuffer()).equals(slice(SMALL_SIZE - 1000, SMALL_SIZE))).toBe(true);

    const suffix = await fetch(url, { headers: { Range: 'bytes=-500' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${SMALL_SIZE - 500}-${SMALL_SIZE - 1}/${SMALL_SIZE}`);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(slice(SMALL_SIZE - 500, SMALL_SIZE))).toBe(true);

    await expectLogged(SMALL_SIZE - 3 * MiB + 1000 + 500);
    expect(server.cdnLog.requestsFor(content.contentId)).toBe(3);
  });

  it('answers an unsatisfiable range with 416', async () => {
    const res = await fetch(url, { headers: { Range: `bytes=${SMALL_SIZE}-${SMALL_SIZE + 10}` } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${SMALL_SIZE}`);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    await res.arrayBuffer();
    await expectLogged(0);
  });

  it('honours If-None-Match and If-Range', async () => {
    const etag = `"${content.contentId}"`;
    // fetch() adds `Cache-Control: no-cache` to conditional requests unless one is given, and
    // `send` answers no-cache requests in full; a browser's own revalidation sends none.
    const notModified = await fetch(url, { headers: { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('access-control-allow-origin')).toBe('*');
    const lastModified = notModified.headers.get('last-modified') ?? '';
    const since = await fetch(url, { headers: { 'If-Modified-Since': lastModified, 'Cache-Control': 'max-age=0' } });
    expect(since.status).toBe(304);
    const other = await fetch(url, { headers: { 'If-None-Match': '"other"', Range: 'bytes=0-9' } });
    expect(other.status).toBe(206);
    const ifRange = await fetch(url, { headers: { 'If-Range': etag, Range: 'bytes=10-19' } });
    expect(ifRange.status).toBe(206);
    expect(Buffer.from(await ifRange.arrayBuffer()).equals(slice(10, 20))).toBe(true);
    const stale = await fetch(url, { headers: { 'If-Range': '"stale"', Range: 'bytes=10-19' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(SMALL_SIZE);
    await other.arrayBuffer();
    await expectLogged(10 + 10 + SMALL_SIZE);
  });

  it('answers HEAD without a body and counts no bytes', async () => {
    const res = await fetch(url, { method: 'HEAD', headers: { Range: 'bytes=0-99' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-length')).toBe('100');
    await expectLogged(0);
    expect(server.cdnLog.requestsFor(content.contentId)).toBe(1);
  });

  it('answers CORS preflight allowing Range', async () => {
    const res = await fetch(url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://elsewhere.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('range');
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(405);
  });

  it('answers 404 for unknown content and counts nothing', async () => {
    expect((await fetch(`${server.url}/cdn/${'0'.repeat(64)}/x`)).status).toBe(404);
    expect(server.cdnLog.totalRequests()).toBe(0);
  });

  it('logs per content, in totals and as JSON', async () => {
    await (await fetch(url, { headers: { Range: 'bytes=0-999' } })).arrayBuffer();
    await (await fetch(`${server.url}/cdn/${big.contentId}/big.bin`, { headers: { Range: 'bytes=0-4999' } })).arrayBuffer();
    await waitFor(() => server.cdnLog.totalBytes() === 6000);
    expect(server.cdnLog.bytesFor(big.contentId)).toBe(5000);
    const json = await (await fetch(`${server.url}/api/cdn-log`)).json();
    expect(json).toEqual({
      totalRequests: 2,
      totalBytes: 6000,
      contents: {
        [content.contentId]: { requests: 1, bytes: 1000, aborted: 0 },
        [big.contentId]: { requests: 1, bytes: 5000, aborted: 0 },
      },
    });
    expect(server.cdnLog.snapshot()).toEqual(json);
  });

  it('counts an aborted download as aborted, with fewer bytes than the file', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}/cdn/${big.contentId}/big.bin`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as { code?: string }).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    await waitFor(() => server.cdnLog.snapshot().contents[big.contentId]?.aborted === 1);
    const logged = server.cdnLog.bytesFor(big.contentId);
    expect(logged).toBeGreaterThan(0);
    expect(logged).toBeLessThan(32 * MiB);
  });
});

describe('CDN origin with a rate limit', () => {
  let dir: string;
  let server: ServerHandle;
  let content: PublishResult;

  beforeAll(async () => {
    dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    content = await publishDeterministic(dir, contentDir, 4 * MiB, 31, 'slow.bin');
    server = await startServer(contentDir, { cdnRateBytesPerSec: 2 * MiB });
  });
  afterAll(async () => {
    await server?.close();
    await removeDir(dir);
  });

  it('holds each response to the configured rate, with the right bytes', async () => {
    const url = `${server.url}/cdn/${content.contentId}/slow.bin`;
    const started = Date.now();
    const [a, b] = await Promise.all([
      fetch(url, { headers: { Range: `bytes=0-${2 * MiB - 1}` } }),
      fetch(url, { headers: { Range: `bytes=${2 * MiB}-${4 * MiB - 1}` } }),
    ]);
    const [ab, bb] = await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
    const seconds = (Date.now() - started) / 1000;
    expect(Buffer.from(ab).equals(Buffer.from(deterministicChunk(31, 0, 2 * MiB)))).toBe(true);
    expect(Buffer.from(bb).equals(Buffer.from(deterministicChunk(31, 2 * MiB, 2 * MiB)))).toBe(true);
    // 2 MiB per connection at 2 MiB/s: about a second each, in parallel (the limit is per connection).
    expect(seconds).toBeGreaterThan(0.85);
    expect(seconds).toBeLessThan(2.5);
  });
});
