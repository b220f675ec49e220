/**
 * The messages between tabswarm's Service Worker (src/sw/sw.ts) and the pages it serves
 * (src/client/stream-host.ts). The worker answers `/swarm/<contentId>/<name>` by asking a page
 * of the origin that downloads that content: it posts an `open` with a MessagePort, and the
 * page answers on that port with the response head, then one chunk per `pull`. Both ends parse
 * every message with these schemas and drop what does not fit (a page of the origin could post
 * anything; a stray message must not crash either end).
 *
 * On the port, worker → page: `pull` (the next chunk), `cancel` (the player went away).
 * Page → worker: `head` (status and headers) or `absent` (this page has no such download),
 * then `chunk` (verified bytes), `end`, or `error`.
 */
import { z } from 'zod';
import { boundedString } from './bounded-string.js';
import { SHA256_HEX } from './hex.js';

/** The `type` of the worker's open message, on a page's `navigator.serviceWorker` channel. */
export const SW_OPEN = 'tabswarm:open';
/** A page's message that keeps the worker alive while it streams (any message resets its idle timer). */
export const SW_KEEPALIVE = 'tabswarm:keepalive';

export const swOpenSchema = z.object({
  type: z.literal(SW_OPEN),
  v: z.literal(1),
  contentId: z.string().regex(SHA256_HEX),
  method: z.enum(['GET', 'HEAD']),
  // Request headers as the browser sent them; bounded, but well past any real Range.
  range: boundedString(4096).nullable(),
  ifRange: boundedString(4096).nullable(),
});
export type SwOpen = z.infer<typeof swOpenSchema>;

export const workerToPageSchema = z.discriminatedUnion('t', [z.object({ t: z.literal('pull') }), z.object({ t: z.literal('cancel') })]);
export type WorkerToPage = z.infer<typeof workerToPageSchema>;

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
const headerValue = z.string().max(1024).regex(/^[^\r\n]*$/);

export const pageToWorkerSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('head'), status: z.union([z.literal(200), z.literal(206), z.literal(416)]), headers: z.record(headerName, headerValue) }),
  z.object({ t: z.literal('absent') }),
  z.object({ t: z.literal('chunk'), bytes: z.instanceof(Uint8Array) }),
  z.object({ t: z.literal('end') }),
  z.object({ t: z.literal('error'), message: boundedString(512) }),
]);
export type PageToWorker = z.infer<typeof pageToWorkerSchema>;
