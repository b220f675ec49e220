/**
 * The client side of the server's bootstrap (DO's KeyValue service) and Discovery endpoints
 * (src/protocol/bootstrap.ts has the replies). Every reply is size-capped, time-capped and
 * parsed with its schema; anything else is a TabswarmError('policy-unavailable'), and the
 * caller falls back to defaults (the Arrays service at `/arrays` of the server, no ICE
 * servers), so a server without these endpoints still works on one LAN.
 */
import { TabswarmError } from '../core/errors.js';
import { bootstrapSchema, discoverySchema, type Bootstrap, type Discovery, type DiscoveryQuery } from '../protocol/bootstrap.js';

/** Largest reply taken (either endpoint), bytes. */
const MAX_REPLY_BYTES = 64 * 1024;
/** How long a reply may take. */
const TIMEOUT_MS = 5000;

async function getJson(fetchImpl: typeof fetch, url: string): Promise<unknown> {
  let text: string;
  try {
    const res = await fetchImpl(url, { cache: 'no-cache', signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > MAX_REPLY_BYTES) throw new Error(`reply over ${MAX_REPLY_BYTES} bytes`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new TabswarmError('policy-unavailable', `${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new TabswarmError('policy-unavailable', `${url}: not JSON`);
  }
}

function parsed<T>(url: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new TabswarmError('policy-unavailable', `${url}: unexpected reply: ${r.error.message.slice(0, 300)}`);
  return r.data;
}

/** `GET <serverUrl>/api/bootstrap`, checked. */
export async function fetchBootstrap(serverUrl: string, fetchImpl: typeof fetch = (...a) => fetch(...a)): Promise<Bootstrap> {
  const url = new URL('/api/bootstrap', serverUrl).href;
  return parsed(url, bootstrapSchema, await getJson(fetchImpl, url));
}

/** `GET <serverUrl>/api/discovery?...`, checked, and checked to answer the question asked. */
export async function fetchDiscovery(serverUrl: string, query: DiscoveryQuery, fetchImpl: typeof fetch = (...a) => fetch(...a)): Promise<Discovery> {
  const url = new URL('/api/discovery', serverUrl);
  url.searchParams.set('contentId', query.contentId);
  url.searchParams.set('mode', query.mode);
  if (query.group !== undefined) url.searchParams.set('group', query.group);
  const reply = parsed(url.href, discoverySchema, await getJson(fetchImpl, url.href));
  if (reply.contentId !== query.contentId || reply.mode !== query.mode || reply.group !== query.group) {
    throw new TabswarmError('policy-unavailable', `${url.href}: the reply is for another swarm`);
  }
  return reply;
}

/** The default Arrays URL of a server: ws(s)://<host>/arrays. */
export function defaultArraysUrl(serverUrl: string): string {
  const url = new URL('/arrays', serverUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
