/**
 * The replay page (replay.html) in real Chromium, served by the tabswarm server: a recording
 * built by code (test/helpers/synthetic-recording.ts: 50 peers, 20 frames) is opened through
 * the file input, and the page's figures, its grid's pixels and its slider are checked; bad
 * files and a ?src= on another origin end as messages on the page, with no request made.
 * Run alone with `npm run test:e2e -- replay`.
 */
import { expect, test, type Page } from '@playwright/test';
import type { SimRecording } from '../../src/protocol/sim-recording.js';
import { syntheticRecording } from '../helpers/synthetic-recording.js';
import { screenshot, startTestServer, type TestSwarmServer } from './fixtures.js';

let swarm: TestSwarmServer;
const rec = syntheticRecording();

test.beforeAll(async () => {
  swarm = await startTestServer(64 * 1024, 83);
});
test.afterAll(async () => swarm?.close());

async function openReplay(page: Page, query = ''): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${swarm.server.url}/replay.html${query}`);
  return errors;
}

function pick(page: Page, name: string, content: string | SimRecording) {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  return page.locator('#replay-file').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(text) });
}

const figure = (page: Page, panel: 'now' | 'summary', key: string) => page.locator(`#replay-${panel} dd[data-figure="${key}"]`);

/** The RGB at the centre of peer i's cell, read from the canvas. */
function cellColour(page: Page, i: number): Promise<[number, number, number]> {
  return page.evaluate((index) => {
    const canvas = document.getElementById('replay-grid') as HTMLCanvasElement;
    const cell = Number(canvas.dataset.cellPx);
    const perRow = Number(canvas.dataset.perRow);
    const x = (index % perRow) * cell + Math.floor(cell / 2);
    const y = Math.floor(index / perRow) * cell + Math.floor(cell / 2);
    const [r, g, b] = canvas.getContext('2d')!.getImageData(x, y, 1, 1).data;
    return [r!, g!, b!] as [number, number, number];
  }, i);
}

async function scrub(page: Page, t: number): Promise<void> {
  await page.locator('#replay-time').fill(String(t));
  await expect(page.locator('#replay-grid')).toHaveAttribute('data-frame', String(Math.min(19, Math.floor(t))));
}

test('a recording from a file: the run figures, the grid by source and progress, and the slider', async ({ page }) => {
  const errors = await openReplay(page);
  await pick(page, 'synthetic.json', rec);
  await expect(page.locator('#replay-view')).toBeVisible();
  await expect(page.locator('#replay-title')).toHaveText('synthetic · seed 7');

  // The run's figures, computed here from the recording the test built.
  const times = rec.peers.flatMap((p) => (p.doneS === undefined ? [] : [p.doneS - p.joinS])).sort((a, b) => a - b);
  expect(times.length).toBe(26);
  const mean = times.reduce((a, b) => a + b) / times.length / rec.boundS;
  const p95 = times[Math.ceil(0.95 * times.length) - 1]! / rec.boundS;
  // The CDN's pieces: those the peers hold at the end, and the 15 of the peer that left at t = 15.
  const cdnPieces = rec.frames.at(-1)!.fromCdn.reduce((a, b) => a + b, 0) + 15;
  await expect(figure(page, 'summary', 'peers')).toHaveText('50 (5 liars, 5 stallers)');
  await expect(figure(page, 'summary', 'completed')).toHaveText('26 of 50');
  await expect(figure(page, 'summary', 'mean')).toHaveText(`${mean.toFixed(2)}× bound`);
  await expect(figure(page, 'summary', 'p95')).toHaveText(`${p95.toFixed(2)}× bound`);
  await expect(figure(page, 'summary', 'cdn-copies')).toHaveText(`≈ ${(cdnPieces / rec.pieceCount).toFixed(2)}× the file`);
  await expect(figure(page, 'summary', 'bound')).toHaveText('8.0 s');

  // At the end: peer 0 (every piece from the CDN) and peer 1 (every piece from peers) are
  // both complete, in different colours: the CDN's orange, the peers' green.
  await scrub(page, 19);
  await expect(page.locator('#replay-clock')).toHaveText('19.0 s / 19.0 s');
  const last = rec.frames.at(-1)!;
  await expect(figure(page, 'now', 'complete')).toHaveText(String(last.have.filter((h) => h === rec.pieceCount).length));
  const cdnOnly = await cellColour(page, 0);
  const peersOnly = await cellColour(page, 1);
  console.log(`complete peers at the end: from the CDN rgb(${cdnOnly}), from peers rgb(${peersOnly})`);
  expect(cdnOnly).not.toEqual(peersOnly);
  expect(cdnOnly[0]).toBeGreaterThan(cdnOnly[1]); // more red than green: orange
  expect(peersOnly[1]).toBeGreaterThan(peersOnly[0]); // more green than red
  // A liar (7) is framed: its cell's corner is not its centre.
  const liarCorner = await page.evaluate(() => {
    const canvas = document.getElementById('replay-grid') as HTMLCanvasElement;
    const cell = Number(canvas.dataset.cellPx);
    return [...canvas.getContext('2d')!.getImageData(7 * cell, 0, 1, 1).data.slice(0, 3)];
  });
  expect(liarCorner).not.toEqual(await cellColour(page, 7));

  // Back to t = 0: nobody holds a piece; peer 0 looks like any other peer in the swarm with
  // none (peer 5), and peer 2 (not yet joined) is greyed otherwise.
  await scrub(page, 0);
  await expect(page.locator('#replay-clock')).toHaveText('0.0 s / 19.0 s');
  await expect(figure(page, 'now', 'progress')).toHaveText('0.0%');
  await expect(figure(page, 'now', 'complete')).toHaveText('0');
  await expect(figure(page, 'now', 'in-swarm')).toHaveText('11 of 50');
  const empty = await cellColour(page, 0);
  expect(empty).toEqual(await cellColour(page, 5));
  expect(empty).not.toEqual(cdnOnly);
  expect(await cellColour(page, 2)).not.toEqual(empty);
  await screenshot(page, 'replay-light');

  // Space plays (the focus on the slider, as after scrubbing) and pauses.
  await page.locator('#replay-time').focus();
  await page.keyboard.press('Space');
  await expect(page.locator('#replay-play')).toHaveText('Pause');
  await expect.poll(() => page.locator('#replay-time').inputValue().then(Number)).toBeGreaterThan(0);
  await page.keyboard.press('Space');
  await expect(page.locator('#replay-play')).toHaveText('Play');
  expect(errors).toEqual([]);
});

test('malformed files are told on the page, and a good one opens after them', async ({ page }) => {
  const errors = await openReplay(page);
  const error = page.locator('#replay-error');
  await pick(page, 'bad.json', '{"format":"x"}');
  await expect(error).toBeVisible();
  await expect(error).toContainText('Could not open bad.json: not a tabswarm simulation recording: format');
  await expect(page.locator('#replay-view')).toBeHidden();
  await pick(page, 'text.json', 'hello');
  await expect(error).toContainText('Could not open text.json: not JSON');
  await pick(page, 'empty.json', { ...rec, frames: [] });
  await expect(error).toContainText('no frames');
  await pick(page, 'good.json', rec);
  await expect(page.locator('#replay-view')).toBeVisible();
  await expect(error).toBeHidden();
  expect(errors).toEqual([]);
});

test('?src= loads from this origin only: another origin is refused without a request', async ({ page }) => {
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors = await openReplay(page, '?src=https://example.com/x');
  await expect(page.locator('#replay-error')).toContainText("refused ?src=https://example.com/x: a recording is loaded only from this page's origin");
  expect(requests.filter((u) => !u.startsWith(swarm.server.url))).toEqual([]);

  // The same origin: fetched (answered here by the test, as a server with recordings would).
  await page.route(`${swarm.server.url}/recordings/run.json`, (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify(rec) }));
  await page.goto(`${swarm.server.url}/replay.html?src=/recordings/run.json`);
  await expect(page.locator('#replay-view')).toBeVisible();
  await expect(figure(page, 'summary', 'completed')).toHaveText('26 of 50');
  expect(errors).toEqual([]);
});

test('the app links to the replay page, and a file dropped on it opens', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${swarm.server.url}/`);
  await page.getByRole('link', { name: 'Replay a swarm simulation' }).click();
  await expect(page).toHaveURL(`${swarm.server.url}/replay.html`);
  // The URL changes when the navigation commits; the page's module (the drop handler) runs
  // before DOMContentLoaded. A drop before it went unheard: 1 run in 8.
  await page.waitForLoadState('domcontentloaded');
  const dataTransfer = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'dropped.json', { type: 'application/json' }));
    return dt;
  }, JSON.stringify(rec));
  await page.dispatchEvent('#replay-drop', 'drop', { dataTransfer });
  await expect(page.locator('#replay-view')).toBeVisible();
  await expect(figure(page, 'summary', 'completed')).toHaveText('26 of 50');
  expect(errors).toEqual([]);
});
