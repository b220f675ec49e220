/**
 * The test-media helper: the same options give the same bytes in two cache dirs (so a file's
 * SHA-256 can be published once and checked anywhere), the cache is reused, and the MP4 is
 * what the playback tests rely on: H.264 640x360, 4 s, `moov` before `mdat`. Fails where
 * ffmpeg (with ffprobe) is not installed: the playback tests need it, and CI installs it.
 */
import { spawnSync } from 'node:child_process';
import { open, rm, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegAvailable, makeTestAudio, makeTestVideo } from '../../helpers/media.js';

const ffprobeAvailable = spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;

/** The top-level boxes of an MP4 file, in order: type and size (read header by header). */
async function topLevelBoxes(path: string): Promise<Array<{ type: string; size: number }>> {
  const file = await open(path, 'r');
  try {
    const { size: fileSize } = await file.stat();
    const boxes: Array<{ type: string; size: number }> = [];
    const header = Buffer.alloc(16);
    for (let at = 0; at < fileSize; ) {
      await file.read(header, 0, 16, at);
      let size = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (size === 1) size = Number(header.readBigUInt64BE(8));
      else if (size === 0) size = fileSize - at;
      if (size < 8) throw new Error(`bad box size ${size} at ${at}`);
      boxes.push({ type, size });
      at += size;
    }
    return boxes;
  } finally {
    await file.close();
  }
}

describe('makeTestVideo / makeTestAudio', () => {
  it('finds ffmpeg and ffprobe (CI installs them: .ci/run)', () => {
    expect(ffmpegAvailable()).toBe(true);
    expect(ffprobeAvailable).toBe(true);
  });

  const dirs: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(join(tmpdir(), 'tabswarm-media-test-')));
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('makes the same 4 s H.264 MP4 byte for byte in two cache dirs, faststart, and reuses it', async () => {
    const opts = { seconds: 4, bitrateMbps: 2 };
    const [a, b] = await Promise.all([makeTestVideo({ ...opts, cacheDir: dirs[0] }), makeTestVideo({ ...opts, cacheDir: dirs[1] })]);
    expect(a.path.startsWith(dirs[0]!)).toBe(true);
    expect(b.path.startsWith(dirs[1]!)).toBe(true);
    expect(a.sha256).toBe(b.sha256);
    expect(a.bytes).toBe(b.bytes);
    expect(a).toMatchObject({ mimeType: 'video/mp4', codecs: 'avc1.640028', durationSeconds: 4 });
    // Constant bitrate: 4 s at 2 Mbit/s is ~1 MB (the CBR filler keeps it from coming in far under).
    expect(a.bytes).toBeGreaterThan(0.85 * 1e6);
    expect(a.bytes).toBeLessThan(1.25 * 1e6);

    // A second call finds the cached file and does not write it again.
    const before = await stat(a.path);
    const again = await makeTestVideo({ ...opts, cacheDir: dirs[0] });
    expect(again.path).toBe(a.path);
    expect(again.sha256).toBe(a.sha256);
    expect((await stat(a.path)).mtimeMs).toBe(before.mtimeMs);

    const types = (await topLevelBoxes(a.path)).map((box) => box.type);
    expect(types[0]).toBe('ftyp');
    expect(types).toContain('mdat');
    expect(types.indexOf('moov')).toBeGreaterThan(-1);
    expect(types.indexOf('moov')).toBeLessThan(types.indexOf('mdat'));
  });

  it('is H.264 640x360 and 4 s long as ffprobe sees it, a keyframe every 2 s', async () => {
    const v = await makeTestVideo({ seconds: 4, bitrateMbps: 2, cacheDir: dirs[0] });
    const probe = spawnSync(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,profile,width,height,nb_frames:format=duration', '-of', 'json', v.path],
      { encoding: 'utf8' },
    );
    expect(probe.status, probe.stderr).toBe(0);
    const info = JSON.parse(probe.stdout) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
    expect(info.streams[0]).toMatchObject({ codec_name: 'h264', profile: 'High', width: 640, height: 360, nb_frames: '120' });
    expect(Number(info.format.duration)).toBeCloseTo(4, 1);

    const keyframes = spawnSync(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', v.path],
      { encoding: 'utf8' },
    );
    expect(keyframes.status, keyframes.stderr).toBe(0);
    // One line a packet, "<pts_time>,<flags>"; K marks a keyframe.
    const keyTimes = keyframes.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(','))
      .filter(([, flags]) => flags?.includes('K'))
      .map(([t]) => Number(t));
    expect(keyTimes).toEqual([0, 2]);
  });

  it('makes the same Opus/WebM audio byte for byte in two cache dirs', async () => {
    const [a, b] = await Promise.all([makeTestAudio({ seconds: 2, cacheDir: dirs[0] }), makeTestAudio({ seconds: 2, cacheDir: dirs[1] })]);
    expect(a.sha256).toBe(b.sha256);
    expect(a).toMatchObject({ mimeType: 'audio/webm', codecs: 'opus', durationSeconds: 2 });
    expect(a.bytes).toBeGreaterThan(10_000);
    expect(a.bytes).toBeLessThan(40_000);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,channels,sample_rate', '-of', 'json', a.path], { encoding: 'utf8' });
    expect(JSON.parse(probe.stdout).streams[0]).toMatchObject({ codec_name: 'opus', channels: 2, sample_rate: '48000' });
  });

  it('rejects options it cannot encode deterministically', () => {
    expect(() => makeTestVideo({ seconds: 4, bitrateMbps: 2, width: 641 })).toThrow(RangeError);
    expect(() => makeTestVideo({ seconds: 0, bitrateMbps: 2 })).toThrow(RangeError);
    expect(() => makeTestVideo({ seconds: 4, bitrateMbps: 30 })).toThrow(RangeError);
  });
});
