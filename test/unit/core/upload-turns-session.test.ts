/**
 * Sessions of one download taking upload turns (core/upload-turns.ts, peer-session/uploading.ts):
 * over links that say when they have taken what was sent (a low-water mark and 'drain'), a
 * session sends one piece and nothing more until its link drains; then the turn goes to the
 * waiting session asked most recently, and a session alone keeps it.
 */
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../../src/core/bitfield.js';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { PeerSession } from '../../../src/core/peer-session.js';
import { UploadTurns } from '../../../src/core/upload-turns.js';
import { decodeFrame, encodeBitfield, encodeHandshake, encodeRequest } from '../../../src/protocol/wire.js';
import { MemoryLink, openLinkPair } from '../../helpers/memory-network.js';

const PIECE = 32 * 1024;
const COUNT = 8;
const contentId = new Uint8Array(32).fill(5);
const tick = () => new Promise((r) => setTimeout(r, 5));

/** A link whose sent bytes stay buffered until the test drains it, with a low-water mark of 0. */
function holding(link: MemoryLink): { drain(): void } {
  const send = link.send.bind(link);
  link.send = (frame: Uint8Array) => {
    send(frame);
    link.buffered += frame.byteLength;
  };
  Object.defineProperty(link, 'lowWaterMark', { value: 0 });
  return {
    drain() {
      link.buffered = 0;
      link.emitter.emit('drain', undefined);
    },
  };
}

/** Sessions named `names` of one download, sharing `turns`, over links that hold what is sent until drained. */
async function sessions(names: string[], turns: UploadTurns, config: Partial<typeof DEFAULT_CONFIG> = {}) {
  const have = new Bitfield(COUNT);
  for (let i = 0; i < COUNT; i++) have.set(i);
  const clock = { now: 1000 };
  const sent: string[] = [];
  const peers = await Promise.all(
    names.map(async (name) => {
      const [a, b] = await openLinkPair();
      const link = holding(a);
      const s = new PeerSession(
        a,
        { contentId, pieceCount: COUNT, pieceLength: () => PIECE, have, readPiece: async (i) => new Uint8Array(PIECE).fill(i), turns, now: () => clock.now },
        { ...DEFAULT_CONFIG, wireChunkBytes: 8 * 1024, ...config },
      );
      s.start();
      b.on('message', (m) => {
        const f = decodeFrame(m, { pieceCount: COUNT, pieceLength: () => PIECE });
        if (f.ok && f.frame.type === 'piece' && f.frame.offset === 0) sent.push(`${name}:${f.frame.index}`);
      });
      b.send(encodeHandshake(contentId, COUNT));
      b.send(encodeBitfield(new Uint8Array(1)));
      return { remote: b, link };
    }),
  );
  await tick();
  const ask = async (p: (typeof peers)[number], index: number) => {
    clock.now += 10;
    p.remote.send(encodeRequest(index));
    await tick();
  };
  return { peers, sent, ask };
}

describe('upload turns', () => {
  it('one piece at a time, each after the last one drained; the turn goes to the newest asker', async () => {
    const turns = new UploadTurns(1);
    const { peers, sent, ask } = await sessions(['A', 'B', 'C'], turns);
    const [A, B, C] = peers as [(typeof peers)[0], (typeof peers)[0], (typeof peers)[0]];
    await ask(A, 0);
    await ask(A, 1);
    await ask(B, 2);
    await ask(C, 3);
    // A's first piece is out; nothing more goes until A's link has taken it.
    expect(sent).toEqual(['A:0']);
    A.link.drain();
    await tick();
    // A's turn went to the newest asker, C; B and A wait.
    expect(sent).toEqual(['A:0', 'C:3']);
    C.link.drain();
    await tick();
    expect(sent).toEqual(['A:0', 'C:3', 'B:2']);
    B.link.drain();
    await tick();
    expect(sent).toEqual(['A:0', 'C:3', 'B:2', 'A:1']);
    // Alone, A keeps its turn: each piece after the drain of the one before.
    await ask(A, 4);
    A.link.drain();
    await tick();
    expect(sent.at(-1)).toBe('A:4');
    await ask(A, 5);
    await ask(A, 6);
    expect(sent.at(-1)).toBe('A:4');
    A.link.drain();
    await tick();
    expect(sent.at(-1)).toBe('A:5');
    // A closes holding its turn: B, asking now, is not left waiting.
    await ask(B, 7);
    A.remote.close();
    await tick();
    expect(sent.at(-1)).toBe('B:7');
  });

  it('a remote that stops reading keeps the turn no longer than a piece takes at the minimum rate, and gets it back only once its link drains', async () => {
    const turns = new UploadTurns(1);
    // A piece of 32 KiB at 64 KiB/s is 500 ms; with 100 ms of grace the turn goes on at 600 ms.
    const { peers, sent, ask } = await sessions(['A', 'B'], turns, { peerDeadlineGraceMs: 100, minPeerBytesPerSec: 64 * 1024 });
    const [A, B] = peers as [(typeof peers)[0], (typeof peers)[0]];
    await ask(A, 0);
    await ask(B, 1);
    await ask(A, 2);
    expect(sent).toEqual(['A:0']);
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toEqual(['A:0']); // still A's turn: its piece may yet be taken
    await new Promise((r) => setTimeout(r, 400));
    expect(sent).toEqual(['A:0', 'B:1']); // A's link never drained: B's turn
    // B is done; A, newest asker, still may not send: its link has not taken the last piece.
    B.link.drain();
    await tick();
    expect(sent).toEqual(['A:0', 'B:1']);
    A.link.drain();
    await tick();
    expect(sent).toEqual(['A:0', 'B:1', 'A:2']);
  });
});
