/**
 * Metadata checked off the event loop (signaling/metadata-checker.ts): right answers for good
 * and bad documents, the event loop never stalled by a large one, and a bounded queue.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetadataChecker, MAX_QUEUED, MetadataCheckerBusyError } from '../../signaling/metadata-checker.js';
import { buildMetadata, encodeMetadata } from '../../src/protocol/metadata.js';

const MiB = 1024 * 1024;

function metadata(pieces: number): Uint8Array {
  return encodeMetadata(
    buildMetadata({
      name: 'lecture.mp4',
      mimeType: 'video/mp4',
      fileSize: pieces * MiB,
      pieceSize: MiB,
      fileSha256: randomBytes(32).toString('hex'),
      pieceSha256: Array.from({ length: pieces }, () => randomBytes(32).toString('hex')),
    }),
  );
}

describe('the metadata checker', () => {
  const checker = createMetadataChecker();
  afterAll(() => checker.close());

  it('answers the content ID and the catalog fields of good metadata, and why bad metadata is bad', async () => {
    const good = metadata(3);
    expect(await checker.check(good)).toEqual({
      ok: true,
      contentId: createHash('sha256').update(good).digest('hex'),
      name: 'lecture.mp4',
      mimeType: 'video/mp4',
      fileSize: 3 * MiB,
      pieceSize: MiB,
    });
    const junk = new TextEncoder().encode(`{"format":"tabswarm-metadata","pieceSha256":[${'"x",'.repeat(500_000)}"x"]}`);
    const bad = await checker.check(junk);
    expect(bad).toMatchObject({ ok: false, reason: 'metadata invalid at pieceSha256.0: expected 64 lower-case hex characters' });
    expect(await checker.check(new TextEncoder().encode('not json'))).toMatchObject({ ok: false, reason: 'metadata is not UTF-8 JSON' });
  });

  it('checks a 64 GiB file’s metadata (4 MiB) without stalling the event loop', async () => {
    const big = metadata(64 * 1024 - 1);
    expect(big.byteLength).toBeGreaterThan(4 * MiB);
    await checker.check(metadata(1)); // the worker is up
    let worst = 0;
    let last = performance.now();
    const probe = setInterval(() => {
      const t = performance.now();
      worst = Math.max(worst, t - last);
      last = t;
    }, 5);
    const results = await Promise.all([checker.check(big), checker.check(big)]);
    clearInterval(probe);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    // Parsing it on the main thread blocks for 100-150 ms here; off it, the 5 ms timer keeps time.
    expect(worst).toBeLessThan(60);
  });

  it(`refuses more than ${MAX_QUEUED} waiting jobs (busy), and serves the rest`, async () => {
    const doc = metadata(2000);
    const jobs = Array.from({ length: MAX_QUEUED + 4 }, () => checker.check(doc).then((r) => r.ok, (e: unknown) => e));
    const outcomes = await Promise.all(jobs);
    const busy = outcomes.filter((o) => o instanceof MetadataCheckerBusyError);
    expect(busy.length).toBeGreaterThanOrEqual(3);
    expect(outcomes.filter((o) => o === true).length).toBeGreaterThanOrEqual(MAX_QUEUED);
  });
});
