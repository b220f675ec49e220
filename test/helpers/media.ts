/**
 * Deterministic test media made with ffmpeg, for the "play while it downloads" tests (a
 * Service Worker serving a content to <video> and <audio>).
 *
 * Same options + same ffmpeg build => the same bytes: every encoder and filter runs on one
 * thread (x264 is byte-deterministic only with `-threads 1`, and the noise filter's slices
 * with `-filter_threads 1`), the noise has a fixed seed, and the muxers write no time, no
 * version and no random IDs (`+bitexact`, `-map_metadata -1`). A file is cached in
 * `os.tmpdir()/tabswarm-media/` under the SHA-256 of ffmpeg's arguments and the first line of
 * `ffmpeg -version`, so a run pays for an encode once (150 s at 8 Mbit/s takes ~80 s on one
 * core). Not in the key: the libx264/libopus library versions, which a distribution can update
 * under the same ffmpeg; callers that pin a SHA-256 should take it from the result, not a constant.
 *
 * ffmpeg runs at `nice -n 19` so that an encode does not slow the tests and benchmarks around it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_VIDEO_FPS, testVideoArgs } from '../../signaling/demo-video.js';

export interface TestVideoOptions {
  /** Length; the clip has round(seconds * 30) frames at 30 fps. */
  seconds: number;
  /** Constant bitrate of the video stream in Mbit/s (10^6 bits/s); at most 20 (H.264 level 4.0). */
  bitrateMbps: number;
  /** Even, default 640 (x 360): what headless Chromium decodes without dropping frames. */
  width?: number;
  height?: number;
  /** Where the file is cached; default `os.tmpdir()/tabswarm-media`. */
  cacheDir?: string;
}

export interface TestAudioOptions {
  /** Length; a multiple of 0.02 s (Opus frames) gives whole frames. */
  seconds: number;
  /** Where the file is cached; default `os.tmpdir()/tabswarm-media`. */
  cacheDir?: string;
}

export interface TestMedia<M extends string = string> {
  /** The cached file: complete whenever it exists (written under a temp name, then renamed). */
  path: string;
  bytes: number;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  mimeType: M;
  /** RFC 6381 codecs parameter, for `MediaSource.isTypeSupported` / `canPlayType`. */
  codecs: string;
  /** The nominal length (frames / fps); containers may report a few ms more (Opus pre-skip). */
  durationSeconds: number;
}

/** Why no media file: ffmpeg is not installed (`missing`) or exited with an error (`failed`). */
export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';
  constructor(
    readonly kind: 'missing' | 'failed',
    message: string,
    /** The last lines ffmpeg wrote to stderr ('' when it never ran). */
    readonly stderrTail = '',
    readonly exitCode: number | null = null,
  ) {
    super(stderrTail ? `${message}\n--- ffmpeg stderr (last lines) ---\n${stderrTail}` : message);
  }
}

const FPS = TEST_VIDEO_FPS;
const FFMPEG = process.env.FFMPEG_PATH || 'ffmpeg';
/** Temp files older than this in the cache dir are leftovers of a killed run. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_SUFFIX = '.partial';

let versionLine: string | null | undefined;

/** First line of `ffmpeg -version`, or null when ffmpeg cannot run; asked once per process. */
function ffmpegVersion(): string | null {
  if (versionLine === undefined) {
    const r = spawnSync(FFMPEG, ['-version'], { encoding: 'utf8', timeout: 10_000 });
    versionLine = r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
  }
  return versionLine;
}

/** Whether ffmpeg (`$FFMPEG_PATH`, else `ffmpeg` on PATH) runs; for `describe.skipIf`. */
export function ffmpegAvailable(): boolean {
  return ffmpegVersion() !== null;
}

/**
 * An H.264 (High, level 4.0) MP4 of testsrc2 with temporal noise (so the encoder spends the whole
 * bitrate on every frame), a keyframe every 2 s exactly (no scene-cut keyframes), constant
 * bitrate (CBR HRD with filler), and `moov` before `mdat` (faststart: playable from the first
 * bytes). No audio track.
 */
export function makeTestVideo(opts: TestVideoOptions): Promise<TestMedia<'video/mp4'>> {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const frames = Math.round(opts.seconds * FPS);
  const bits = Math.round(opts.bitrateMbps * 1e6);
  if (!(frames > 0)) throw new RangeError(`makeTestVideo: seconds must give at least one frame at ${FPS} fps, got ${opts.seconds}`);
  if (!(bits > 0 && bits <= 20e6)) throw new RangeError(`makeTestVideo: bitrateMbps must be in (0, 20] (level 4.0), got ${opts.bitrateMbps}`);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && width % 2 === 0 && height % 2 === 0)) {
    throw new RangeError(`makeTestVideo: width and height must be positive even integers (yuv420p), got ${width}x${height}`);
  }
  // Level 4.0 allows 8192 macroblocks a frame (1920x1080) at 30 fps; the codecs string says 4.0.
  if (Math.ceil(width / 16) * Math.ceil(height / 16) > 8192) throw new RangeError(`makeTestVideo: ${width}x${height} exceeds H.264 level 4.0`);
  const args = testVideoArgs({ frames, bitsPerSec: bits, width, height });
  return cachedEncode(args, '.mp4', opts.cacheDir, { mimeType: 'video/mp4' as const, codecs: 'avc1.640028', durationSeconds: frames / FPS });
}

/**
 * A small Opus-in-WebM audio file (stereo, 48 kHz, 64 kbit/s): a 440 Hz sine that beeps every
 * second, so a listener or an analyser can tell it is playing. Cues (the seek index) are moved
 * to the front, so the file is seekable from its first bytes, like the faststart MP4.
 */
export function makeTestAudio(opts: TestAudioOptions): Promise<TestMedia<'audio/webm'>> {
  if (!(opts.seconds > 0 && Number.isFinite(opts.seconds))) throw new RangeError(`makeTestAudio: seconds must be positive, got ${opts.seconds}`);
  const args = [
    '-filter_threads', '1',
    '-f', 'lavfi',
    '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000,aformat=channel_layouts=stereo',
    '-t', String(opts.seconds),
    '-c:a', 'libopus', '-b:a', '64000',
    '-threads', '1',
    '-cues_to_front', '1',
    '-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1',
    '-f', 'webm',
  ];
  return cachedEncode(args, '.webm', opts.cacheDir, { mimeType: 'audio/webm' as const, codecs: 'opus', durationSeconds: opts.seconds });
}

export interface TestImageOptions {
  width: number;
  height: number;
  /** Where the file is cached; default `os.tmpdir()/tabswarm-media`. */
  cacheDir?: string;
}

/**
 * A PNG of testsrc2 with noise (ffmpeg's fixed default seed: the same bytes every time), which
 * compresses little: about 3 bytes a pixel, so a 1024x768 image is some 2 MB, several pieces.
 */
export function makeTestImage(opts: TestImageOptions): Promise<TestMedia<'image/png'>> {
  const { width, height } = opts;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new RangeError(`makeTestImage: width and height must be positive integers, got ${width}x${height}`);
  const args = [
    '-filter_threads', '1',
    '-f', 'lavfi',
    '-i', `testsrc2=size=${width}x${height}:rate=1,noise=alls=60:allf=u`,
    '-frames:v', '1',
    '-c:v', 'png', '-pix_fmt', 'rgb24',
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1',
    '-f', 'image2',
  ];
  return cachedEncode(args, '.png', opts.cacheDir, { mimeType: 'image/png' as const, codecs: '', durationSeconds: 0 });
}

/** Encodes in flight in this process, by final path: a second caller waits for the first. */
const inFlight = new Map<string, Promise<void>>();

async function cachedEncode<M extends string>(
  args: string[],
  ext: string,
  cacheDir: string | undefined,
  info: { mimeType: M; codecs: string; durationSeconds: number },
): Promise<TestMedia<M>> {
  const version = ffmpegVersion();
  if (version === null) throw new FfmpegError('missing', `ffmpeg not found or not runnable (${FFMPEG}); install it (Debian: apt-get install ffmpeg) or set FFMPEG_PATH`);
  const dir = cacheDir ?? join(tmpdir(), 'tabswarm-media');
  const key = createHash('sha256').update(JSON.stringify(args)).update('\n').update(version).digest('hex');
  const path = join(dir, `${key}${ext}`);
  if (!(await exists(path))) {
    let pending = inFlight.get(path);
    if (!pending) {
      pending = encodeTo(args, dir, path).finally(() => inFlight.delete(path));
      inFlight.set(path, pending);
    }
    await pending;
  }
  const { bytes, sha256 } = await hashFile(path);
  return { path, bytes, sha256, ...info };
}

/**
 * Runs ffmpeg into a temp name of its own in `dir`, then renames it to `path`. The rename is
 * atomic, so `path` is complete whenever it exists; two processes encoding the same file at
 * once each rename identical bytes over it. A killed run leaves only a `.partial` file, which a
 * later call removes once it is an hour old.
 */
async function encodeTo(args: string[], dir: string, path: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  try {
    await runFfmpeg([...args, temp]);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function removeStaleTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!name.endsWith(TEMP_SUFFIX)) continue;
    const file = join(dir, name);
    const s = await stat(file).catch(() => null);
    if (s && Date.now() - s.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
  }
}

/** ffmpeg at the lowest CPU priority (nice(1) where there is one: its threads inherit it). */
function runFfmpeg(args: string[]): Promise<void> {
  const full = ['-nostdin', '-y', '-hide_banner', '-loglevel', 'error', ...args];
  const [cmd, argv] = process.platform === 'win32' ? [FFMPEG, full] : ['nice', ['-n', '19', FFMPEG, ...full]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr = (stderr + s).slice(-16_384);
    });
    child.on('error', (err) => reject(new FfmpegError('missing', `could not start ${cmd}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const tail = stderr.trimEnd().split('\n').slice(-20).join('\n');
      reject(new FfmpegError('failed', `ffmpeg exited with ${signal ?? `code ${code}`}: ${FFMPEG} ${full.join(' ')}`, tail, code));
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function hashFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, sha256: h.digest('hex') };
}
