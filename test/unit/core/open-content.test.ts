import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openContent, type OpenedContent } from '../../../src/core/open-content.js';
import type { BytesFetcher } from '../../../src/core/ports.js';
import { makeContent } from '../../helpers/content.js';
import { MemoryCdn } from '../../helpers/memory-http.js';
import { createNodeHasher } from '../../helpers/node-hasher.js';

const server = 'http://127.0.0.1:1';
const content = makeContent(3 * 1024 * 1024 + 5, 21);
const policyPath = `/api/content/${content.contentId}`;
const metaPath = `/meta/${content.contentId}`;

function fetcher(routes: Record<string, Uint8Array | Error>): BytesFetcher {
  return {
    async getBytes(url) {
      const body = routes[new URL(url).pathname];
      if (!body) throw new Error(`HTTP 404 ${url}`);
      if (body instanceof Error) throw body;
      return body;
    },
  };
}

function policy(overrides: Record<string, unknown> = {}): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      contentId: content.contentId,
      metadataUrl: metaPath,
      metadataSha256: content.contentId,
      cdnUrls: [`/cdn/${content.contentId}/x.bin`],
      peering: true,
      name: 'x.bin',
      fileSize: content.metadata.fileSize,
      ...overrides,
    }),
  );
}

function open(routes: Record<string, Uint8Array | Error>, id = content.contentId, cdn = new MemoryCdn(content.bytes)): Promise<OpenedContent> {
  return openContent(server, id, { fetcher: fetcher(routes), hasher: createNodeHasher(), http: cdn });
}

function tampered(): Uint8Array {
  const bytes = content.metadataBytes.slice();
  const at = bytes.length - 10;
  bytes[at] = bytes[at] === 0x62 ? 0x63 : 0x62;
  expect(createHash('sha256').update(bytes).digest('hex')).not.toBe(content.contentId);
  return bytes;
}

describe('openContent', () => {
  it('returns verified metadata and absolute CDN URLs', async () => {
    const opened = await open({ [policyPath]: policy(), [metaPath]: content.metadataBytes });
    expect(opened.mode).toBe('verified');
    expect(opened.metadata).toEqual(content.metadata);
    expect(opened.cdnUrls).toEqual([`${server}/cdn/${content.contentId}/x.bin`]);
  });

  it.each([
    ['tampered metadata', () => ({ [policyPath]: policy(), [metaPath]: tampered() }), /SHA-256 .* is not the content ID/],
    ['a failing metadata URL', () => ({ [policyPath]: policy(), [metaPath]: new Error('HTTP 500') }), /metadata is unavailable \(HTTP 500\)/],
    ['a malformed policy', () => ({ [policyPath]: policy({ peering: 'yes' }) }), /content policy is unavailable/],
    ['a policy whose metadata hash is not the ID', () => ({ [policyPath]: policy({ metadataSha256: 'f'.repeat(64) }), [metaPath]: content.metadataBytes }), /not the content ID/],
  ])('falls back to simple mode on %s, with the policy CDN URL and the CDN size', async (_name, routes, reason) => {
    const opened = await open(routes());
    expect(opened.mode).toBe('simple');
    if (opened.mode !== 'simple') return;
    expect(opened.reason).toMatch(reason);
    expect(opened.metadata.fileSize).toBe(content.metadata.fileSize);
    expect(opened.metadata.pieceSha256).toEqual([]);
    expect(opened.cdnUrls[0]).toMatch(`/cdn/${content.contentId}/`);
  });

  it('uses the CDN base when even the policy is missing, and fails clearly if the CDN is down too', async () => {
    const opened = await open({});
    expect(opened).toMatchObject({ mode: 'simple', cdnUrls: [`${server}/cdn/${content.contentId}/${content.contentId.slice(0, 16)}.bin`] });
    const down = new MemoryCdn(content.bytes);
    down.failNext = 1;
    await expect(open({}, content.contentId, down)).rejects.toMatchObject({ kind: 'cdn-error' });
    await expect(open({}, 'not-an-id')).rejects.toMatchObject({ kind: 'metadata-invalid' });
  });
});
