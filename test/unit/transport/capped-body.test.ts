/**
 * Bodies read with a cap (src/transport/capped-body.ts), and the client's capped fetch that
 * uses it (fetch-bytes.ts): a declared length over the cap is refused before any byte is read,
 * a body with no length (or a wrong one) as soon as what came passes the cap.
 */
import { describe, expect, it } from 'vitest';
import { readCappedBody } from '../../../src/transport/capped-body.js';
import { createFetchBytes } from '../../../src/transport/fetch-bytes.js';

/** A streamed body of `chunks` chunks of 1,000 bytes, counting how many were pulled. */
function streamed(chunks: number): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled === chunks) return c.close();
      pulled++;
      c.enqueue(new Uint8Array(1000).fill(7));
    },
  });
  return { body, pulled: () => pulled };
}

describe('readCappedBody', () => {
  it('reads a body within the cap whole', async () => {
    expect(await readCappedBody(new Response('hello'), 5)).toEqual(new TextEncoder().encode('hello'));
    expect(await readCappedBody(new Response(streamed(3).body), 3000)).toHaveLength(3000);
  });

  it('refuses a declared length over the cap before reading the body', async () => {
    const s = streamed(100);
    expect(await readCappedBody(new Response(s.body, { headers: { 'content-length': '100000' } }), 5000)).toBeUndefined();
    expect(s.pulled()).toBeLessThanOrEqual(1);
  });

  it('stops reading a body with no length as soon as it passes the cap', async () => {
    const s = streamed(1_000_000); // a gigabyte, if it were read
    expect(await readCappedBody(new Response(s.body), 5000)).toBeUndefined();
    expect(s.pulled()).toBeLessThanOrEqual(8);
  });
});

describe('createFetchBytes', () => {
  it('refuses a body with no length past maxBytes without holding it', async () => {
    const s = streamed(1_000_000);
    const fetcher = createFetchBytes(async () => new Response(s.body));
    await expect(fetcher.getBytes('https://x.test/meta', 10_000)).rejects.toThrow(/over the 10000 byte limit/);
    expect(s.pulled()).toBeLessThanOrEqual(13);
    const ok = createFetchBytes(async () => new Response('{"a":1}'));
    expect(new TextDecoder().decode(await ok.getBytes('https://x.test/meta', 100))).toBe('{"a":1}');
  });
});
