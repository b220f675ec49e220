/**
 * A screenshot of the replay page (src/ui/replay.html) showing a recorded simulation, for the
 * README: the built app is served by the tabswarm server on 127.0.0.1, Chromium opens
 * /replay.html, the recording is opened through the page's file input as a user would, the
 * slider is moved to the time asked for, and the whole page is saved as a PNG.
 *
 * Usage (after `npm run build`, which puts the app in dist/app):
 *
 *   npx tsx scripts/screenshot-replay.ts RECORDING.json [--at SECONDS] [--dark]
 *       [--out docs/screenshots/sim-replay.png] [--width 1100]
 *
 *   RECORDING.json  what `npm run sim -- --record FILE` wrote (src/protocol/sim-recording.ts)
 *   --at SECONDS    simulated time to show (default: the bound, boundS, when the recording
 *                   has one, else the end; past the end shows the end)
 *   --dark          dark colour scheme (default light)
 *   --out PATH      where the PNG goes (default docs/screenshots/sim-replay.png)
 *   --width PX      viewport width in CSS pixels (default 1100), at device scale 1
 *
 * It prints the path and size; keep the README's copy under ~300 KB.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { createServer } from '../signaling/server.js';
import { parseSimRecording } from '../src/protocol/sim-recording.js';
import { findChromium } from '../test/chromium-path.mjs';

const APP_DIR = 'dist/app';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    at: { type: 'string' },
    dark: { type: 'boolean', default: false },
    out: { type: 'string', default: 'docs/screenshots/sim-replay.png' },
    width: { type: 'string', default: '1100' },
  },
});
const recordingPath = positionals[0];
if (!recordingPath) {
  console.error('usage: npx tsx scripts/screenshot-replay.ts RECORDING.json [--at SECONDS] [--dark] [--out PATH] [--width PX]');
  process.exit(2);
}
if (!existsSync(join(APP_DIR, 'replay.html'))) {
  console.error(`${APP_DIR}/replay.html is missing: run \`npm run build\` first`);
  process.exit(2);
}
// Parsed here too, so that a bad file is said in the terminal and the default time is known.
const rec = parseSimRecording(await readFile(recordingPath, 'utf8'));
const lastT = rec.frames.at(-1)?.t ?? 0;
const at = values.at !== undefined ? Number(values.at) : rec.boundS > 0 ? Math.min(rec.boundS, lastT) : lastT;
if (!Number.isFinite(at) || at < 0) throw new Error(`--at wants a number of seconds, not ${values.at}`);

const contentDir = await mkdtemp(join(tmpdir(), 'tabswarm-replay-shot-'));
const server = await createServer({ port: 0, host: '127.0.0.1', contentDir, appDir: resolve(APP_DIR), demoSize: 0, logLevel: 'warn' });
const executablePath = findChromium();
const browser = await chromium.launch({ headless: true, ...(executablePath ? { executablePath } : {}) });
try {
  const context = await browser.newContext({
    viewport: { width: Number(values.width), height: 900 },
    deviceScaleFactor: 1,
    colorScheme: values.dark ? 'dark' : 'light',
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${server.url}/replay.html`);
  await page.locator('#replay-file').setInputFiles(resolve(recordingPath));
  await page.locator('#replay-view').waitFor({ state: 'visible' });
  await page.locator('#replay-time').fill(String(at));
  await page.locator('#replay-time').blur(); // no focus ring in the picture
  // Two animation frames: the grid and the chart have drawn the time set.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const error = await page.locator('#replay-error').textContent();
  if (error) throw new Error(`the page says: ${error}`);
  await mkdir(dirname(values.out), { recursive: true });
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`${values.out}: ${Math.round(statSync(values.out).size / 1024)} KiB, ${rec.peers.length} peers at t = ${at} s`);
} finally {
  await browser.close();
  await server.close();
  await rm(contentDir, { recursive: true, force: true });
}
