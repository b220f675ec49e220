/// <reference lib="webworker" />
/**
 * tabswarm's Service Worker: answers `<scope>swarm/<contentId>/<name>` with the content's
 * verified bytes while it downloads, so that `<video src>`, `<audio src>`, `<img>` and a plain
 * link play or open it. Everything else passes through untouched.
 *
 * The bytes come from a page of the origin that downloads the content (every window the
 * worker controls is asked at once; the first that has it answers): the worker posts it an `open` with a
 * MessagePort and relays the head and then one chunk per pull (src/protocol/sw-messages.ts;
 * the page side is src/client/stream-host.ts, which hands over only pieces that passed their
 * SHA-256 there and then). The worker holds no state of its own: it may be stopped between
 * requests, and a reload or a second tab works the same.
 */
import { SW_OPEN, pageToWorkerSchema, type PageToWorker, type SwOpen } from '../protocol/sw-messages.js';
import { parseSwarmPath } from '../protocol/swarm-response.js';

declare const self: ServiceWorkerGlobalScope;

/** How long a page has to answer an open (its head) before the next page is asked. */
const HEAD_TIMEOUT_MS = 5000;
/** How long one chunk may take: the piece may still be downloading (the player waits that long). */
const CHUNK_TIMEOUT_MS = 120_000;

/** The Static Routing API (Chromium 123+): which requests reach the fetch event at all. */
interface RouterRule {
  condition: { urlPattern: string };
  source: 'fetch-event' | 'network';
}
type InstallWithRoutes = ExtendableEvent & { addRoutes?: (rules: RouterRule[]) => Promise<void> };

self.addEventListener('install', (event: InstallWithRoutes) => {
  // Only `<scope>swarm/…` wakes this worker; every other request of the pages it controls
  // (the app, its CDN range requests, the API) goes to the network as if there were no worker.
  // Where the browser has no static routes, the fetch handler lets those pass untouched.
  const swarm = new URL('swarm/*', self.registration.scope).pathname;
  const routes = event.addRoutes?.([
    { condition: { urlPattern: swarm }, source: 'fetch-event' },
    { condition: { urlPattern: '/*' }, source: 'network' },
  ]);
  event.waitUntil(Promise.resolve(routes).catch(() => undefined).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
// A page's keepalive: receiving it is the point (it resets the worker's idle timer).
self.addEventListener('message', () => undefined);

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin) return;
  const target = parseSwarmPath(url.pathname, new URL(self.registration.scope).pathname);
  if (!target) return;
  const method = event.request.method;
  if (method !== 'GET' && method !== 'HEAD') {
    event.respondWith(new Response('method not allowed\n', { status: 405, headers: { Allow: 'GET, HEAD' } }));
    return;
  }
  const open: SwOpen = {
    type: SW_OPEN,
    v: 1,
    contentId: target.contentId,
    method,
    range: event.request.headers.get('Range'),
    ifRange: event.request.headers.get('If-Range'),
  };
  event.respondWith(answer(open));
});

/**
 * Asks every window of the origin this worker controls at once (the requesting page among
 * them) and answers with the first page that has the content; the others' answers are
 * cancelled. At once, not in turn: a window that is no tabswarm page (a browser's own media page
 * for a link opened in a tab, say) never answers, and waiting on it would cost `HEAD_TIMEOUT_MS`.
 */
async function answer(open: SwOpen): Promise<Response> {
  const windows = await self.clients.matchAll({ type: 'window' });
  const first = await new Promise<Response | undefined>((resolve) => {
    let pending = windows.length;
    let chosen = false;
    if (pending === 0) resolve(undefined);
    for (const client of windows) {
      void ask(client, open).then((response) => {
        if (response && !chosen) {
          chosen = true;
          resolve(response);
        } else if (response) void response.body?.cancel();
        if (--pending === 0 && !chosen) resolve(undefined);
      });
    }
  });
  return (
    first ??
    new Response('no page of this site is downloading this content: open it in tabswarm first\n', {
      status: 404,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
    })
  );
}

/** One page's answer, or undefined when it has no such download or does not answer in time. */
async function ask(client: Client, open: SwOpen): Promise<Response | undefined> {
  const channel = new MessageChannel();
  const port = channel.port1;
  const next = messagesOf(port);
  client.postMessage(open, [channel.port2]);
  const head = await next(HEAD_TIMEOUT_MS);
  if (!head || head.t !== 'head') {
    port.close();
    return undefined;
  }
  const headers = new Headers(head.headers);
  if (open.method === 'HEAD' || head.status === 416) {
    port.postMessage({ t: 'cancel' });
    port.close();
    return new Response(null, { status: head.status, headers });
  }
  let done = false;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        port.postMessage({ t: 'pull' });
        const m = await next(CHUNK_TIMEOUT_MS);
        if (m?.t === 'chunk') return controller.enqueue(m.bytes);
        done = true;
        port.close();
        if (m?.t === 'end') controller.close();
        else controller.error(new Error(m?.t === 'error' ? m.message : 'the page stopped answering'));
      },
      cancel() {
        if (done) return;
        done = true;
        port.postMessage({ t: 'cancel' });
        port.close();
      },
    },
    // One chunk ahead: the page holds the rest, and pieces not yet needed are not pulled.
    { highWaterMark: 1 },
  );
  return new Response(body, { status: head.status, headers });
}

/** The port's parsed messages, one per call; undefined on a timeout. Messages that do not parse are dropped. */
function messagesOf(port: MessagePort): (timeoutMs: number) => Promise<PageToWorker | undefined> {
  const queue: PageToWorker[] = [];
  let waiting: ((m: PageToWorker | undefined) => void) | undefined;
  port.onmessage = (e: MessageEvent) => {
    const parsed = pageToWorkerSchema.safeParse(e.data);
    if (!parsed.success) return;
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(parsed.data);
    } else queue.push(parsed.data);
  };
  return (timeoutMs) =>
    queue.length > 0
      ? Promise.resolve(queue.shift())
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            waiting = undefined;
            resolve(undefined);
          }, timeoutMs);
          waiting = (m) => {
            clearTimeout(timer);
            resolve(m);
          };
        });
}
