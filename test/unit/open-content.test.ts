import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openContent, type BytesFetcher } from '../../src/core/open-content.js';
import { makeContent } from '../helpers/content.js';
import { createNodeHasher } from '../helpers/node-hasher.js';

const server = 'http://127.0.0.1:1';
const content = makeContent(3 * 1024 * 1024 + 5, 21);

function fetcherFor(routes: Record<string, Uint8Array | Error>): BytesFetcher {
  return {
    async getBytes(url) {
      const body = routes[new URL(url).pathname];
      if (!body) throw new Error(`404 ${url}`);
      if (body instanceof Error) throw body;
      return body;
    },
  };
}

function policy(overrides: Record<string, unknown> = {}): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      contentId: content.contentId,
      metadataUrl: `/meta/${content.contentId}`,
      metadataSha256: content.contentId,
      cdnUrls: [`/cdn/${content.contentId}/x.bin`],
      peering: true,
      name: 'x.bin',
      fileSize: content.metadata.fileSize,
      ...overrides,
    }),
  );
}

const policyPath = `/api/content/${content.contentId}`;
const metaPath = `/meta/${content.contentId}`;

describe('openContent', () => {
  it('returns verified metadata and absolute CDN URLs', async () => {
    const opened = await openContent(server, content.contentId, fetcherFor({ [policyPath]: policy(), [metaPath]: content.metadataBytes }), createNodeHasher());
    expect(opened.metadata).toEqual(content.metadata);
    expect(opened.cdnUrls).toEqual([`${server}/cdn/${content.contentId}/x.bin`]);
  });

  it('refuses tampered metadata whose SHA-256 is not the content ID', async () => {
    const tampered = content.metadataBytes.slice();
    tampered[tampered.length - 10] = 'b'.charCodeAt(0) === tampered[tampered.length - 10] ? 'c'.charCodeAt(0) : 'b'.charCodeAt(0);
    expect(createHash('sha256').update(tampered).digest('hex')).not.toBe(content.contentId);
    await expect(
      openContent(server, content.contentId, fetcherFor({ [policyPath]: policy(), [metaPath]: tampered }), createNodeHasher()),
    ).rejects.toMatchObject({ kind: 'metadata-hash-mismatch' });
  });

  it('names the failing step: policy, metadata fetch, bad ID', async () => {
    await expect(openContent(server, content.contentId, fetcherFor({}), createNodeHasher())).rejects.toMatchObject({ kind: 'policy-unavailable' });
    await expect(
      openContent(server, content.contentId, fetcherFor({ [policyPath]: policy({ peering: 'yes' }) }), createNodeHasher()),
    ).rejects.toMatchObject({ kind: 'policy-unavailable' });
    await expect(
      openContent(server, content.contentId, fetcherFor({ [policyPath]: policy(), [metaPath]: new Error('HTTP 500') }), createNodeHasher()),
    ).rejects.toMatchObject({ kind: 'metadata-unavailable' });
    await expect(openContent(server, 'not-an-id', fetcherFor({}), createNodeHasher())).rejects.toMatchObject({ kind: 'metadata-invalid' });
  });
});
