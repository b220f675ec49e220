import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogSchema, contentPolicySchema } from '../../src/protocol/content-policy.js';
import { parseMetadata } from '../../src/protocol/metadata.js';
import type { PublishResult } from '../../signaling/publish.js';
import type { ServerHandle } from '../../signaling/server.js';
import { SMALL_SIZE, makeTempDir, publishDeterministic, removeDir, sha256Hex, startServer } from './helpers.js';

const UNKNOWN_ID = 'f'.repeat(64);

describe('HTTP API', () => {
  let dir: string;
  let server: ServerHandle;
  let a: PublishResult;
  let b: PublishResult;

  beforeAll(async () => {
    dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    a = await publishDeterministic(dir, contentDir, SMALL_SIZE, 1, 'alpha file.bin');
    b = await publishDeterministic(dir, contentDir, 1000, 2, 'beta.bin');
    server = await startServer(contentDir);
  });
  afterAll(async () => {
    await server?.close();
    await removeDir(dir);
  });

  it('serves the catalog', async () => {
    const res = await fetch(`${server.url}/api/catalog`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const catalog = catalogSchema.parse(await res.json());
    expect(catalog.contents).toEqual([
      { contentId: a.contentId, name: 'alpha file.bin', mimeType: 'application/octet-stream', fileSize: SMALL_SIZE },
      { contentId: b.contentId, name: 'beta.bin', mimeType: 'application/octet-stream', fileSize: 1000 },
    ]);
  });

  it('lists content published while running', async () => {
    const c = await publishDeterministic(dir, server.contents.contentDir, 500, 3, 'gamma.bin');
    const catalog = catalogSchema.parse(await (await fetch(`${server.url}/api/catalog`)).json());
    expect(catalog.contents.map((e) => e.contentId)).toContain(c.contentId);
  });

  it('serves the content policy', async () => {
    const res = await fetch(`${server.url}/api/content/${a.contentId}`);
    expect(res.status).toBe(200);
    const policy = contentPolicySchema.parse(await res.json());
    expect(policy).toEqual({
      contentId: a.contentId,
      metadataUrl: `/meta/${a.contentId}`,
      metadataSha256: a.contentId,
      cdnUrls: [`/cdn/${a.contentId}/alpha%20file.bin`],
      peering: true,
      name: 'alpha file.bin',
      fileSize: SMALL_SIZE,
    });
    // The CDN URL works relative to the server.
    const head = await fetch(`${server.url}${policy.cdnUrls[0]}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(SMALL_SIZE));
  });

  it('serves the exact metadata bytes, content-addressed', async () => {
    const res = await fetch(`${server.url}/meta/${a.contentId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('etag')).toBe(`"${a.contentId}"`);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(sha256Hex(bytes)).toBe(a.contentId);
    expect(parseMetadata(bytes).ok).toBe(true);

    const again = await fetch(`${server.url}/meta/${a.contentId}`, { headers: { 'If-None-Match': `"${a.contentId}"` } });
    expect(again.status).toBe(304);
    const head = await fetch(`${server.url}/meta/${a.contentId}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
  });

  it('answers 400 for a malformed ID and 404 for an unknown one', async () => {
    for (const path of ['/api/content/', '/meta/', '/cdn/']) {
      const suffix = path === '/cdn/' ? '/x' : '';
      expect((await fetch(`${server.url}${path}xyz${suffix}`)).status, path).toBe(400);
      expect((await fetch(`${server.url}${path}${a.contentId.toUpperCase()}${suffix}`)).status, path).toBe(400);
      expect((await fetch(`${server.url}${path}${UNKNOWN_ID}${suffix}`)).status, path).toBe(404);
    }
    const res = await fetch(`${server.url}/api/content/${UNKNOWN_ID}`);
    expect(await res.json()).toEqual({ error: 'unknown content' });
    expect((await fetch(`${server.url}/api/nothing`)).status).toBe(404);
  });

  it('refuses other methods and answers preflight', async () => {
    const post = await fetch(`${server.url}/api/catalog`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toContain('GET');
    const pre = await fetch(`${server.url}/meta/${a.contentId}`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('serves health and the CDN log', async () => {
    const health = (await (await fetch(`${server.url}/api/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, arrays: { swarms: 0, peers: 0, connections: 0 } });
    const log = await (await fetch(`${server.url}/api/cdn-log`)).json();
    expect(log).toEqual(server.cdnLog.snapshot());
  });

  it('says how to build the app when it is missing; Arrays wants WebSocket', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run build');
    expect((await fetch(`${server.url}/arrays`)).status).toBe(426);
  });
});

describe('HTTP server options', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('puts the configured CDN base URL in policies', async () => {
    const contentDir = join(dir, 'content');
    const p = await publishDeterministic(dir, contentDir, 100, 1, 'x y.bin');
    const server = await startServer(contentDir, { cdnBaseUrl: 'https://cdn.example.com/tabswarm/' });
    try {
      const policy = contentPolicySchema.parse(await (await fetch(`${server.url}/api/content/${p.contentId}`)).json());
      expect(policy.cdnUrls).toEqual([`https://cdn.example.com/tabswarm/${p.contentId}/x%20y.bin`]);
    } finally {
      await server.close();
    }
  });

  it('serves the built app as a single-page app', async () => {
    const appDir = join(dir, 'app');
    await mkdir(join(appDir, 'assets'), { recursive: true });
    await writeFile(join(appDir, 'index.html'), '<!doctype html><title>tabswarm</title>');
    await writeFile(join(appDir, 'assets', 'main-abc123.js'), 'console.log(1)');
    const server = await startServer(join(dir, 'content'), { appDir });
    try {
      const index = await fetch(`${server.url}/`);
      expect(index.status).toBe(200);
      expect(await index.text()).toContain('<title>tabswarm</title>');
      expect(await (await fetch(`${server.url}/some/route`)).text()).toContain('<title>tabswarm</title>');
      const asset = await fetch(`${server.url}/assets/main-abc123.js`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');
    } finally {
      await server.close();
    }
  });
});

describe('web app files replaced under a running server', () => {
  it('answers without crashing when a served file disappears', async () => {
    const dir = await makeTempDir();
    const appDir = join(dir, 'app');
    await mkdir(appDir);
    await writeFile(join(appDir, 'index.html'), '<!doctype html><title>v1</title>');
    const server = await startServer(join(dir, 'content'), { appDir });
    try {
      expect(await (await fetch(`${server.url}/`)).text()).toContain('v1');
      await rm(join(appDir, 'index.html'));
      expect((await fetch(`${server.url}/`)).status).toBe(404);
      await writeFile(join(appDir, 'index.html'), '<!doctype html><title>v2</title>');
      expect(await (await fetch(`${server.url}/`)).text()).toContain('v2');
    } finally {
      await server.close();
      await removeDir(dir);
    }
  });
});
