/**
 * Playing while downloading: the app's player on a video (H.264, 640x360, constant bitrate,
 * made by ffmpeg: test/helpers/media.ts; 150 s at 8 Mbit/s, ~143 MiB; tiny: 12 s at 2 Mbit/s)
 * that a seeding context already holds.
 *
 * (a) First frame: fresh contexts open the app's link (default settings); from page.goto to
 *     the first frame the player presents (requestVideoFrameCallback, timed in the page by an
 *     init script). Reference, alternating with it: the same page with `?playFrom=cdn`, whose
 *     player plays the CDN's URL straight (the same page load, the same player; only where the
 *     bytes come from differs), in the same run.
 * (b) Seek: in each of (a)'s swarm players, 2 s after its first frame, currentTime is set to
 *     80% of the duration; from then to the next frame presented.
 * (c) Stalls and peer share: a seeder whose uploads are capped at twice the media's rate, and a
 *     fresh context playing the video for 60 s (tiny: 8 s): 'waiting' events after the first
 *     'playing', and the share of its bytes that came from the seeder.
 *
 *   stream_first_frame_p50_s, stream_first_frame_p95_s, stream_http_first_frame_p50_s,
 *   stream_first_frame_vs_http (p50 over p50), stream_seek_p50_s, stream_stalls, stream_peer_share
 */
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { makeTestVideo } from '../test/helpers/media.js';
import { publishFile } from '../signaling/publish.js';
import { createServer } from '../signaling/server.js';
import type { BenchModule } from './types.js';
import { MiB, ROOT, newProbedPage, percentile, round, tempDir, waitProbe } from './util.js';

declare global {
  interface Window {
    __stream?: { firstFrameAt: number; waiting: number; playingAt: number };
  }
}

/**
 * In every page: the player's first presented frame, and its 'waiting' events after it first
 * played. A string, not a function: tsx would wrap the function's inner functions in a helper
 * the page does not have.
 */
const STREAM_PROBE = `(() => {
  const s = { firstFrameAt: 0, waiting: 0, playingAt: 0 };
  window.__stream = s;
  function watch(v) {
    v.requestVideoFrameCallback(function () { if (!s.firstFrameAt) s.firstFrameAt = Date.now(); });
    v.addEventListener('playing', function () { if (!s.playingAt) s.playingAt = Date.now(); });
    v.addEventListener('waiting', function () { if (s.playingAt) s.waiting++; });
  }
  new MutationObserver(function (records) {
    for (const r of records) for (const n of r.addedNodes) if (n instanceof HTMLVideoElement) watch(n);
  }).observe(document, { childList: true, subtree: true });
})()`;

async function videoServer(seconds: number, bitrateMbps: number) {
  const video = await makeTestVideo({ seconds, bitrateMbps });
  const dir = await tempDir('tabswarm-bench-stream-');
  const contentDir = join(dir.path, 'content');
  const { contentId, metadata } = await publishFile(video.path, { contentDir, name: 'clip.mp4' });
  const server = await createServer({ port: 0, host: '127.0.0.1', contentDir, appDir: resolve(ROOT, 'dist/app'), demoSize: 0, logLevel: 'warn' });
  return {
    video,
    metadata,
    link: (query: string) => `${server.url}/?${query}#c=${contentId}`,
    async close() {
      await server.close();
      await dir.remove();
    },
  };
}

/** A fresh probed context (util.ts) whose pages also run the stream probe. */
async function newPage(ctx: Parameters<BenchModule>[0]): Promise<{ context: BrowserContext; page: Page }> {
  const p = await newProbedPage(ctx.browser);
  await p.context.addInitScript({ content: STREAM_PROBE });
  return p;
}

/** page.goto to the first frame (s), and when the download was created and its first piece verified (s from goto, for the log). */
async function firstFrame(page: Page, url: string): Promise<{ seconds: number; detail: string }> {
  const t0 = Date.now();
  await page.goto(url);
  const at = await (await page.waitForFunction(() => window.__stream?.firstFrameAt || 0, undefined, { timeout: 60_000, polling: 20 })).jsonValue();
  const p = await page.evaluate(() => window.__benchProbe!);
  const since = (t: number) => (t ? ((t - t0) / 1000).toFixed(3) : '-');
  return { seconds: (at - t0) / 1000, detail: `download created ${since(p.subscribedAt)} s, first piece ${since(p.firstPieceAt)} s` };
}

/** Seeks to 80% and times the next frame presented (s). */
function seek(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((ok, fail) => {
        const v = document.getElementById('dl-media') as HTMLVideoElement;
        const t0 = Date.now();
        setTimeout(() => fail(new Error('no frame within 30 s of the seek')), 30_000);
        v.addEventListener('seeked', () => v.requestVideoFrameCallback(() => ok((Date.now() - t0) / 1000)), { once: true });
        v.currentTime = v.duration * 0.8;
      }),
  );
}

export const streamBench: BenchModule = async (ctx) => {
  const seconds = ctx.tiny ? 12 : 150;
  const mbit = ctx.tiny ? 2 : 8;
  const rounds = ctx.tiny ? 2 : 5;
  const playSeconds = ctx.tiny ? 8 : 60;
  const media = await videoServer(seconds, mbit);
  const bytesPerSec = media.metadata.fileSize / seconds;
  ctx.log(`stream: ${(media.metadata.fileSize / MiB).toFixed(1)} MiB video, ${seconds} s, ${((bytesPerSec * 8) / 1e6).toFixed(2)} Mbit/s (sha256 ${media.video.sha256.slice(0, 12)}…)`);
  const open: Array<{ context: BrowserContext }> = [];
  try {
    // (a), (b): a seeder without limits.
    const seeder = await newPage(ctx);
    open.push(seeder);
    await seeder.page.goto(media.link('httpDelayMs=0'));
    await waitProbe(seeder.page, 'completeAt', 300_000);
    const swarm: number[] = [];
    const http: number[] = [];
    const seeks: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      const ref = await newPage(ctx);
      const h = await firstFrame(ref.page, media.link('playFrom=cdn'));
      http.push(h.seconds);
      await ref.context.close();
      const p = await newPage(ctx);
      const f = await firstFrame(p.page, media.link(''));
      swarm.push(f.seconds);
      await p.page.waitForTimeout(2000);
      seeks.push(await seek(p.page));
      await p.context.close();
      ctx.log(
        `stream ${r}/${rounds}: first frame ${f.seconds.toFixed(3)} s from the swarm (${f.detail}), ${h.seconds.toFixed(3)} s straight from the CDN (${h.detail}); ` +
          `seek to 80% ${seeks.at(-1)!.toFixed(3)} s`,
      );
    }
    await seeder.context.close();
    // (c): a seeder whose uploads run at twice the media's rate, and one player for playSeconds.
    const capped = await newPage(ctx);
    open.push(capped);
    await capped.page.goto(media.link(`httpDelayMs=0&maxUploadBytesPerSec=${Math.round(2 * bytesPerSec)}`));
    await waitProbe(capped.page, 'completeAt', 300_000);
    const watcher = await newPage(ctx);
    open.push(watcher);
    await firstFrame(watcher.page, media.link(''));
    await watcher.page.waitForTimeout(playSeconds * 1000);
    const end = await watcher.page.evaluate(() => {
      const s = window.tabswarm.current()!.download.snapshot();
      const v = document.getElementById('dl-media') as HTMLVideoElement;
      return { waiting: window.__stream!.waiting, peers: s.bytesFromPeers, cdn: s.bytesFromCdn, currentTime: v.currentTime, error: v.error?.message ?? null };
    });
    if (end.error) throw new Error(`the player failed: ${end.error}`);
    const share = end.peers / Math.max(1, end.peers + end.cdn);
    ctx.log(`stream: ${playSeconds} s of playback with the seeder capped at ${((2 * bytesPerSec) / 1e6).toFixed(2)} MB/s: ${end.waiting} stalls, at ${end.currentTime.toFixed(1)} s, ${(end.peers / MiB).toFixed(1)} MiB from the seeder, ${(end.cdn / MiB).toFixed(1)} MiB from the CDN`);
    return {
      stream_video_mib: round(media.metadata.fileSize / MiB, 1),
      stream_video_mbit_s: round((bytesPerSec * 8) / 1e6, 2),
      stream_first_frame_p50_s: round(percentile(swarm, 50)),
      stream_first_frame_p95_s: round(percentile(swarm, 95)),
      stream_http_first_frame_p50_s: round(percentile(http, 50)),
      stream_http_first_frame_p95_s: round(percentile(http, 95)),
      stream_first_frame_vs_http: round(percentile(swarm, 50) / percentile(http, 50)),
      stream_seek_p50_s: round(percentile(seeks, 50)),
      stream_stalls: end.waiting,
      stream_peer_share: round(share),
      stream_play_s: playSeconds,
    };
  } finally {
    for (const o of open) await o.context.close().catch(() => undefined);
    await media.close();
  }
};
