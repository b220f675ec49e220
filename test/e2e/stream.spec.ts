/**
 * Playing while downloading, in real Chromium: the Service Worker (src/sw/sw.ts) answers
 * `download.url()` from the page's verified pieces (src/client/stream-host.ts).
 * - Range requests through the worker get the answers the CDN origin gives (status,
 *   Content-Range, Content-Length, the body's SHA-256), whole file and edge cases alike;
 * - a range over pieces not downloaded yet is answered as they arrive, with the right bytes.
 */
import { expect, test } from '@playwright/test';
import { openPeer, startTestServer, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;

let swarm: TestSwarmServer;
test.beforeAll(async () => {
  swarm = await startTestServer(3 * MiB + 12_345, 1501);
});
test.afterAll(async () => {
  await swarm?.close();
});

interface Answer {
  status: number;
  contentRange: string | null;
  contentLength: string | null;
  acceptRanges: string | null;
  sha256: string;
  csp: string | null;
}

test('Range requests through the Service Worker get the CDN origin\'s answers', async ({ browser }) => {
  const a = await openPeer(browser, `${swarm.server.url}/?httpDelayMs=0#c=${swarm.contentId}`);
  await waitComplete(a.page);
  const size = swarm.fileSize;
  const ranges = [
    null,
    'bytes=0-',
    'bytes=0-0',
    'bytes=-500',
    'bytes=-0',
    'bytes=100-',
    `bytes=${size - 1}-`,
    `bytes=${size}-`,
    `bytes=${size + 5}-${size + 10}`,
    'bytes=5-2',
    'bytes=0-1,3-4',
    'bytes=0-1,2-3',
    'items=0-1',
    'bytes=abc',
    `bytes=${MiB - 10}-${2 * MiB + 10}`,
  ];
  const answers = await a.page.evaluate(async (ranges) => {
    const d = window.tabswarm.current()!;
    const swarmUrl = await d.url();
    const cdnUrl = await window.tabswarm.client.bypassUrl(d.content.contentId);
    const ask = async (url: string, range: string | null) => {
      const res = await fetch(url, { headers: range === null ? {} : { Range: range }, cache: 'no-store' });
      const body = new Uint8Array(await res.arrayBuffer());
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
      return {
        status: res.status,
        contentRange: res.headers.get('Content-Range'),
        contentLength: res.headers.get('Content-Length'),
        acceptRanges: res.headers.get('Accept-Ranges'),
        sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
        csp: res.headers.get('Content-Security-Policy'),
      };
    };
    const out: Array<{ range: string | null; swarm: Answer; cdn: Answer }> = [];
    for (const range of ranges) out.push({ range, swarm: await ask(swarmUrl, range), cdn: await ask(cdnUrl, range) });
    return { swarmUrl, out };
  }, ranges);
  expect(answers.swarmUrl).toBe(`${swarm.server.url}/swarm/${swarm.contentId}/e2e-1501.bin`);
  for (const { range, swarm: s, cdn: c } of answers.out) {
    // The worker answered (its answers carry its CSP), as the origin did.
    expect(s.csp, `${range}: answered by the worker`).toContain("default-src 'none'");
    expect({ status: s.status, contentRange: s.contentRange }, `Range: ${range}`).toEqual({ status: c.status, contentRange: c.contentRange });
    if (c.status !== 416) {
      expect({ contentLength: s.contentLength, acceptRanges: s.acceptRanges, sha256: s.sha256 }, `Range: ${range}`).toEqual({
        contentLength: c.contentLength,
        acceptRanges: c.acceptRanges,
        sha256: c.sha256,
      });
    }
  }
  const whole = answers.out[0]!.swarm;
  expect(whole.sha256).toBe(swarm.fileSha256);
  await a.context.close();
});

test('a range over pieces not downloaded yet is answered as they arrive, with the right bytes', async ({ browser }) => {
  // Slow CDN pacing keeps the file incomplete when the request is made.
  const a = await openPeer(browser, `${swarm.server.url}/?httpDelayMs=0&maxForegroundCdnBytesPerSec=1048576#c=${swarm.contentId}`);
  await a.page.waitForFunction(() => window.tabswarm.current() !== undefined);
  const got = await a.page.evaluate(async () => {
    const d = window.tabswarm.current()!;
    const url = await d.url();
    const before = d.download.have.cardinality;
    const res = await fetch(url, { headers: { Range: 'bytes=2097152-' }, cache: 'no-store' });
    const body = new Uint8Array(await res.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
    return { status: res.status, length: body.byteLength, before, pieceCount: d.download.pieceCount, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  });
  expect(got.status).toBe(206);
  expect(got.before, 'the file was not complete when asked').toBeLessThan(got.pieceCount);
  expect(got.length).toBe(swarm.fileSize - 2 * MiB);
  const expected = await a.page.evaluate(async () => {
    const d = window.tabswarm.current()!;
    await d.done;
    const bytes = new Uint8Array(await (await d.file()).slice(2 * 1024 * 1024).arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  });
  expect(got.sha256).toBe(expected);
  await a.context.close();
});
