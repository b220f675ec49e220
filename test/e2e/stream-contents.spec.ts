/**
 * Playing while downloading, beyond one video in one tab (src/sw/sw.ts asks every tab it
 * controls; each answers for the contents it downloads):
 * - three tabs of one browser download three contents at once (a video, an audio file, an
 *   image): the video and the `<audio>` play in the app's player, an `<img>` shows the image,
 *   and each tab gets the other tabs' contents through the worker, byte for byte;
 * - a tab reloaded in the middle of a download resumes with the pieces it stored and plays
 *   again, without fetching them a second time.
 * The files are made by ffmpeg (test/helpers/media.ts: deterministic, cached).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { publishFile } from '../../signaling/publish.js';
import { createServer } from '../../signaling/server.js';
import { makeTestAudio, makeTestImage, makeTestVideo } from '../helpers/media.js';
import { openPeer, stats, waitComplete } from './fixtures.js';

const PIECE = 64 * 1024;

interface Published {
  contentId: string;
  fileSha256: string;
  fileSize: number;
  pieceCount: number;
}

let server: Awaited<ReturnType<typeof createServer>>;
let dir: string;
const files = {} as Record<'video' | 'audio' | 'image', Published>;

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-e2e-contents-'));
  const contentDir = join(dir, 'content');
  // A 16 s video (~6 MB, 92 pieces), 160 s of Opus (~1.9 MB, 29 pieces), a 1024x768 PNG (~1.6 MB, 26 pieces).
  const made = {
    video: { media: await makeTestVideo({ seconds: 16, bitrateMbps: 3 }), name: 'clip.mp4' },
    audio: { media: await makeTestAudio({ seconds: 160 }), name: 'beep.weba' },
    image: { media: await makeTestImage({ width: 1024, height: 768 }), name: 'pattern.png' },
  };
  for (const [key, { media, name }] of Object.entries(made)) {
    const { contentId, metadata } = await publishFile(media.path, { contentDir, name, pieceSize: PIECE });
    expect(metadata.mimeType).toBe(media.mimeType);
    expect(metadata.fileSha256).toBe(media.sha256);
    files[key as keyof typeof files] = { contentId, fileSha256: metadata.fileSha256, fileSize: metadata.fileSize, pieceCount: metadata.pieceSha256.length };
  }
  server = await createServer({ port: 0, host: '127.0.0.1', contentDir, demoSize: 0, logLevel: 'warn' });
});
test.afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const link = (contentId: string, query: string) => `${server.url}/?${query}#c=${contentId}`;

/**
 * Waits until the app's player (video or audio) has played past `seconds`; returns the
 * download's state seen in that same poll (a later look could find it complete on a loaded
 * machine, though it played while downloading).
 */
async function playsPast(page: Page, seconds: number): Promise<string> {
  const seen = await page.waitForFunction(
    (s) => (((document.getElementById('dl-media') as HTMLMediaElement | null)?.currentTime ?? 0) > s ? window.tabswarm.current()!.download.state : false),
    seconds,
    { timeout: 45_000, polling: 100 },
  );
  return (await seen.jsonValue()) as string;
}

/** Fetches `url` in `page` (through its Service Worker) and returns the status and the SHA-256 of the body. */
function fetchSha256(page: Page, url: string): Promise<{ status: number; type: string | null; sha256: string }> {
  return page.evaluate(async (u) => {
    const response = await fetch(u);
    const body = new Uint8Array(await response.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body));
    return { status: response.status, type: response.headers.get('content-type'), sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  }, url);
}

const swarmUrlOf = (page: Page) => page.evaluate(() => window.tabswarm.current()!.url());
const stateOf = (page: Page) => page.evaluate(() => window.tabswarm.current()!.download.state);

test('three tabs download a video, an audio file and an image at once: each plays or shows while it downloads, and each tab gets the others\' through the worker', async ({ browser }) => {
  // Slow CDNs, so that all three are still downloading while they play: ~62 s, ~30 s and ~4 s.
  // (The audio is long so that its download outlasts a loaded machine's slow start: with 80 s
  // of it, 31 s at this rate, a full `npm test` run once saw it complete before it played 1 s
  // even when watched first.)
  // Chromium starts the audio only once it has buffered some 20 s of it (~8 s in at 30 kB/s).
  const video = await openPeer(browser, link(files.video.contentId, 'httpDelayMs=0&maxForegroundCdnBytesPerSec=200000'));
  const context = video.context;
  const audio = await context.newPage();
  await audio.goto(link(files.audio.contentId, 'httpDelayMs=0&maxForegroundCdnBytesPerSec=30000'));
  const image = await context.newPage();
  await image.goto(link(files.image.contentId, 'httpDelayMs=0&maxForegroundCdnBytesPerSec=400000'));

  // Each player's tab is brought to the front before it is watched, as a user looks at the tab
  // that plays: Chromium may hold back loading the media of a tab in the background. The audio,
  // the slowest to start, is watched first: watched second, it twice completed its 31 s
  // download without having played 1 s in CI runs, its loading held back while the video's tab
  // was in front.
  await audio.bringToFront();
  expect(await playsPast(audio, 1), 'the audio plays while it downloads').toBe('downloading');
  expect(await audio.evaluate(() => document.getElementById('dl-media')!.tagName)).toBe('AUDIO');
  await video.page.bringToFront();
  expect(await playsPast(video.page, 1), 'the video plays while it downloads').toBe('downloading');

  // The image tab shows it in an <img> from its swarm URL (the app has no viewer for images).
  const imageUrl = await swarmUrlOf(image);
  expect(imageUrl).toBe(`${server.url}/swarm/${files.image.contentId}/pattern.png`);
  const shown = await image.evaluate(
    (src) =>
      new Promise<{ width: number; height: number }>((resolve, reject) => {
        const img = document.createElement('img');
        img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
        img.onerror = () => reject(new Error('the image did not load'));
        img.src = src;
        document.body.append(img);
      }),
    imageUrl,
  );
  expect(shown).toEqual({ width: 1024, height: 768 });

  // Each tab asks for the others' contents: the worker finds the tab that has each.
  const audioUrl = await swarmUrlOf(audio);
  const videoUrl = await swarmUrlOf(video.page);
  const fromVideoTab = await fetchSha256(video.page, audioUrl);
  expect(fromVideoTab).toEqual({ status: 200, type: 'audio/webm', sha256: files.audio.fileSha256 });
  const fromAudioTab = await fetchSha256(audio, imageUrl);
  expect(fromAudioTab).toEqual({ status: 200, type: 'image/png', sha256: files.image.fileSha256 });
  const fromImageTab = await fetchSha256(image, videoUrl);
  expect(fromImageTab).toEqual({ status: 200, type: 'video/mp4', sha256: files.video.fileSha256 });

  for (const page of [video.page, audio, image]) await waitComplete(page);
  expect((await video.page.evaluate(() => (document.getElementById('dl-media') as HTMLVideoElement).error?.message ?? null))).toBeNull();
  await context.close();
});

test('a tab reloaded in the middle of a download resumes with the pieces it stored and plays again, without fetching them twice', async ({ browser }) => {
  // ~600 KB/s from the CDN: the 6 MB video takes ~10 s.
  const url = link(files.video.contentId, 'httpDelayMs=0&maxForegroundCdnBytesPerSec=600000');
  const { context, page } = await openPeer(browser, url);
  await playsPast(page, 1);
  await page.waitForFunction((n) => window.tabswarm.current()!.download.have.cardinality >= n, Math.ceil(files.video.pieceCount / 3), { timeout: 30_000, polling: 50 });
  await page.reload();
  await page.waitForFunction(() => window.tabswarm?.current()?.download.snapshot().piecesFromStore, undefined, { timeout: 30_000, polling: 50 });
  const resumed = await stats(page);
  expect(resumed.piecesFromStore, 'at least a third of the pieces were stored before the reload').toBeGreaterThanOrEqual(Math.ceil(files.video.pieceCount / 3));
  expect(await stateOf(page), 'still downloading after the reload').toBe('downloading');
  await playsPast(page, 2);
  await waitComplete(page);
  const end = await stats(page);
  // After the reload only what was missing came from the CDN (a piece in flight at the reload may come twice).
  expect(end.bytesFromCdn, `${end.bytesFromCdn} bytes from the CDN after the reload`).toBeLessThanOrEqual(files.video.fileSize - (resumed.piecesFromStore - 4) * PIECE);
  expect(await page.evaluate(() => window.tabswarm.current()!.download.fileSha256)).toBe(files.video.fileSha256);
  const served = await fetchSha256(page, await swarmUrlOf(page));
  expect(served.sha256).toBe(files.video.fileSha256);
  await context.close();
});
