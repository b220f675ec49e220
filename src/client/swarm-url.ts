/**
 * The URL a media element (or a link) plays a content from while it downloads:
 * `<scope>swarm/<contentId>/<name>`, answered by tabswarm's Service Worker (src/sw/sw.ts) from
 * this page's verified pieces (stream-host.ts). Registers the worker the first time and waits
 * until it controls the page: before that, the page's requests do not reach it.
 */
import { TabswarmError } from '../core/errors.js';

export interface ServiceWorkerOptions {
  /** Where the worker script is served. @default '/tabswarm-sw.js' (the app's; the library ships it as dist/lib/tabswarm-sw.js) */
  url?: string;
  /** Its scope: the pages it serves, and the prefix of the URLs. @default '/' */
  scope?: string;
}

/** How long the worker has to install, activate and take control of the page. */
const CONTROL_TIMEOUT_MS = 10_000;

let ready: Promise<string> | undefined;

/** The scope's URL once the worker controls this page; rejects with kind 'no-service-worker'. */
export function serviceWorkerScope(options: ServiceWorkerOptions = {}): Promise<string> {
  ready ??= register(options).catch((e: unknown) => {
    ready = undefined; // a later call tries again
    throw e;
  });
  return ready;
}

async function register(options: ServiceWorkerOptions): Promise<string> {
  const container = typeof navigator === 'undefined' ? undefined : navigator.serviceWorker;
  if (!container || typeof isSecureContext === 'undefined' || !isSecureContext) {
    throw new TabswarmError('no-service-worker', 'playing while downloading needs a Service Worker, which browsers give only to pages over HTTPS or on localhost');
  }
  let registration: ServiceWorkerRegistration;
  try {
    registration = await container.register(options.url ?? '/tabswarm-sw.js', { scope: options.scope ?? '/', type: 'module' });
  } catch (e) {
    throw new TabswarmError('no-service-worker', `the Service Worker could not be registered: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!container.controller) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TabswarmError('no-service-worker', 'the Service Worker did not take control of this page')), CONTROL_TIMEOUT_MS);
      container.addEventListener(
        'controllerchange',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
  return registration.scope;
}

/** `<scope>swarm/<contentId>/<name>`. */
export function swarmUrl(scope: string, contentId: string, name: string): string {
  return new URL(`swarm/${contentId}/${encodeURIComponent(name || 'file')}`, scope).href;
}
