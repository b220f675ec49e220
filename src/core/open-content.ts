/**
 * Opening a content ID: fetch its policy (DO's Content Policy), fetch its metadata, and check
 * the metadata's SHA-256 against the content ID before anything else uses it. The content ID
 * is the root of trust: a link that carries it certifies everything below.
 */
import { TabswarmError } from './errors.js';
import type { Hasher } from './ports.js';
import { contentPolicySchema, type ContentPolicy } from '../protocol/content-policy.js';
import { SHA256_HEX, toHex } from '../protocol/hex.js';
import { LIMITS } from '../protocol/limits.js';
import { parseMetadata, type Metadata } from '../protocol/metadata.js';

/** Fetching bytes over HTTP(S); rejects on a non-2xx status or a network error. */
export interface BytesFetcher {
  getBytes(url: string, maxBytes: number): Promise<Uint8Array>;
}

export interface OpenedContent {
  contentId: string;
  policy: ContentPolicy;
  metadata: Metadata;
  /** The policy's CDN URLs, absolute. */
  cdnUrls: string[];
}

/** Resolves a content ID against the server at `serverUrl`. Throws TabswarmError with a kind that says which step failed. */
export async function openContent(serverUrl: string, contentId: string, fetcher: BytesFetcher, hasher: Hasher): Promise<OpenedContent> {
  if (!SHA256_HEX.test(contentId)) throw new TabswarmError('metadata-invalid', `"${contentId}" is not a content ID (64 hex characters)`);
  const policyUrl = new URL(`/api/content/${contentId}`, serverUrl).href;
  let policy: ContentPolicy;
  try {
    const bytes = await fetcher.getBytes(policyUrl, 64 * 1024);
    const parsed = contentPolicySchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid policy');
    policy = parsed.data;
  } catch (e) {
    throw new TabswarmError('policy-unavailable', `content policy for ${contentId.slice(0, 12)}… unavailable: ${messageOf(e)}`, { cause: e });
  }
  if (policy.contentId !== contentId) throw new TabswarmError('policy-unavailable', 'the content policy names another content');

  let metadataBytes: Uint8Array;
  try {
    metadataBytes = await fetcher.getBytes(new URL(policy.metadataUrl, policyUrl).href, LIMITS.maxMetadataBytes);
  } catch (e) {
    throw new TabswarmError('metadata-unavailable', `metadata unavailable: ${messageOf(e)}`, { cause: e });
  }
  const { digest, data } = await hasher.digest(metadataBytes);
  const actual = toHex(digest);
  if (actual !== contentId || actual !== policy.metadataSha256) {
    throw new TabswarmError('metadata-hash-mismatch', `the metadata's SHA-256 is ${actual.slice(0, 12)}…, not the content ID ${contentId.slice(0, 12)}…`);
  }
  const parsed = parseMetadata(data);
  if (!parsed.ok) throw new TabswarmError('metadata-invalid', parsed.reason);
  return {
    contentId,
    policy,
    metadata: parsed.metadata,
    cdnUrls: policy.cdnUrls.map((u) => new URL(u, policyUrl).href),
  };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
