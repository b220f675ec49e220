/**
 * Classroom sharing on the server: POST /api/share (peer-only content from its metadata bytes),
 * join codes, the policy and CDN of peer-only content, and HTTPS (TLS auto and the user's files).
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { get as httpGet, request as httpRequest } from 'node:http';
import { get as httpsGet, request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { contentPolicySchema, catalogSchema } from '../../src/protocol/content-policy.js';
import { LIMITS } from '../../src/protocol/limits.js';
import { buildMetadata, encodeMetadata, pieceCountOf } from '../../src/protocol/metadata.js';
import { deterministicChunk } from '../../signaling/deterministic-content.js';
import { JOIN_CODE_ALPHABET, JoinCodes, normalizeJoinCode } from '../../signaling/join-codes.js';
import type { ServerHandle } from '../../signaling/server.js';
import { MiB, makeTempDir, publishDeterministic, removeDir, sha256Hex, startServer } from './helpers.js';

/** Metadata bytes of a deterministic file, built as the share page builds them. */
function metadataOf(size: number, seed: number, name = `shared-${seed}.bin`): { bytes: Uint8Array; contentId: string } {
  const pieceSize = MiB;
  const file = deterministicChunk(seed, 0, size);
  const pieceSha256 = Array.from({ length: pieceCountOf(size, pieceSize) }, (_, i) => sha256Hex(file.subarray(i * pieceSize, (i + 1) * pieceSize)));
  const bytes = encodeMetadata(buildMetadata({ name, mimeType: 'application/octet-stream', fileSize: size, pieceSize, fileSha256: sha256Hex(file), pieceSha256 }));
  return { bytes, contentId: sha256Hex(bytes) };
}

function postShare(server: ServerHandle, body: Uint8Array | string): Promise<Response> {
  return fetch(`${server.url}/api/share`, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers: { 'Content-Type': 'application/json' } });
}

const CODE_RE = new RegExp(`^[${JOIN_CODE_ALPHABET}]{9}$`);

describe('POST /api/share and join codes', () => {
  let dir: string;
  let contentDir: string;
  let server: ServerHandle;

  beforeAll(async () => {
    dir = await makeTempDir();
    contentDir = join(dir, 'content');
    await publishDeterministic(dir, contentDir, 1000, 2, 'published.bin');
    server = await startServer(contentDir, { joinCodeTtlMs: 60_000 });
  });
  afterAll(async () => {
    await server?.close();
    await removeDir(dir);
  });

  it('publishes peer-only content: content ID = SHA-256 of the bytes as sent, a join code, links', async () => {
    const { bytes, contentId } = metadataOf(3 * MiB + 5, 41);
    const res = await postShare(server, bytes);
    expect(res.status).toBe(201);
    const reply = (await res.json()) as { contentId: string; joinCode: string; groupId: string; link: string; shortLink: string; expiresAt: string };
    expect(reply.contentId).toBe(contentId);
    expect(reply.joinCode).toMatch(CODE_RE);
    expect(reply.groupId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(reply.link).toBe(`${server.url}/?downloadMode=group&groupId=${reply.groupId}#c=${contentId}`);
    expect(reply.shortLink).toBe(`${server.url}/j/${reply.joinCode}`);
    expect(Date.parse(reply.expiresAt) - Date.now()).toBeGreaterThan(50_000);

    // The policy names no CDN and allows peering; the metadata is served byte for byte.
    const policy = contentPolicySchema.parse(await (await fetch(`${server.url}/api/content/${contentId}`)).json());
    expect(policy.cdnUrls).toEqual([]);
    expect(policy.peering).toBe(true);
    expect(policy.metadataSha256).toBe(contentId);
    // No CDN and no peering would be content no one can get: the schema refuses it.
    expect(contentPolicySchema.safeParse({ ...policy, peering: false }).success).toBe(false);
    const meta = new Uint8Array(await (await fetch(`${server.url}/meta/${contentId}`)).arrayBuffer());
    expect(sha256Hex(meta)).toBe(contentId);
    // The server has no copy: the CDN says so.
    const cdn = await fetch(`${server.url}/cdn/${contentId}/shared-41.bin`, { headers: { Range: 'bytes=0-9' } });
    expect(cdn.status).toBe(404);
    expect(await cdn.text()).toMatch(/shared by peers only/);
    expect(server.cdnLog.bytesFor(contentId)).toBe(0);
    // Not in the public catalog; known to Discovery, so its swarm can form.
    const catalog = catalogSchema.parse(await (await fetch(`${server.url}/api/catalog`)).json());
    expect(catalog.contents.map((c) => c.contentId)).not.toContain(contentId);
    const discovery = await fetch(`${server.url}/api/discovery?contentId=${contentId}&mode=group&group=${reply.groupId}`);
    expect(discovery.status).toBe(200);

    // The join code resolves (as typed by people too), and /j/<code> redirects to the link.
    for (const typed of [reply.joinCode, reply.joinCode.toLowerCase(), `${reply.joinCode.slice(0, 3)}-${reply.joinCode.slice(3)}`]) {
      const join = await fetch(`${server.url}/api/join/${encodeURIComponent(typed)}`);
      expect(join.status).toBe(200);
      expect(await join.json()).toMatchObject({ contentId, groupId: reply.groupId, link: reply.link });
    }
    const redirect = await fetch(`${server.url}/j/${reply.joinCode}`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(`/?downloadMode=group&groupId=${reply.groupId}#c=${contentId}`);

    // Sharing the same file again gives a new code and group for the same content.
    const again = (await (await postShare(server, bytes)).json()) as { contentId: string; joinCode: string; groupId: string };
    expect(again.contentId).toBe(contentId);
    expect(again.joinCode).not.toBe(reply.joinCode);
    expect(again.groupId).not.toBe(reply.groupId);
  });

  it('rejects bad metadata with a clear error', async () => {
    const cases: Array<[string | Uint8Array, RegExp]> = [
      ['', /empty/],
      ['not json', /bad metadata: metadata is not UTF-8 JSON/],
      [JSON.stringify({ format: 'tabswarm-metadata' }), /bad metadata: metadata invalid at/],
      // Valid fields, but not in canonical form (spacing): another parser could read it differently.
      [new TextDecoder().decode(metadataOf(1000, 3).bytes).replace('{', '{ '), /canonical/],
    ];
    for (const [body, error] of cases) {
      const res = await postShare(server, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(error);
    }
  });

  it('refuses metadata over the size limit with 413, before reading it', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/api/share`, { method: 'POST', headers: { 'Content-Length': String(LIMITS.maxMetadataBytes + 1) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"format":"tabswarm-metadata"');
    });
    expect(status).toBe(413);
  });

  it('answers unknown join codes with 404, and only POST on /api/share', async () => {
    expect((await fetch(`${server.url}/api/join/ZZZZZZ`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/join/0OIL1x`)).status).toBe(404);
    const page = await fetch(`${server.url}/j/ZZZZZZ`, { redirect: 'manual' });
    expect(page.status).toBe(404);
    expect(await page.text()).toMatch(/unknown or has expired/);
    expect((await fetch(`${server.url}/api/share`)).status).toBe(405);
  });

  it('keeps shared content across a restart (the join codes are forgotten)', async () => {
    const { bytes, contentId } = metadataOf(2000, 44);
    expect((await postShare(server, bytes)).status).toBe(201);
    const other = await startServer(contentDir);
    try {
      const policy = contentPolicySchema.parse(await (await fetch(`${other.url}/api/content/${contentId}`)).json());
      expect(policy.cdnUrls).toEqual([]);
      expect(other.contents.list().map((c) => c.name)).toEqual(['published.bin']);
    } finally {
      await other.close();
    }
  });
});

describe('join codes', () => {
  it('are 9 unambiguous characters, resolve as typed, and expire', () => {
    let now = 1_000;
    const codes = new JoinCodes({ ttlMs: 24 * 3600_000, now: () => now });
    const e = codes.create('a'.repeat(64), 'class-1')!;
    expect(e.code).toMatch(CODE_RE);
    expect(e.code).not.toMatch(/[01ILO]/);
    expect(normalizeJoinCode(` ${e.code.toLowerCase()} `)).toBe(e.code);
    expect(codes.resolve(e.code)).toMatchObject({ contentId: 'a'.repeat(64), groupId: 'class-1' });
    now += 24 * 3600_000 - 1;
    expect(codes.resolve(e.code)).toBeDefined();
    now += 1;
    expect(codes.resolve(e.code)).toBeUndefined();
    // The table is bounded, and full it makes no code rather than drop a live one; expired
    // ones are swept as new ones come.
    const small = new JoinCodes({ ttlMs: 10, maxCodes: 3, now: () => now });
    const made = Array.from({ length: 3 }, (_, i) => small.create('b'.repeat(64), `g${i}`)!);
    expect(small.hasRoom()).toBe(false);
    expect(small.create('b'.repeat(64), 'g3')).toBeUndefined();
    expect(small.size).toBe(3);
    for (const m of made) expect(small.resolve(m.code)).toBeDefined();
    now += 10;
    expect(small.create('b'.repeat(64), 'g4')).toBeDefined();
    expect(small.size).toBe(1);
  });

  it('expire on the server too', async () => {
    const dir = await makeTempDir();
    const server = await startServer(join(dir, 'content'), { joinCodeTtlMs: 150 });
    try {
      const reply = (await (await postShare(server, metadataOf(1000, 45).bytes)).json()) as { joinCode: string };
      expect((await fetch(`${server.url}/api/join/${reply.joinCode}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 250));
      expect((await fetch(`${server.url}/api/join/${reply.joinCode}`)).status).toBe(404);
    } finally {
      await server.close();
      await removeDir(dir);
    }
  });
});

describe('share rate limit', () => {
  it('refuses more shares than the burst from one address with 429', async () => {
    const dir = await makeTempDir();
    const server = await startServer(join(dir, 'content'), { shareBurst: 2, shareRatePerMinute: 1 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await postShare(server, metadataOf(1000, 50 + i).bytes)).status);
      expect(statuses).toEqual([201, 201, 429, 429]);
      // Rate-limited before the body is read or stored.
      expect(server.contents.get(metadataOf(1000, 52).contentId)).toBeUndefined();
    } finally {
      await server.close();
      await removeDir(dir);
    }
  });
});

/** GET over https trusting exactly `ca`: succeeds only if the certificate covers the host. */
function httpsText(url: string, ca: string): Promise<{ status: number; body: string; bytes: number; fingerprint256: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca }, (res) => {
      const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: bytes.toString('utf8'), bytes: bytes.length, fingerprint256 });
      });
    }).on('error', reject);
  });
}

describe('HTTPS', () => {
  it('TLS auto: serves https, wss and the CDN with a certificate for 127.0.0.1 that stays across restarts', async () => {
    const dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    const published = await publishDeterministic(dir, contentDir, 3000, 7, 'tls.bin');
    const server = await startServer(contentDir, { tlsAuto: true });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(server.tls?.source).toBe('auto');
      expect(server.tls?.altNames).toEqual(expect.arrayContaining(['DNS:localhost', 'IP Address:127.0.0.1']));
      const ca = server.tls!.cert;
      // Verified against the certificate itself as the only CA: its names must cover 127.0.0.1.
      const catalog = await httpsText(`${server.url}/api/catalog`, ca);
      expect(catalog.status).toBe(200);
      expect(JSON.parse(catalog.body)).toMatchObject({ contents: [{ contentId: published.contentId }] });
      expect(catalog.fingerprint256).toBe(server.tls!.fingerprint256);
      expect((await httpsText(`${server.url}/cdn/${published.contentId}/tls.bin`, ca)).bytes).toBe(3000);
      // A share over https gets https links.
      const shared = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${server.url}/api/share`, { method: 'POST', ca }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end(Buffer.from(metadataOf(1000, 60).bytes));
      });
      expect(JSON.parse(shared)).toMatchObject({ link: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/\?downloadMode=group/) });
      // The Arrays service over wss on the same port.
      const ws = new WebSocket(server.arraysUrl, { ca });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect(server.arraysUrl).toMatch(/^wss:/);
      ws.close();
      // Plain HTTP on the same port is redirected to https.
      const redirect = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
        httpGet(`http://127.0.0.1:${server.port}/share.html?x=1`, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        }).on('error', reject);
      });
      expect(redirect).toEqual({ status: 308, location: `https://127.0.0.1:${server.port}/share.html?x=1` });
    } finally {
      await server.close();
    }
    // Restarted: the cached certificate is reused, so devices that accepted it keep trusting it.
    const again = await startServer(contentDir, { tlsAuto: true });
    try {
      const first = await readFile(join(contentDir, 'tls', 'auto-cert.pem'), 'utf8');
      expect(again.tls?.fingerprint256).toBe(new X509Certificate(first).fingerprint256);
      expect((await httpsText(`${again.url}/api/health`, again.tls!.cert)).status).toBe(200);
    } finally {
      await again.close();
    }
    // The user's own PEM files serve as well; a key that does not fit stops the start.
    const certFile = join(contentDir, 'tls', 'auto-cert.pem');
    const keyFile = join(contentDir, 'tls', 'auto-key.pem');
    const own = await startServer(join(dir, 'other'), { tlsCertFile: certFile, tlsKeyFile: keyFile });
    try {
      expect(own.tls?.source).toBe('files');
      expect((await httpsText(`${own.url}/api/health`, own.tls!.cert)).status).toBe(200);
    } finally {
      await own.close();
    }
    await expect(startServer(join(dir, 'other'), { tlsCertFile: certFile, tlsKeyFile: certFile })).rejects.toThrow(/TABSWARM_TLS_KEY/);
    await removeDir(dir);
  }, 60_000);
});
