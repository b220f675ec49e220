/**
 * Stock Firefox for the e2e tests, next to Playwright's Chromium. Playwright drives only its own
 * patched Firefox build (not downloadable on every machine), so this drives the installed one
 * over WebDriver BiDi with puppeteer-core.
 *
 * Found in order: $FIREFOX_PATH, /usr/bin/firefox-esr, /usr/bin/firefox. A missing Firefox is a
 * failure with a message saying so, never a skipped test: Firefox is part of the matrix.
 *
 * Each launch gets a fresh profile in a temp directory, removed on close. Each tab from
 * `newTab()` is its own BiDi user context (a container: its own IndexedDB, OPFS, cookies), as
 * Playwright's `browser.newContext()` is for Chromium.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';

export function findFirefox(): string | undefined {
  const candidates = [process.env.FIREFOX_PATH, '/usr/bin/firefox-esr', '/usr/bin/firefox'];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** Prefs a test profile needs to reach the other tabs and to run unattended. */
const PREFS: Record<string, unknown> = {
  // Host candidates as addresses, not .local mDNS names: the test network has no mDNS, and
  // Chromium is started with the same choice (--disable-features=WebRtcHideLocalIpsWithMdns).
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Chromium's tabs may offer loopback candidates (--allow-loopback-in-peer-connection).
  'media.peerconnection.ice.loopback': true,
  // Deliberately not set: dom.storageManager.prompt.testing(.allow). Firefox answers
  // navigator.storage.persist() only once the user answers its prompt; the tests keep that
  // prompt unanswered, as a user who ignores it would.
};

export interface FirefoxTab {
  page: Page;
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
  /** `fn` runs in the page with `arg` (JSON-serialisable), as Playwright's `page.evaluate`. */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** Polls `fn(arg)` in the page until it is truthy; a throw in `fn` fails the wait. */
  waitForFunction<A>(fn: (arg: A) => unknown, arg?: A, options?: { timeout?: number; polling?: number }): Promise<void>;
  /** Closes the tab's user context (its storage goes with it). */
  close(): Promise<void>;
}

export interface FirefoxHandle {
  browser: Browser;
  version: string;
  newTab(): Promise<FirefoxTab>;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

export async function launchFirefox(): Promise<FirefoxHandle> {
  const executablePath = findFirefox();
  if (!executablePath) {
    throw new Error('Firefox not found: install firefox-esr (apt-get install firefox-esr) or set FIREFOX_PATH to a Firefox executable');
  }
  const profile = await mkdtemp(join(tmpdir(), 'tabswarm-firefox-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({ browser: 'firefox', executablePath, headless: true, userDataDir: profile, extraPrefsFirefox: PREFS, protocolTimeout: 60_000 });
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  const version = await browser.version();
  const contexts = new Set<BrowserContext>();
  return {
    browser,
    version,
    async newTab() {
      const context = await browser.createBrowserContext();
      contexts.add(context);
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error(`[firefox page error] ${e instanceof Error ? e.message : String(e)}`));
      if (process.env.TABSWARM_PAGE_DEBUG) page.on('console', (m) => console.log(`[firefox page] ${m.text()}`));
      return wrap(page, async () => {
        contexts.delete(context);
        await context.close();
      });
    },
    async close() {
      try {
        for (const c of contexts) await c.close().catch(() => undefined);
        await browser.close();
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
  };
}

function wrap(page: Page, close: () => Promise<void>): FirefoxTab {
  return {
    page,
    async goto(url) {
      await page.goto(url, { waitUntil: 'load' });
    },
    async reload() {
      await page.reload({ waitUntil: 'load' });
    },
    evaluate: (fn, arg) => page.evaluate(fn as (a: unknown) => never, arg),
    /**
     * Polled from here, one evaluate per round, not with Puppeteer's in-page poller: over BiDi
     * that poller stops at the predicate's first throw (a `window.tabswarm.current()` still
     * undefined, say) and the wait then times out with the cause lost. Here a throw fails the
     * wait at once with its message, as Playwright's `waitForFunction` does.
     */
    async waitForFunction(fn, arg, options = {}) {
      const timeout = options.timeout ?? 30_000;
      const deadline = Date.now() + timeout;
      for (;;) {
        if (await page.evaluate(fn as (a: unknown) => unknown, arg)) return;
        if (Date.now() > deadline) throw new Error(`waitForFunction: not true within ${timeout} ms: ${String(fn).slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, options.polling ?? 100));
      }
    },
    close,
  };
}
