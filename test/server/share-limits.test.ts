/**
 * Classroom sharing within its limits. Join codes cannot be guessed (signaling/join-guard.ts,
 * join-codes.ts): lookups per address and failed lookups in total are bounded, an address that
 * never failed is still served while a distributed guesser is held, a malformed code is a 404,
 * never a 500, and a full table refuses a share rather than evict a code. Shares are capped in
 * size (`shareMaxMetadataBytes`).
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JoinGuard, RECENT_FAILURE_MS } from '../../signaling/join-guard.js';
import { createShareApi } from '../../signaling/share-api.js';
import { buildMetadata, encodeMetadata } from '../../src/protocol/metadata.js';
import { displayJoinCode } from '../../src/protocol/share.js';
import { makeTempDir, removeDir, startServer } from './helpers.js';

const config = { joinRatePerMinute: 6, joinBurst: 3, joinFailuresPerMinute: 5 };

describe('JoinGuard', () => {
  it('per address: the burst, one past it refused, a token back after its refill time', () => {
    let now = 0;
    const g = new JoinGuard({ ...config, joinFailuresPerMinute: 1000 }, () => now);
    for (let i = 0; i < 3; i++) expect(g.check('10.0.0.1').ok).toBe(true);
    const over = g.check('10.0.0.1');
    expect(over).toMatchObject({ ok: false, retryAfterS: 10 });
    expect(g.check('10.0.0.2').ok).toBe(true);
    now += 10_000; // 6 a minute: one every 10 s
    expect(g.check('10.0.0.1').ok).toBe(true);
    expect(g.check('10.0.0.1').ok).toBe(false);
  });

  it('in total: once the failure budget is spent, addresses that failed lately are refused, fresh ones still served', () => {
    let now = 0;
    const g = new JoinGuard(config, () => now);
    // Five guessers fail once each: the budget (5 a minute) is spent.
    for (let i = 0; i < 5; i++) {
      expect(g.check(`10.1.0.${i}`).ok).toBe(true);
      g.failed(`10.1.0.${i}`);
    }
    for (let i = 0; i < 5; i++) expect(g.check(`10.1.0.${i}`), `guesser ${i}`).toMatchObject({ ok: false, retryAfterS: 60 });
    // A pupil who never typed a wrong code is served; after a failure it waits like the rest.
    expect(g.check('10.2.0.1').ok).toBe(true);
    g.failed('10.2.0.1');
    expect(g.check('10.2.0.1').ok).toBe(false);
    // The budget refills (5 a minute): a guesser gets one more try per refilled token.
    now += 12_000;
    expect(g.check('10.1.0.0').ok).toBe(true);
    g.failed('10.1.0.0');
    expect(g.check('10.1.0.1').ok).toBe(false);
    // A failure long ago does not count.
    now += RECENT_FAILURE_MS;
    const g2 = new JoinGuard(config, () => now);
    for (let i = 0; i < 5; i++) g2.failed(`10.3.0.${i}`);
    now += RECENT_FAILURE_MS;
    expect(g2.check('10.3.0.0').ok).toBe(true);
  });
});

describe('join codes on the server', () => {
  it('a guesser is refused (429) past its burst, the teacher’s pupils are served, and `%` is a 404', async () => {
    const dir = await makeTempDir();
    const server = await startServer(join(dir, 'content'), { joinBurst: 5, joinRatePerMinute: 1, joinFailuresPerMinute: 1000 });
    try {
      const bytes = encodeMetadata(
        buildMetadata({ name: 'lesson.bin', mimeType: 'application/octet-stream', fileSize: 2, pieceSize: 1024 * 1024, fileSha256: 'a'.repeat(64), pieceSha256: ['b'.repeat(64)] }),
      );
      const shared = await fetch(`${server.url}/api/share`, { method: 'POST', body: Buffer.from(bytes) });
      expect(shared.status).toBe(201);
      const { joinCode } = (await shared.json()) as { joinCode: string };
      expect(joinCode).toMatch(/^[2-9A-HJKMNP-Z]{9}$/);
      // The test's client is one address: its burst of 5 lookups, wrong or right.
      const statuses: number[] = [];
      for (const path of ['/api/join/%', '/api/join/%zz', '/j/%', '/api/join/ZZZZZZZZZ', `/api/join/${displayJoinCode(joinCode)}`, '/api/join/ZZZZZZZZZ']) {
        statuses.push((await fetch(`${server.url}${path}`, { redirect: 'manual' })).status);
      }
      expect(statuses).toEqual([404, 404, 404, 404, 200, 429]);
      const refused = await fetch(`${server.url}/api/join/${joinCode}`);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await server.close();
      await removeDir(dir);
    }
  });

  it('refuses a share with 503 when the join-code table is full, and keeps every live code', async () => {
    const dir = await makeTempDir();
    const server = await startServer(join(dir, 'content'));
    // The share API alone, with a table of 2 codes, behind a plain HTTP server.
    const api = createShareApi({ contents: server.contents, config: server.config, logger: server.logger, maxJoinCodes: 2 });
    const http = createHttpServer((req, res) => void api.handle(req, res, (req.url ?? '/').split('?')[0]!));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const meta = (seed: number) =>
        Buffer.from(
          encodeMetadata(buildMetadata({ name: `l${seed}.bin`, mimeType: 'application/octet-stream', fileSize: 2, pieceSize: 1024 * 1024, fileSha256: String(seed).repeat(64).slice(0, 64), pieceSha256: ['b'.repeat(64)] })),
        );
      const codes: string[] = [];
      for (const seed of [1, 2]) {
        const r = await fetch(`${base}/api/share`, { method: 'POST', body: meta(seed) });
        expect(r.status).toBe(201);
        codes.push(((await r.json()) as { joinCode: string }).joinCode);
      }
      const full = await fetch(`${base}/api/share`, { method: 'POST', body: meta(3) });
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('300');
      for (const c of codes) expect((await fetch(`${base}/api/join/${c}`)).status).toBe(200);
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
      await server.close();
      await removeDir(dir);
    }
  });
});

describe('the share size cap', () => {
  it('accepts metadata of exactly `shareMaxMetadataBytes`, refuses one byte less of cap with 413 (declared or streamed)', async () => {
    const bytes = Buffer.from(
      encodeMetadata(buildMetadata({ name: 'cap.bin', mimeType: 'application/octet-stream', fileSize: 40 * 1024 * 1024, pieceSize: 1024 * 1024, fileSha256: 'c'.repeat(64), pieceSha256: Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(64, '0')) })),
    );
    const dir = await makeTempDir();
    const at = await startServer(join(dir, 'a'), { shareMaxMetadataBytes: bytes.byteLength });
    const under = await startServer(join(dir, 'b'), { shareMaxMetadataBytes: bytes.byteLength - 1 });
    try {
      expect((await fetch(`${at.url}/api/share`, { method: 'POST', body: bytes })).status).toBe(201);
      const declared = await fetch(`${under.url}/api/share`, { method: 'POST', body: bytes });
      expect(declared.status).toBe(413);
      expect(((await declared.json()) as { error: string }).error).toMatch(/over the \d+-byte limit/);
      // Chunked, with no Content-Length: counted as it streams.
      const streamed = await fetch(`${under.url}/api/share`, {
        method: 'POST',
        body: new ReadableStream({
          start(c) {
            c.enqueue(bytes.subarray(0, 100));
            c.enqueue(bytes.subarray(100));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
    } finally {
      await at.close();
      await under.close();
      await removeDir(dir);
    }
  });
});

describe('share quotas and expiry', () => {
  const meta = (seed: number, pieces = 1) =>
    Buffer.from(
      encodeMetadata(
        buildMetadata({ name: `q${seed}.bin`, mimeType: 'application/octet-stream', fileSize: pieces * 1024 * 1024, pieceSize: 1024 * 1024, fileSha256: seed.toString(16).padStart(64, '0'), pieceSha256: Array.from({ length: pieces }, () => 'd'.repeat(64)) }),
      ),
    );
  const post = (url: string, body: ReturnType<typeof meta>) => fetch(`${url}/api/share`, { method: 'POST', body });

  it('per address: the quota of shares, one past it 429, sharing the same bytes again free; in total: 503 past the count or the bytes', async () => {
    const dir = await makeTempDir();
    const perAddress = await startServer(join(dir, 'a'), { shareMaxPerAddress: 3, shareBurst: 100 });
    const total = await startServer(join(dir, 'b'), { shareMaxTotal: 2, shareBurst: 100 });
    const bytes = await startServer(join(dir, 'c'), { shareMaxTotalBytes: meta(1).byteLength + meta(2, 2).byteLength, shareBurst: 100 });
    try {
      for (const seed of [1, 2, 3]) expect((await post(perAddress.url, meta(seed))).status).toBe(201);
      const over = await post(perAddress.url, meta(4));
      expect(over.status).toBe(429);
      expect(((await over.json()) as { error: string }).error).toMatch(/at most 3 shares/);
      expect((await post(perAddress.url, meta(2))).status).toBe(201); // already here: no quota
      expect(perAddress.contents.sharedUsage().count).toBe(3);

      for (const seed of [1, 2]) expect((await post(total.url, meta(seed))).status).toBe(201);
      const full = await post(total.url, meta(3));
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('3600');

      expect((await post(bytes.url, meta(1))).status).toBe(201);
      expect((await post(bytes.url, meta(2, 2))).status).toBe(201);
      expect(bytes.contents.sharedUsage().bytes).toBe(meta(1).byteLength + meta(2, 2).byteLength);
      expect((await post(bytes.url, meta(3))).status).toBe(503);
    } finally {
      await perAddress.close();
      await total.close();
      await bytes.close();
      await removeDir(dir);
    }
  });

  it('deletes a share after its TTL (its metadata file and record), and that frees its quota; a restart keeps the age', async () => {
    const dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    const server = await startServer(contentDir, { shareTtlMs: 1500, shareMaxTotal: 1, shareBurst: 100 });
    try {
      const r = await post(server.url, meta(7));
      expect(r.status).toBe(201);
      const { contentId } = (await r.json()) as { contentId: string };
      expect((await fetch(`${server.url}/meta/${contentId}`)).status).toBe(200);
      expect((await post(server.url, meta(8))).status).toBe(503);
      // A restart within the TTL finds it on disk, with its age.
      const again = await startServer(contentDir, { shareTtlMs: 1500 });
      expect(again.contents.sharedUsage().count).toBe(1);
      await again.close();
      await new Promise((res) => setTimeout(res, 3000));
      expect(server.contents.sharedUsage()).toEqual({ count: 0, bytes: 0 });
      expect((await fetch(`${server.url}/meta/${contentId}`)).status).toBe(404);
      expect((await post(server.url, meta(8))).status).toBe(201);
    } finally {
      await server.close();
      await removeDir(dir);
    }
  });

  it('a sharer deletes its share with the secret it got (204); no secret, a wrong one or a later sharer of the same bytes cannot', async () => {
    const dir = await makeTempDir();
    const server = await startServer(join(dir, 'content'), { shareBurst: 100 });
    try {
      const made = await post(server.url, meta(9));
      expect(made.status).toBe(201);
      const { contentId, joinCode, deleteSecret } = (await made.json()) as { contentId: string; joinCode: string; deleteSecret?: string };
      expect(deleteSecret).toMatch(/^[0-9a-f]{64}$/);
      // Whoever shares the same bytes again gets a code, not the power to delete.
      const again = (await (await post(server.url, meta(9))).json()) as { deleteSecret?: string };
      expect(again.deleteSecret).toBeUndefined();
      const del = (auth?: string) => fetch(`${server.url}/api/share/${contentId}`, { method: 'DELETE', headers: auth === undefined ? {} : { Authorization: auth } });
      expect((await del()).status).toBe(403);
      expect((await del(`Bearer ${'0'.repeat(64)}`)).status).toBe(403);
      expect((await del(`Bearer ${deleteSecret}`)).status).toBe(204);
      expect((await fetch(`${server.url}/meta/${contentId}`)).status).toBe(404);
      expect((await fetch(`${server.url}/api/join/${joinCode}`)).status).toBe(404);
      expect(server.contents.sharedUsage()).toEqual({ count: 0, bytes: 0 });
      expect((await del(`Bearer ${deleteSecret}`)).status).toBe(404);
      expect((await fetch(`${server.url}/api/share/${'e'.repeat(64)}`, { method: 'DELETE' })).status).toBe(404);
      expect((await fetch(`${server.url}/api/share/${contentId}`)).status).toBe(405);
    } finally {
      await server.close();
      await removeDir(dir);
    }
  });
});
