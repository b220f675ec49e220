/**
 * The demo video of a first start (signaling/demo-video.ts): made by ffmpeg and published as an
 * MP4 the app plays while it downloads; without ffmpeg, nothing is published and the start goes on.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishDemoVideo } from '../../signaling/demo-video.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  delete process.env.FFMPEG_PATH;
});

describe('the demo video', () => {
  it('is an H.264 MP4 of about 10 MB, published as tabswarm-demo-video.mp4, with no temp file left', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-demo-video-'));
    const result = await publishDemoVideo(join(dir, 'content'));
    expect(result?.metadata).toMatchObject({ name: 'tabswarm-demo-video.mp4', mimeType: 'video/mp4' });
    expect(result!.metadata.fileSize).toBeGreaterThan(9_000_000);
    expect(result!.metadata.fileSize).toBeLessThan(11_500_000);
    expect((await readdir(join(dir, 'content'))).filter((f) => f.startsWith('.demo-video'))).toEqual([]);
  }, 60_000);

  it('without ffmpeg, publishes nothing and does not throw', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-demo-video-'));
    process.env.FFMPEG_PATH = join(dir, 'no-such-ffmpeg');
    expect(await publishDemoVideo(join(dir, 'content'))).toBeUndefined();
  });
});
