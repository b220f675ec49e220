import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool } from '../../../src/core/buffer-pool.js';
import { isTabswarmError } from '../../../src/core/errors.js';
import { createFetchHttpRange } from '../../../src/transport/fetch-http-range.js';

/** 4 KiB of known bytes: byte i is i % 251. */
const FILE = Uint8Array.from({ length: 4096 }, (_, i) => i % 251);

/** Each path is one server behaviour; the Range header is parsed leniently on purpose. */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const start = Number(m?.[1] ?? 0);
  const end = Number(m?.[2] ?? FILE.length - 1) + 1;
  const slice = FILE.subarray(start, end);
  switch (req.url) {
    case '/good':
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/${FILE.length}` }).end(slice);
      return;
    case '/star':
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/*` }).end(slice);
      return;
    case '/ignores-range':
      res.writeHead(200).end(FILE);
      return;
    case '/wrong-content-range':
      res.writeHead(206, { 'Content-Range': `bytes ${start + 1}-${end}/${FILE.length}` }).end(FILE.subarray(start + 1, end + 1));
      return;
    case '/no-content-range':
      res.writeHead(206).end(slice);
      return;
    case '/short':
      // A correct header over a body one byte short (chunked, so no Content-Length to give it away).
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/${FILE.length}`, 'Transfer-Encoding': 'chunked' });
      res.end(slice.subarray(1));
      return;
    case '/long-chunked':
      // A correct header over a body one byte long (chunked: only reading finds it out).
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/${FILE.length}`, 'Transfer-Encoding': 'chunked' });
      res.end(Buffer.concat([slice, Buffer.from([0])]));
      return;
    case '/long-declared':
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/${FILE.length}`, 'Content-Length': String(slice.length + 1) });
      res.end(Buffer.concat([slice, Buffer.from([0])]));
      return;
    case '/404':
      res.writeHead(404).end('not found');
      return;
    case '/500':
      res.writeHead(500).end('boom');
      return;
    case '/slow':
      // Headers now, the body never: only an abort ends this request.
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/${FILE.length}`, 'Content-Length': String(slice.length) });
      res.write(slice.subarray(0, 1));
      return;
    case '/hang':
      return;
    default:
      res.writeHead(400).end();
  }
}

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const signal = () => new AbortController().signal;

async function cdnError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  expect(isTabswarmError(e, 'cdn-error')).toBe(true);
  return (e as Error).message;
}

describe.each([
  ['a new buffer per body', createFetchHttpRange()],
  ['bodies read into pooled buffers', createFetchHttpRange(fetch, { buffers: new BufferPool() })],
])('createFetchHttpRange, %s', (_, http) => {
  it('returns exactly the bytes of a good 206', async () => {
    const data = await http.get(`${base}/good`, 1000, 3000, signal());
    expect(data).toEqual(FILE.subarray(1000, 3000));
    expect(data.byteOffset).toBe(0);
    expect(data.byteLength).toBe(data.buffer.byteLength);
  });

  it('accepts a Content-Range with an unknown total', async () => {
    expect(await http.get(`${base}/star`, 5, 6, signal())).toEqual(FILE.subarray(5, 6));
  });

  it('accepts a 200 with the whole file for a range starting at 0', async () => {
    expect(await http.get(`${base}/ignores-range`, 0, FILE.length, signal())).toEqual(FILE);
  });

  it('rejects a 200 for a range not starting at 0', async () => {
    const message = await cdnError(http.get(`${base}/ignores-range`, 1024, 2048, signal()));
    expect(message).toContain(`${base}/ignores-range`);
    expect(message).toContain('HTTP 200');
  });

  it('rejects a 200 from 0 whose body is longer than the range', async () => {
    expect(await cdnError(http.get(`${base}/ignores-range`, 0, 1024, signal()))).toContain('HTTP 200');
  });

  it('rejects a wrong or missing Content-Range', async () => {
    expect(await cdnError(http.get(`${base}/wrong-content-range`, 0, 100, signal()))).toContain('Content-Range');
    expect(await cdnError(http.get(`${base}/no-content-range`, 0, 100, signal()))).toContain('Content-Range missing');
  });

  it('rejects a body of the wrong length', async () => {
    expect(await cdnError(http.get(`${base}/short`, 100, 200, signal()))).toContain('body is 99 bytes, expected 100');
    expect(await cdnError(http.get(`${base}/long-declared`, 100, 200, signal()))).toContain('Content-Length 101');
    expect(await cdnError(http.get(`${base}/long-chunked`, 100, 200, signal()))).toMatch(/body is (longer than the 100 bytes expected|101 bytes, expected 100)/);
  });

  it('rejects 404 and 500, naming the URL and status', async () => {
    const m404 = await cdnError(http.get(`${base}/404`, 0, 10, signal()));
    expect(m404).toContain(`${base}/404`);
    expect(m404).toContain('HTTP 404');
    expect(await cdnError(http.get(`${base}/500`, 0, 10, signal()))).toContain('HTTP 500');
  });

  it('rejects a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await cdnError(http.get(`http://127.0.0.1:${port}/x`, 0, 10, signal()))).toContain('network error');
  });

  it('rejects on abort, before the headers and during the body', async () => {
    const early = new AbortController();
    const p1 = http.get(`${base}/hang`, 0, 10, early.signal);
    setTimeout(() => early.abort(), 50);
    expect(await cdnError(p1)).toContain('aborted');

    const late = new AbortController();
    const p2 = http.get(`${base}/slow`, 0, 10, late.signal);
    setTimeout(() => late.abort(), 50);
    expect(await cdnError(p2)).toContain('aborted');

    expect(await cdnError(http.get(`${base}/good`, 0, 10, AbortSignal.abort()))).toContain('aborted');
  });

  it('sends the Range header for [start, end)', async () => {
    let seen: string | undefined;
    const spy: typeof fetch = async (input, init) => {
      seen = new Headers(init?.headers).get('Range') ?? undefined;
      return fetch(input, init);
    };
    await createFetchHttpRange(spy).get(`${base}/good`, 10, 20, signal());
    expect(seen).toBe('bytes=10-19');
  });
});

/** A fetch whose 206 (bytes 0-`last`) body is a plain stream of these chunks, not a byte stream. */
function chunkedFetch(chunks: Uint8Array[], last: number): typeof fetch {
  return async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const chunk of chunks) c.enqueue(chunk);
          c.close();
        },
      }),
      { status: 206, headers: { 'Content-Range': `bytes 0-${last}/${FILE.length}` } },
    );
}

describe('createFetchHttpRange with a BufferPool', () => {
  it('reads a body into a buffer handed back earlier, every byte overwritten', async () => {
    const buffers = new BufferPool();
    const http = createFetchHttpRange(fetch, { buffers });
    const first = await http.get(`${base}/good`, 0, 1024, signal());
    expect(first).toEqual(FILE.subarray(0, 1024));
    const stale = new ArrayBuffer(1024);
    new Uint8Array(stale).fill(0xee);
    buffers.give(stale);
    const second = await http.get(`${base}/good`, 1024, 2048, signal());
    expect(second).toEqual(FILE.subarray(1024, 2048));
    expect(buffers.reused).toBe(1);
  });

  it('copies the chunks of a body that is not a byte stream, and refuses one too long', async () => {
    const chunked = (chunks: Uint8Array[]) => chunkedFetch(chunks, 99);
    const pool = () => ({ buffers: new BufferPool() });
    const good = await createFetchHttpRange(chunked([FILE.subarray(0, 30), FILE.subarray(30, 100)]), pool()).get('http://cdn/x', 0, 100, signal());
    expect(good).toEqual(FILE.subarray(0, 100));
    const long = createFetchHttpRange(chunked([FILE.subarray(0, 60), FILE.subarray(60, 101)]), pool()).get('http://cdn/x', 0, 100, signal());
    expect(await cdnError(long)).toContain('longer than the 100 bytes expected');
    const short = createFetchHttpRange(chunked([FILE.subarray(0, 99)]), pool()).get('http://cdn/x', 0, 100, signal());
    expect(await cdnError(short)).toContain('body is 99 bytes, expected 100');
  });
});

describe('createFetchHttpRange: runs (openRun)', () => {
  const http = createFetchHttpRange(fetch, { buffers: new BufferPool() });

  it('reads a run of pieces in order from one request, and ends it cleanly', async () => {
    let requests = 0;
    const counting = createFetchHttpRange(async (input, init) => (requests++, fetch(input, init)));
    const run = await counting.openRun!(`${base}/good`, 100, 1100, signal());
    const parts = [await run.read(300), await run.read(300), await run.read(300), await run.read(100)];
    expect(requests).toBe(1);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(FILE.subarray(100, 1100)));
    // Past the range: a caller's mistake, refused.
    await expect(run.read(1)).rejects.toThrow(RangeError);
  });

  it('checks the headers as get does', async () => {
    expect(await cdnError(http.openRun!(`${base}/wrong-content-range`, 0, 100, signal()))).toContain('does not match bytes 0-99');
    expect(await cdnError(http.openRun!(`${base}/404`, 0, 100, signal()))).toContain('HTTP 404');
  });

  it('a body short of the run fails the read it ends in; one too long fails the last read', async () => {
    const short = await http.openRun!(`${base}/short`, 0, 1000, signal());
    expect(Buffer.from(await short.read(500))).toEqual(Buffer.from(FILE.subarray(1, 501)));
    expect(await cdnError(short.read(500))).toContain('body is 999 bytes, expected 1000');

    const long = await http.openRun!(`${base}/long-chunked`, 0, 1000, signal());
    await long.read(500);
    expect(await cdnError(long.read(500))).toContain('longer than the 1000 bytes expected');
  });

  it('carries a chunk over from one piece to the next when the body is not a byte stream', async () => {
    const chunks = [FILE.subarray(0, 70), FILE.subarray(70, 130), FILE.subarray(130, 200)];
    const run = await createFetchHttpRange(chunkedFetch(chunks, 199)).openRun!('http://cdn/x', 0, 200, signal());
    const parts = [await run.read(50), await run.read(50), await run.read(50), await run.read(50)];
    expect(Buffer.concat(parts)).toEqual(Buffer.from(FILE.subarray(0, 200)));
  });

  it('cancel() stops the request; an abort fails the read in progress', async () => {
    const controller = new AbortController();
    const run = await http.openRun!(`${base}/slow`, 0, 100, controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect(await cdnError(run.read(50))).toContain('aborted');
    const good = await http.openRun!(`${base}/good`, 0, 100, signal());
    good.cancel();
    await expect(good.read(50)).rejects.toThrow();
  });
});
