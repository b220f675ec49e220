/**
 * Opening a content ID: fetch its policy (DO's Content Policy), fetch its metadata, and check
 * the metadata's SHA-256 against the content ID before anything else uses it. The content ID
 * is the root of trust: a link that carries it certifies everything below.
 *
 * When the policy or the metadata cannot be had, or the metadata fails its checks, the
 * content opens in simple mode, as in DO: HTTP only, no peers, and nothing to verify pieces
 * against (docs/security.md says what that leaves open).
 *
 * Peer-only content (a policy with no CDN URL: shared from a browser, signaling/share-api.ts)
 * opens verified with `cdnUrls` empty, and the download waits for peers; if its metadata fails
 * its checks there is no simple mode (no CDN to fall back on): that fails with the reason.
 */
import { systemClock, type Clock } from './clock.js';
import { TabswarmError, isTabswarmError } from './errors.js';
import type { BytesFetcher, Hasher, HttpRange } from './ports.js';
import { contentPolicySchema, type ContentPolicy } from '../protocol/content-policy.js';
import { SHA256_HEX, toHex } from '../protocol/hex.js';
import { LIMITS } from '../protocol/limits.js';
import { DEFAULT_PIECE_SIZE, METADATA_FORMAT, METADATA_VERSION, parseMetadata, type Metadata } from '../protocol/metadata.js';

export type OpenedContent =
  | {
      mode: 'verified';
      contentId: string;
      policy: ContentPolicy;
      metadata: Metadata;
      /** The policy's CDN URLs, absolute. */
      cdnUrls: string[];
    }
  | {
      mode: 'simple';
      contentId: string;
      /** Why the content could not be verified, for the page and the status. */
      reason: string;
      /** Size, name and type as the CDN or the policy gave them; no piece or file hashes. */
      metadata: Metadata;
      cdnUrls: string[];
    };

export interface OpenContentDeps {
  fetcher: BytesFetcher;
  hasher: Hasher;
  http: HttpRange;
  /** Where the CDN is when even the policy is unavailable: `<cdnBaseUrl>/<contentId>/<name>`. Default: `<serverUrl>/cdn`. */
  cdnBaseUrl?: string;
  /** Download mode Simple (DO 99): ask the server for no policy and no metadata; simple mode from the CDN base. */
  noServices?: boolean;
  /** The timers of the requests' time limits. @default systemClock */
  clock?: Clock;
}

/** Opens `contentId` against the server at `serverUrl`: verified if the chain of trust holds, else in simple mode. */
export async function openContent(serverUrl: string, contentId: string, deps: OpenContentDeps): Promise<OpenedContent> {
  if (!SHA256_HEX.test(contentId)) throw new TabswarmError('metadata-invalid', `"${contentId}" is not a content ID (64 hex characters)`);
  if (deps.noServices) return openSimple(serverUrl, contentId, 'download mode Simple (99) uses no tabswarm services', undefined, deps);
  let policy: ContentPolicy | undefined;
  try {
    policy = await fetchPolicy(serverUrl, contentId, deps.fetcher);
    const policyUrl = policyUrlOf(serverUrl, contentId);
    const metadata = await fetchVerifiedMetadata(new URL(policy.metadataUrl, policyUrl).href, contentId, policy, deps);
    return { mode: 'verified', contentId, policy, metadata, cdnUrls: policy.cdnUrls.map((u) => new URL(u, policyUrl).href) };
  } catch (e) {
    if (!isTabswarmError(e)) throw e;
    // Peer-only content (shared from a browser): no CDN copy, so no simple mode to fall back on.
    if (policy !== undefined && policy.cdnUrls.length === 0) {
      throw new TabswarmError(e.kind, `${e.message}; this content is shared by peers only (there is no CDN copy), so it cannot be downloaded unverified either`, { cause: e });
    }
    return openSimple(serverUrl, contentId, e.message, policy, deps);
  }
}

function policyUrlOf(serverUrl: string, contentId: string): string {
  return new URL(`/api/content/${contentId}`, serverUrl).href;
}

async function fetchPolicy(serverUrl: string, contentId: string, fetcher: BytesFetcher): Promise<ContentPolicy> {
  let policy: ContentPolicy;
  try {
    const bytes = await fetcher.getBytes(policyUrlOf(serverUrl, contentId), 64 * 1024);
    const parsed = contentPolicySchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid policy');
    policy = parsed.data;
  } catch (e) {
    throw new TabswarmError('policy-unavailable', `the content policy is unavailable (${messageOf(e)})`, { cause: e });
  }
  if (policy.contentId !== contentId) throw new TabswarmError('policy-unavailable', 'the content policy names another content');
  return policy;
}

async function fetchVerifiedMetadata(url: string, contentId: string, policy: ContentPolicy, deps: OpenContentDeps): Promise<Metadata> {
  let metadataBytes: Uint8Array;
  try {
    metadataBytes = await deps.fetcher.getBytes(url, LIMITS.maxMetadataBytes);
  } catch (e) {
    throw new TabswarmError('metadata-unavailable', `the metadata is unavailable (${messageOf(e)})`, { cause: e });
  }
  const { digest, data } = await deps.hasher.digest(metadataBytes);
  const actual = toHex(digest);
  if (actual !== contentId || actual !== policy.metadataSha256) {
    throw new TabswarmError('metadata-hash-mismatch', `the metadata's SHA-256 (${actual.slice(0, 12)}…) is not the content ID (${contentId.slice(0, 12)}…)`);
  }
  const parsed = parseMetadata(data);
  if (!parsed.ok) throw new TabswarmError('metadata-invalid', `the metadata is malformed (${parsed.reason})`);
  if (parsed.metadata.fileSize !== policy.fileSize) throw new TabswarmError('metadata-invalid', 'the metadata and the policy disagree on the file size');
  return parsed.metadata;
}

/** The CDN URLs of a content: the policy's if it came, else `<cdnBaseUrl>/<contentId>/<name>`. */
export function cdnUrlsOf(serverUrl: string, contentId: string, policy: ContentPolicy | undefined, cdnBaseUrl: string | undefined): string[] {
  const name = policy?.name ?? `${contentId.slice(0, 16)}.bin`;
  return policy
    ? policy.cdnUrls.map((u) => new URL(u, policyUrlOf(serverUrl, contentId)).href)
    : [`${(cdnBaseUrl ?? new URL('/cdn', serverUrl).href).replace(/\/$/, '')}/${contentId}/${encodeURIComponent(name)}`];
}

/** The content policy of `contentId`, checked; rejects with a TabswarmError. */
export function openPolicy(serverUrl: string, contentId: string, fetcher: BytesFetcher): Promise<ContentPolicy> {
  return fetchPolicy(serverUrl, contentId, fetcher);
}

/**
 * A plain URL with no tabswarm metadata (not a content ID, not an app link): simple mode, as DO
 * downloads a file it has no metadata for: HTTP only, from that URL, unverified. Its "content
 * ID" is the SHA-256 of the URL's text, which only keys its pieces in the store (under
 * `simple:`), so a reload resumes it; nothing is trusted because of it.
 */
export async function openUrl(url: string, deps: Pick<OpenContentDeps, 'hasher' | 'http' | 'clock'>): Promise<OpenedContent> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TabswarmError('metadata-invalid', `"${url.slice(0, 200)}" is neither a content ID nor a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TabswarmError('metadata-invalid', `only http: and https: URLs can be downloaded, not ${parsed.protocol}`);
  const { digest } = await deps.hasher.digest(new TextEncoder().encode(parsed.href));
  const contentId = toHex(digest);
  const last = decodeURIComponent(parsed.pathname.split('/').pop() ?? '');
  const name = last === '' ? `${parsed.hostname}.bin` : last;
  const opened = await probeSimple(parsed.href, 'a plain URL without tabswarm metadata: simple mode (HTTP only, unverified)', deps);
  return { mode: 'simple', contentId, reason: opened.reason, metadata: { ...opened.metadata, name }, cdnUrls: [parsed.href] };
}

/** Simple mode: the CDN's URL from the policy if it came, else from the configured CDN base; the size from a probe. */
async function openSimple(
  serverUrl: string,
  contentId: string,
  reason: string,
  policy: ContentPolicy | undefined,
  deps: OpenContentDeps,
): Promise<OpenedContent> {
  const name = policy?.name ?? `${contentId.slice(0, 16)}.bin`;
  const cdnUrls = cdnUrlsOf(serverUrl, contentId, policy, deps.cdnBaseUrl);
  const { metadata } = await probeSimple(cdnUrls[0]!, reason, deps);
  return { mode: 'simple', contentId, reason, metadata: { ...metadata, name }, cdnUrls };
}

/** The size of the file at `url` by a probe, as simple-mode metadata (no hashes). */
async function probeSimple(url: string, reason: string, deps: Pick<OpenContentDeps, 'http' | 'clock'>): Promise<{ reason: string; metadata: Metadata }> {
  const controller = new AbortController();
  const clock = deps.clock ?? systemClock;
  const timer = clock.setTimeout(() => controller.abort(), 30_000);
  let fileSize: number;
  try {
    fileSize = await deps.http.probeSize(url, controller.signal);
  } catch (e) {
    throw new TabswarmError('cdn-error', `${reason}, and the CDN cannot be reached either: ${messageOf(e)}`, { cause: e });
  } finally {
    clock.clearTimeout(timer);
  }
  if (!Number.isSafeInteger(fileSize) || fileSize < 0 || fileSize > LIMITS.maxFileSize) {
    throw new TabswarmError('cdn-error', `${reason}, and the CDN reports an impossible size ${fileSize}`);
  }
  const metadata: Metadata = {
    format: METADATA_FORMAT,
    version: METADATA_VERSION,
    name: 'file.bin',
    mimeType: 'application/octet-stream',
    fileSize,
    pieceSize: DEFAULT_PIECE_SIZE,
    fileSha256: '',
    pieceSha256: [],
  };
  return { reason, metadata };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
