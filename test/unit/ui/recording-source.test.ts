/** src/ui/replay/recording-source.ts: a recording from this origin only, and never more than the cap. */
import { describe, expect, it } from 'vitest';
import { MAX_RECORDING_BYTES, readCapped, recordingFromFile, recordingFromText, sameOriginUrl } from '../../../src/ui/replay/recording-source.js';
import { syntheticRecording } from '../../helpers/synthetic-recording.js';

const page = 'https://tabs.example:8080/replay.html?src=/r.json';

describe('sameOriginUrl', () => {
  it('resolves paths on the page origin', () => {
    expect(sameOriginUrl('/recordings/a.json', page).href).toBe('https://tabs.example:8080/recordings/a.json');
    expect(sameOriginUrl('a.json', page).href).toBe('https://tabs.example:8080/a.json');
    expect(sameOriginUrl('https://tabs.example:8080/x', page).pathname).toBe('/x');
  });

  it('refuses other origins, schemes and ports, saying why', () => {
    for (const src of ['https://example.com/x', '//example.com/x', 'http://tabs.example:8080/x', 'https://tabs.example:9090/x', 'data:application/json,{}', 'javascript:alert(1)']) {
      expect(() => sameOriginUrl(src, page), src).toThrow(expect.objectContaining({ kind: 'recording-source', message: expect.stringContaining("only from this page's origin") }));
    }
  });
});

describe('readCapped', () => {
  it('reads a body under the cap', async () => {
    expect(await readCapped(new Response('{"a":1}'), 100)).toBe('{"a":1}');
  });

  it('refuses a declared length over the cap before reading', async () => {
    const r = new Response('x', { headers: { 'content-length': String(MAX_RECORDING_BYTES + 1) } });
    await expect(readCapped(r)).rejects.toMatchObject({ kind: 'recording-source', message: expect.stringContaining('at most 64 MiB') });
  });

  it('stops reading a body that grows past the cap', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(1024));
      },
    });
    await expect(readCapped(new Response(body), 10_000)).rejects.toMatchObject({ kind: 'recording-source' });
    expect(pulled).toBeLessThan(20);
  });
});

describe('recordings from text and files', () => {
  it('parses a valid recording', async () => {
    const text = JSON.stringify(syntheticRecording());
    expect(recordingFromText(text).peers.length).toBe(50);
    expect((await recordingFromFile(new Blob([text]))).frames.length).toBe(20);
  });

  it('says what is wrong with anything else', async () => {
    expect(() => recordingFromText('{"format":"x"}')).toThrow(expect.objectContaining({ kind: 'sim-recording', message: expect.stringContaining('not a tabswarm simulation recording') }));
    expect(() => recordingFromText('nope')).toThrow(expect.objectContaining({ kind: 'sim-recording', message: expect.stringContaining('not JSON') }));
    await expect(recordingFromFile(new Blob(['x'.repeat(200)]), 100)).rejects.toMatchObject({ kind: 'recording-source' });
  });
});
