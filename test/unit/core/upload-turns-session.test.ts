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
import { FirstCopies } from '../../../src/core/first-copies.js';
import { UploadTurns } from '../../../src/core/upload-turns.js';
import { decodeFrame, encodeBitfield, encodeHandshake, encodeRequest } from '../../../src/protocol/wire.js';
import { MemoryLink, openLinkPair } from '../../helpers/memory-network.js';

const PIECE = 32 * 1024;
const COUNT = 8;
const contentId = new Uint8Array(32).fill(5);
/**
 * Lets what is under way settle: a request's hops (the link's message, the storage read, the
 * reply) are timers of 0-1 ms, each set when the one before fired. Five turns of a 2 ms timer,
 * each set after the last fired, come after a chain of up to five such hops however late the
 * machine runs them (a single 5 ms timer did not, on a loaded machine).
 */
const tick = async () => {
  for (let k = 0; k < 5; k++) await new Promise((r) => setTimeout(r, 2));
};
const have = new Bitfield(COUNT);
for (let i = 0; i < COUNT; i++) have.set(i);
/** Which of our pieces another of our peers holds: all but 2 and 3 (first copies, when from the CDN) and 4. */
const heldElsewhere = (i: number) => i !== 2 && i !== 3 && i !== 4;

/**
 * A link whose sent bytes stay buffered until the test drains it (then the session has a tick
 * to act), with a low-water mark of 0; `promisesDrain` false: no mark (a transport that
 * promises no 'drain').
 */
function holding(link: MemoryLink, promisesDrain: boolean): { drain(): Promise<void> } {
  const send = link.send.bind(link);
  link.send = (frame: Uint8Array) => {
    send(frame);
    link.buffered += frame.byteLength;
  };
  if (promisesDrain) Object.defineProperty(link, 'lowWaterMark', { value: 0 });
  return {
    async drain() {
      link.buffered = 0;
      link.emitter.emit('drain', undefined);
      await tick();
    },
  };
}

/**
 * Sessions named `names` of one download, sharing `turns`, over links that hold what is sent
 * until drained. A storage read takes a millisecond, so requests that come meanwhile queue up.
 */
async function sessions(names: string[], turns: UploadTurns, config: Partial<typeof DEFAULT_CONFIG> = {}, promisesDrain = true, firstCopies?: FirstCopies) {
  const clock = { now: 1000 };
  const sent: string[] = [];
  const peers = await Promise.all(
    names.map(async (name) => {
      const [a, b] = await openLinkPair();
      const link = holding(a, promisesDrain);
      const s = new PeerSession(
        a,
        { contentId, pieceCount: COUNT, pieceLength: () => PIECE, have, readPiece: async (i) => (await new Promise((r) => setTimeout(r, 1)), new Uint8Array(PIECE).fill(i)), turns, now: () => clock.now, ...(firstCopies ? { firstCopies } : {}) },
        { ...DEFAULT_CONFIG, wireChunkBytes: 8 * 1024, ...config },
      );
      s.start();
      b.on('message', (m) => {
        const f = decodeFrame(m, { pieceCount: COUNT, pieceLength: () => PIECE });
        if (f.ok && f.frame.type === 'piece' && f.frame.offset === 0) sent.push(`${name}:${f.frame.index}`);
        if (f.ok && f.frame.type === 'reject') sent.push(`${name}:reject ${f.frame.index}`);
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
    await A.link.drain();
    // A's turn went to the newest asker, C; B and A wait.
    expect(sent).toEqual(['A:0', 'C:3']);
    await C.link.drain();
    expect(sent).toEqual(['A:0', 'C:3', 'B:2']);
    await B.link.drain();
    expect(sent).toEqual(['A:0', 'C:3', 'B:2', 'A:1']);
    // Alone, A keeps its turn: each piece after the drain of the one before.
    await ask(A, 4);
    await A.link.drain();
    expect(sent.at(-1)).toBe('A:4');
    await ask(A, 5);
    await ask(A, 6);
    expect(sent.at(-1)).toBe('A:4');
    await A.link.drain();
    expect(sent.at(-1)).toBe('A:5');
    // A closes holding its turn: B, asking now, is not left waiting.
    await ask(B, 7);
    A.remote.close();
    await tick();
    expect(sent.at(-1)).toBe('B:7');
  });

  it('a first copy goes first: out of its session\'s queue, and its session keeps the turn for it', async () => {
    const turns = new UploadTurns(1);
    const copies = new FirstCopies(have, heldElsewhere);
    const { peers, sent, ask } = await sessions(['A', 'B'], turns, {}, true, copies);
    const [A, B] = peers as [(typeof peers)[0], (typeof peers)[0]];
    await ask(A, 0);
    await ask(A, 1);
    await ask(B, 3);
    // Piece 2 came from the CDN (granted): no peer holds it.
    copies.fetched(2, 0);
    await ask(A, 2);
    expect(sent).toEqual(['A:0']);
    // B asked after A's piece 1, but A's queue holds the first copy: A keeps the turn for it.
    await A.link.drain();
    expect(sent).toEqual(['A:0', 'A:2']);
    await A.link.drain();
    expect(sent).toEqual(['A:0', 'A:2', 'B:3']);
    await B.link.drain();
    expect(sent).toEqual(['A:0', 'A:2', 'B:3', 'A:1']);
  });

  it('a peer that lacks a first copy and asks for a piece others hold is refused, until the first copy went out whole once', async () => {
    const turns = new UploadTurns(1);
    const copies = new FirstCopies(have, heldElsewhere);
    copies.fetched(2, 0);
    const { peers, sent, ask } = await sessions(['A', 'B'], turns, {}, true, copies);
    const [A, B] = peers as [(typeof peers)[0], (typeof peers)[0]];
    await ask(A, 0);
    expect(sent).toEqual(['A:reject 0']);
    // A piece only we hold is not refused: a REJECT is final over a link.
    await ask(A, 4);
    expect(sent).toEqual(['A:reject 0', 'A:4']);
    await ask(A, 2);
    await A.link.drain();
    expect(sent).toEqual(['A:reject 0', 'A:4', 'A:2']);
    // Sent whole once: a piece like any other now; B gets what it asks.
    await ask(B, 5);
    await ask(B, 2);
    await A.link.drain();
    expect(sent).toEqual(['A:reject 0', 'A:4', 'A:2', 'B:5']);
    await B.link.drain();
    expect(sent).toEqual(['A:reject 0', 'A:4', 'A:2', 'B:5', 'B:2']);
    expect(copies.has(2)).toBe(false);
  });

  it('a request queued before a first copy came is refused at its turn, if its peer lacks the first copy', async () => {
    const turns = new UploadTurns(1);
    const copies = new FirstCopies(have, heldElsewhere);
    const { peers, sent, ask } = await sessions(['A', 'B'], turns, {}, true, copies);
    const [A, B] = peers as [(typeof peers)[0], (typeof peers)[0]];
    await ask(A, 0);
    await ask(B, 1);
    expect(sent).toEqual(['A:0']);
    copies.fetched(3, 0);
    await A.link.drain();
    // B's turn: it lacks piece 3, the only copy; its one request should be for that.
    expect(sent).toEqual(['A:0', 'B:reject 1']);
    await ask(B, 3);
    expect(sent).toEqual(['A:0', 'B:reject 1', 'B:3']);
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
    await B.link.drain();
    expect(sent).toEqual(['A:0', 'B:1']);
    await A.link.drain();
    expect(sent).toEqual(['A:0', 'B:1', 'A:2']);
  });

  it('on a link that promises no drain, a session held up at its high-water mark does not keep the turn', async () => {
    const turns = new UploadTurns(1);
    // Each piece (32 KiB and headers) takes the buffer past the 32 KiB high-water mark.
    const { peers, sent, ask } = await sessions(['A', 'B'], turns, { sendBufferHighBytes: 32 * 1024 }, false);
    const [A, B] = peers as [(typeof peers)[0], (typeof peers)[0]];
    // Both asked at once: piece 1 is queued while piece 0 goes out.
    void ask(A, 0);
    await ask(A, 1);
    expect(sent).toEqual(['A:0']); // A's link holds the piece: A can send nothing more
    await ask(B, 2);
    expect(sent).toEqual(['A:0', 'B:2']);
    await A.link.drain();
    expect(sent).toEqual(['A:0', 'B:2', 'A:1']);
  });
});
