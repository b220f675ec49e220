/**
 * Thousands of random frames at a running Arrays service over real WebSockets: text that is
 * not JSON, JSON of every shape, valid messages corrupted at the text level, binary frames,
 * frames near and over the size limit. The server must answer every socket that stays open,
 * close the abusive ones, and still serve a well-behaved peer after every batch.
 * The frames come from fast-check with a fixed seed, so a failure replays.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { serverMessageSchema } from '../../src/protocol/arrays-messages.js';
import { LIMITS } from '../../src/protocol/limits.js';
import type { ServerHandle } from '../../signaling/server.js';
import { applyEdits, textEditArb } from '../helpers/text-edits.js';
import { peerId, TestClient, useContentServer } from './helpers.js';

const FRAMES = 6000;
const BATCH = 500;
/** Sockets sending at once; each sends up to FRAMES_PER_SOCKET frames, then a fresh one takes over. */
const PARALLEL = 8;
const FRAMES_PER_SOCKET = 12;

describe('Arrays service under random frames', () => {
  const fixture = useContentServer(7);
  let server: ServerHandle;
  let contentId: string;
  beforeAll(() => ({ server, contentId } = fixture));

  function frames(seed: number): Array<string | Buffer> {
    const valid = [
      JSON.stringify({
        type: 'announce',
        contentId,
        peerId: peerId(1),
        report: { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 10, isBackground: false, uploadedBps: 0, downloadBps: 0, mode: 'lan' },
      }),
      JSON.stringify({ type: 'signal', contentId, to: peerId(2), data: { type: 'offer', sdp: 'v=0\r\n' } }),
      JSON.stringify({ type: 'signal', contentId, to: peerId(2), data: { type: 'answer', sdp: 'v=0\r\n' } }),
      JSON.stringify({ type: 'leave', contentId }),
      JSON.stringify({ type: 'ban', contentId, peerId: peerId(3) }),
    ];
    const tokens = ['{', '}', '[', ']', '"', ':', ',', 'null', 'true', '-1', '1e999', '"__proto__"', '\\u0000', '"type"', '"announce"'];
    const frame = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...valid), fc.array(textEditArb(tokens), { minLength: 1, maxLength: 6 })).map(([t, e]) => applyEdits(t, e)) },
      { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
      { weight: 1, arbitrary: fc.constantFrom(...valid) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
      { weight: 1, arbitrary: fc.integer({ min: LIMITS.maxSignalingMessageBytes - 64, max: LIMITS.maxSignalingMessageBytes + 64 }).map((n) => 'x'.repeat(n)) },
    );
    return fc.sample(frame, { numRuns: FRAMES, seed });
  }

  /** Sends `batch` over sockets of FRAMES_PER_SOCKET frames each; counts replies and closes. */
  async function fire(batch: Array<string | Buffer>, tally: { replies: number; malformedReplies: number; closedByServer: number; sockets: number }): Promise<void> {
    let next = 0;
    async function worker(): Promise<void> {
      while (next < batch.length) {
        const mine = batch.slice(next, next + FRAMES_PER_SOCKET);
        next += mine.length;
        const ws = new WebSocket(server.arraysUrl);
        tally.sockets++;
        ws.on('error', () => undefined);
        ws.on('message', (data: RawData, isBinary: boolean) => {
          tally.replies++;
          const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
          let ok = !isBinary;
          try {
            ok &&= serverMessageSchema.safeParse(JSON.parse(text)).success;
          } catch {
            ok = false;
          }
          if (!ok) tally.malformedReplies++;
        });
        const closed = new Promise<void>((resolve) =>
          ws.once('close', (code) => {
            if (code === 1008 || code === 1009) tally.closedByServer++;
            resolve();
          }),
        );
        const opened = await new Promise<boolean>((resolve) => {
          ws.once('open', () => resolve(true));
          ws.once('close', () => resolve(false));
        });
        if (!opened) continue;
        for (const f of mine) {
          if (ws.readyState !== WebSocket.OPEN) break;
          ws.send(f, { binary: typeof f !== 'string' });
        }
        // Let the server answer what it took, then go.
        await Promise.race([closed, new Promise((r) => setTimeout(r, 50))]);
        ws.terminate();
        await closed;
      }
    }
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  }

  /** A well-behaved peer joins and gets its peer list. */
  async function healthy(n: number): Promise<void> {
    const c = await TestClient.connect(server.arraysUrl);
    try {
      c.announce(contentId, peerId(1000 + n));
      const reply = await c.next(3000);
      expect(serverMessageSchema.parse(reply).type).toBe('peers');
    } finally {
      c.close();
    }
  }

  it(`answers ${FRAMES} random frames with well-formed replies and keeps serving well-behaved peers`, async () => {
    const all = frames(20261126);
    const tally = { replies: 0, malformedReplies: 0, closedByServer: 0, sockets: 0 };
    for (let i = 0; i < all.length; i += BATCH) {
      await fire(all.slice(i, i + BATCH), tally);
      await healthy(i / BATCH);
    }
    console.log(`arrays fuzz: ${all.length} frames over ${tally.sockets} sockets; ${tally.replies} replies, ${tally.malformedReplies} malformed; ${tally.closedByServer} sockets closed by the server (1008/1009)`);
    expect(tally.malformedReplies).toBe(0);
    // Each socket is answered until the server closes it (10 bad frames, or one oversized frame).
    expect(tally.replies).toBeGreaterThan(tally.sockets * 3);
    expect(tally.closedByServer).toBeGreaterThan(0);
    expect(server.arrays.connections).toBeLessThanOrEqual(1);
  }, 120_000);
});
