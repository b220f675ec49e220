/**
 * The demo video: on a first start with an empty content folder (`ensureDemoContent`), a short
 * H.264 test pattern is made with ffmpeg, where it is installed, and published beside the demo
 * file, so that the app's player shows a video playing while the swarm downloads it. Where
 * ffmpeg is missing the server starts without it and says so.
 *
 * `testVideoArgs` is the one ffmpeg command line for test videos (the e2e tests' and the stream
 * benchmark's, test/helpers/media.ts): 30 fps testsrc2 with temporal noise (the encoder spends
 * the whole bitrate on every frame), H.264 High at level 4.0, a keyframe every 2 s, constant
 * bitrate, `moov` first (playable from the first bytes), one thread (byte for byte the same on
 * every run), no audio.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { publishFile, type PublishResult } from './publish.js';

export const TEST_VIDEO_FPS = 30;

export function testVideoArgs(o: { frames: number; bitsPerSec: number; width: number; height: number }): string[] {
  const gop = TEST_VIDEO_FPS * 2;
  const bits = String(o.bitsPerSec);
  return [
    '-filter_threads', '1',
    '-f', 'lavfi',
    '-i', `testsrc2=size=${o.width}x${o.height}:rate=${TEST_VIDEO_FPS},noise=alls=25:allf=t:all_seed=15,format=yuv420p`,
    '-frames:v', String(o.frames),
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-level', '4.0',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-b:v', bits, '-minrate', bits, '-maxrate', bits, '-bufsize', bits,
    '-x264-params', 'nal-hrd=cbr:force-cfr=1',
    '-threads', '1',
    '-movflags', '+faststart',
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1',
    '-f', 'mp4',
  ]; // prettier-ignore
}

/** The demo: 40 s at 2 Mbit/s (10 MB, 10 pieces), a few seconds of one core to make; listed after the demo file (the catalog is sorted by name). */
const DEMO = { seconds: 40, bitsPerSec: 2_000_000, width: 640, height: 360 };

/** Makes and publishes the demo video into `contentDir`; undefined (and a log line) where ffmpeg cannot. */
export async function publishDemoVideo(contentDir: string, logger?: Logger): Promise<PublishResult | undefined> {
  const ffmpeg = process.env.FFMPEG_PATH || 'ffmpeg';
  if (spawnSync(ffmpeg, ['-version'], { stdio: 'ignore', timeout: 10_000 }).status !== 0) {
    logger?.info('no ffmpeg here: no demo video (install ffmpeg to get one on the next first start)');
    return undefined;
  }
  await mkdir(contentDir, { recursive: true });
  const tmp = join(contentDir, `.demo-video-${process.pid}-${Date.now()}.mp4`);
  try {
    logger?.info('making the demo video with ffmpeg');
    const args = ['-nostdin', '-y', '-hide_banner', '-loglevel', 'error', ...testVideoArgs({ ...DEMO, frames: DEMO.seconds * TEST_VIDEO_FPS }), tmp];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(ffmpeg, args, { stdio: 'ignore' });
      child.on('error', () => resolve(null));
      child.on('exit', (c) => resolve(c));
    });
    if (code !== 0) {
      logger?.warn({ code }, 'ffmpeg could not make the demo video; starting without it');
      return undefined;
    }
    const result = await publishFile(tmp, { contentDir, name: 'tabswarm-demo-video.mp4' });
    logger?.info({ contentId: result.contentId }, 'demo video published');
    return result;
  } finally {
    await rm(tmp, { force: true });
  }
}
