/**
 * Chromium driven over the DevTools protocol with nothing enabled but what a measurement
 * needs: for the memory benchmark, which must see a tab's memory as a user's tab has it.
 *
 * Why not Playwright here: Playwright enables the DevTools Network domain on every page, and
 * with it Chromium keeps the bodies of the page's responses for `Network.getResponseBody`, up
 * to 200 MB (its default maxTotalBufferSize) in the renderer's buffer partition. A download of
 * thousands of 1 MiB ranges fills that buffer, and the tab's RSS looked ~190 MiB heavier than
 * any user's (seen in a memory-infra dump: partition_alloc/partitions/buffer 13 → 205 MiB over
 * a 1 GiB download, 590 MiB with a second agent asking for 400 MB). Here no domain that keeps
 * bodies is enabled.
 *
 * The protocol goes over `--remote-debugging-pipe` (fds 3 and 4, NUL-separated JSON): no port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import playwrightConfig from '../playwright.config.js';
import { findChromium } from '../test/chromium-path.mjs';

type Json = Record<string, unknown>;

export interface RawPage {
  /** The browser process's PID. */
  readonly pid: number;
  /** A command to the page's session. */
  send<T = Json>(method: string, params?: Json): Promise<T>;
  /** A command to the browser itself (Browser.*, Target.*). */
  sendBrowser<T = Json>(method: string, params?: Json): Promise<T>;
  /** Every event of `method`, from the browser or the page. */
  on(method: string, listener: (params: Json) => void): void;
  /** Evaluates `expression` in the page; its value comes back as JSON. */
  evaluate<T>(expression: string, userGesture?: boolean): Promise<T>;
  close(): Promise<void>;
}

/** Starts Chromium on `userDataDir` with one blank page, `initScript` run in every document of it. */
export async function launchRawPage(userDataDir: string, initScript: string, extraArgs: string[] = []): Promise<RawPage> {
  const executable = findChromium() ?? 'chromium';
  const { args = [] } = (playwrightConfig.use?.launchOptions ?? {}) as { args?: string[] };
  const child: ChildProcess = spawn(
    executable,
    // --no-sandbox as Playwright runs it (chromiumSandbox false): the sandbox needs what a
    // container running as root does not give.
    [
      '--headless',
      '--no-sandbox',
      '--remote-debugging-pipe',
      `--user-data-dir=${userDataDir}`,
      // As the Playwright-driven benchmarks run: no throttling of a background page, no
      // pop-up blocker, no field trials, nothing started at launch that is not the page's.
      '--disable-field-trial-config',
      '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows',
      '--disable-renderer-backgrounding',
      '--disable-popup-blocking',
      '--disable-dev-shm-usage',
      '--disable-extensions',
      '--disable-default-apps',
      '--disable-hang-monitor',
      '--disable-ipc-flooding-protection',
      '--disable-breakpad',
      '--metrics-recording-only',
      '--password-store=basic',
      '--use-mock-keychain',
      '--no-default-browser-check',
      '--mute-audio',
      '--hide-scrollbars',
      ...args,
      ...extraArgs,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  // A dying browser resets its pipes: that is reported by `exited`, not thrown here.
  toBrowser.on('error', () => undefined);
  fromBrowser.on('error', () => undefined);

  let nextId = 1;
  const waiting = new Map<number, { resolve(v: Json): void; reject(e: Error): void; method: string }>();
  const listeners = new Map<string, Array<(p: Json) => void>>();
  let pending = '';
  fromBrowser.on('data', (d: Buffer) => {
    pending += d.toString();
    let end: number;
    while ((end = pending.indexOf('\0')) >= 0) {
      const message = JSON.parse(pending.slice(0, end)) as { id?: number; method?: string; params?: Json; result?: Json; error?: { message: string } };
      pending = pending.slice(end + 1);
      if (message.id !== undefined) {
        const w = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.error) w?.reject(new Error(`${w.method}: ${message.error.message}`));
        else w?.resolve(message.result ?? {});
      } else if (message.method) {
        for (const l of listeners.get(message.method) ?? []) l(message.params ?? {});
      }
    }
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`Chromium exited (${code}): ${stderr}`))));
  exited.catch(() => undefined);

  const raw = <T>(method: string, params: Json = {}, sessionId?: string): Promise<T> => {
    const id = nextId++;
    const reply = new Promise<Json>((resolve, reject) => waiting.set(id, { resolve, reject, method }));
    toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return Promise.race([reply, exited]) as Promise<T>;
  };

  const { targetInfos } = await raw<{ targetInfos: Array<{ targetId: string; type: string }> }>('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'page');
  if (!target) throw new Error('Chromium opened no page');
  const { sessionId } = await raw<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  await raw('Page.enable', {}, sessionId);
  await raw('Page.addScriptToEvaluateOnNewDocument', { source: initScript }, sessionId);

  return {
    pid: child.pid!,
    send: (method, params) => raw(method, params, sessionId),
    sendBrowser: (method, params) => raw(method, params),
    on(method, listener) {
      listeners.set(method, [...(listeners.get(method) ?? []), listener]);
    },
    async evaluate<T>(expression: string, userGesture = false): Promise<T> {
      const r = await raw<{ result: { value?: T }; exceptionDetails?: { text: string; exception?: { description?: string } } }>(
        'Runtime.evaluate',
        { expression, returnByValue: true, awaitPromise: true, userGesture },
        sessionId,
      );
      if (r.exceptionDetails) throw new Error(`evaluate ${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value as T;
    },
    async close() {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      await raw('Browser.close').catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
