/**
 * The server's share endpoint (docs/services.md): POST /api/share with the metadata's bytes;
 * the reply is parsed (protocol/share.ts) before a byte of it is used.
 */
import { shareReplySchema, type ShareReply } from '../protocol/share.js';

export async function postShare(serverUrl: string, metadata: Uint8Array, fetchImpl: typeof fetch = (...a) => fetch(...a)): Promise<ShareReply> {
  const res = await fetchImpl(new URL('/api/share', serverUrl).href, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: metadata as Uint8Array<ArrayBuffer> });
  const body: unknown = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`the server refused the share (HTTP ${res.status}): ${(body as { error?: string }).error ?? 'no reason given'}`);
  const parsed = shareReplySchema.safeParse(body);
  if (!parsed.success) throw new Error(`the server's answer is not a share reply (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}
