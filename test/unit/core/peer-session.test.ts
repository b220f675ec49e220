/** PeerSession against a raw link on the other end: the wire as a hostile or honest peer sees it. */
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../../src/core/bitfield.js';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { PeerSession } from '../../../src/core/peer-session.js';
import type { PeerSessionConfig } from '../../../src/core/peer-session.js';
import { decodeFrame, encodeBitfield, encodeCancel, encodeHandshake, encodeHave, encodePiece, encodeReject, encodeRequest } from '../../../src/protocol/wire.js';
import { MemoryLink, openLinkPair } from '../../helpers/memory-network.js';

const PIECE = 32 * 1024;
const COUNT = 4;
const contentId = new Uint8Array(32).fill(3);
const tick = () => new Promise((r) => setTimeout(r, 5));

const pair = openLinkPair;

function session(link: MemoryLink, have: Bitfield, config: Partial<PeerSessionConfig> = {}) {
  const violations: string[] = [];
  const s = new PeerSession(
    link,
    { contentId, pieceCount: COUNT, pieceLength: () => PIECE, have, readPiece: async (i) => new Uint8Array(PIECE).fill(i) },
    { ...DEFAULT_CONFIG, wireChunkBytes: 8 * 1024, maxIncomingRequests: 2, ...config },
  );
  s.events.on('violation', (v) => violations.push(v));
  s.start();
  return { s, violations };
}

/** The frames the session sends to `b`, as short strings ('piece 2@0', 'reject 1', 'have 3'). */
function recordFrames(b: MemoryLink): string[] {
  const received: string[] = [];
  const ctx = { pieceCount: COUNT, pieceLength: () => PIECE };
  b.on('message', (m) => {
    const f = decodeFrame(m, ctx);
    if (!f.ok) return void received.push(`bad: ${f.reason}`);
    const fr = f.frame;
    received.push(fr.type === 'piece' ? `piece ${fr.index}@${fr.offset}` : 'index' in fr ? `${fr.type} ${fr.index}` : fr.type);
  });
  return received;
}

/** A remote that opened properly (handshake, bitfield `bits`). */
function open(b: MemoryLink, bits = 0xf0): void {
  b.send(encodeHandshake(contentId, COUNT));
  b.send(encodeBitfield(new Uint8Array([bits])));
}

describe('PeerSession', () => {
  it('reports malformed and out-of-protocol frames as violations without throwing', async () => {
    const [a, b] = await pair();
    const { violations } = session(a, new Bitfield(COUNT));
    b.send(encodeRequest(0)); // before the handshake
    b.send(new Uint8Array([42, 1, 2, 3]));
    b.send(encodeHandshake(contentId, COUNT));
    b.send(encodeBitfield(new Uint8Array([0xf0])));
    b.send(encodePiece(1, 0, new Uint8Array(100))); // never requested
    b.send(new Uint8Array([4, 0, 0, 0, 9])); // request for piece 9 of 4
    await tick();
    expect(violations).toHaveLength(4);
    expect(violations[0]).toContain('before handshake');
  });

  it('serves held pieces in chunks, refuses others, and caps outstanding requests', async () => {
    const [a, b] = await pair();
    const have = new Bitfield(COUNT);
    have.set(2);
    const { violations } = session(a, have);
    const received: string[] = [];
    const ctx = { pieceCount: COUNT, pieceLength: () => PIECE };
    b.on('message', (m) => {
      const f = decodeFrame(m, ctx);
      if (f.ok) received.push(f.frame.type === 'piece' ? `piece ${f.frame.index}@${f.frame.offset}` : f.frame.type === 'reject' ? `reject ${f.frame.index}` : f.frame.type);
    });
    b.send(encodeHandshake(contentId, COUNT));
    b.send(encodeBitfield(new Uint8Array([0])));
    b.send(encodeRequest(1)); // not held
    b.send(encodeRequest(2));
    await tick();
    expect(received).toEqual(['handshake', 'bitfield', 'reject 1', 'piece 2@0', 'piece 2@8192', 'piece 2@16384', 'piece 2@24576']);
    // We announced piece 2 only: asking for piece 1 is out of protocol (a probe or a flood).
    expect(violations).toEqual(['request for piece 1, which we never announced']);
    // More requests than maxIncomingRequests (2) queued at once: a violation.
    for (let i = 0; i < COUNT; i++) have.set(i);
    a.buffered = 64 * 1024 * 1024; // a full send buffer: requests queue up
    for (const i of [0, 1, 3]) b.send(encodeRequest(i));
    await tick();
    expect(violations.slice(1)).toEqual(['too many outstanding requests']);
  });

  it('blames a piece cut short when the next piece starts, and still takes the next one', async () => {
    const [a, b] = await pair();
    const { s, violations } = session(a, new Bitfield(COUNT));
    b.send(encodeHandshake(contentId, COUNT));
    b.send(encodeBitfield(new Uint8Array([0xf0])));
    await tick();
    const first = s.fetch(0, PIECE);
    const second = s.fetch(1, PIECE);
    b.send(encodePiece(0, 0, new Uint8Array(PIECE / 2)));
    b.send(encodePiece(1, 0, new Uint8Array(PIECE).fill(1)));
    await expect(first).rejects.toMatchObject({ kind: 'piece-length-mismatch' });
    expect((await second).every((x) => x === 1)).toBe(true);
    expect(violations).toEqual([`piece 0 truncated at ${PIECE / 2} bytes`]);
  });

  // A piece of 32 KiB at 160 KiB/s is 200 ms; with a 100 ms grace its deadline is 300 ms.
  const paced = { peerDeadlineGraceMs: 100, minPeerBytesPerSec: 160 * 1024, peerIdleMs: 1000 };

  it('waits for a peer that progresses at the minimum rate, and cancels a silent one at its deadline (a miss, no blame)', async () => {
    const [a, b] = await pair();
    const frames = recordFrames(b);
    const { s, violations } = session(a, new Bitfield(COUNT), paced);
    open(b);
    await tick();
    // Slow but fast enough: a chunk every 50 ms for 4 chunks (200 ms, within the 300 ms deadline).
    const slow = s.fetch(0, PIECE);
    for (let off = 0; off < PIECE; off += PIECE / 4) {
      await new Promise((r) => setTimeout(r, 50));
      b.send(encodePiece(0, off, new Uint8Array(PIECE / 4)));
    }
    expect((await slow).byteLength).toBe(PIECE);
    // Silent: cancelled at its deadline (a CANCEL goes out), then its bytes arrive after the cancel.
    const t0 = Date.now();
    const silent = s.fetch(1, PIECE);
    await expect(silent).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await tick();
    expect(frames).toContain('cancel 1');
    b.send(encodePiece(1, 0, new Uint8Array(PIECE)));
    await tick();
    expect(violations).toEqual([]);
    expect(s.pace.misses).toBe(1);
  });

  it('a trickling peer misses its deadline even though it is never quiet for long', async () => {
    const [a, b] = await pair();
    const { s } = session(a, new Bitfield(COUNT), paced);
    open(b);
    await tick();
    const missed: number[] = [];
    s.events.on('missed', ({ index }) => missed.push(index));
    const trickled = s.fetch(2, PIECE);
    let off = 0;
    const timer = setInterval(() => {
      if (off + 256 <= PIECE) b.send(encodePiece(2, off, new Uint8Array(256)));
      off += 256;
    }, 20);
    await expect(trickled).rejects.toMatchObject({ kind: 'timeout' });
    clearInterval(timer);
    expect(missed).toEqual([2]);
  });

  it('does not ask again for a cancelled piece until its late copy is over, so the late chunks never look out of order', async () => {
    const [a, b] = await pair();
    const { s, violations } = session(a, new Bitfield(COUNT), paced);
    open(b);
    await tick();
    const first = s.fetch(2, PIECE);
    b.send(encodePiece(2, 0, new Uint8Array(PIECE / 4))); // a slow peer: one chunk, then silence
    await expect(first).rejects.toMatchObject({ kind: 'timeout' });
    // While the old copy may still come, the piece is not askable of this peer.
    expect(s.has(2)).toBe(false);
    await expect(s.fetch(2, PIECE)).rejects.toMatchObject({ kind: 'protocol-violation' });
    // The old copy's remaining chunks arrive late: dropped without blame; then it is askable again.
    for (let off = PIECE / 4; off < PIECE; off += PIECE / 4) b.send(encodePiece(2, off, new Uint8Array(PIECE / 4)));
    await tick();
    expect(s.has(2)).toBe(true);
    const again = s.fetch(2, PIECE);
    for (let off = 0; off < PIECE; off += PIECE / 4) b.send(encodePiece(2, off, new Uint8Array(PIECE / 4).fill(7)));
    expect((await again)[0]).toBe(7);
    expect(violations).toEqual([]);
  });

  it("a REJECT answering our CANCEL ends the cancelled piece: it is askable again at once", async () => {
    const [a, b] = await pair();
    const { s, violations } = session(a, new Bitfield(COUNT), paced);
    open(b);
    await tick();
    await expect(s.fetch(3, PIECE)).rejects.toMatchObject({ kind: 'timeout' });
    expect(s.has(3)).toBe(false);
    b.send(encodeReject(3)); // the answer to our CANCEL
    await tick();
    expect(s.has(3)).toBe(true);
    expect(violations).toEqual([]);
  });

  it('a stranger gets one request at a time; verified pieces widen its window; a peer that lags gets none and can be taken back', async () => {
    const [a, b] = await pair();
    const frames = recordFrames(b);
    const { s } = session(a, new Bitfield(COUNT), { ...paced, peerIdleMs: 60 });
    open(b);
    await tick();
    expect(s.freeSlots()).toBe(1);
    const first = s.fetch(0, PIECE);
    expect(s.freeSlots()).toBe(0);
    b.send(encodePiece(0, 0, new Uint8Array(PIECE)));
    await first;
    s.verified();
    expect(s.pace.isTrusted).toBe(true);
    expect(s.freeSlots()).toBeGreaterThanOrEqual(2);
    // Asked for a piece, it sends nothing: it lags (a trusted peer after the grace, 100 ms
    // here, rather than peerIdleMs), and is asked for nothing more.
    const stuck = s.fetch(1, PIECE);
    expect(s.checkPace()).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(s.checkPace()).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(s.checkPace()).toBe(true);
    expect(s.healthy).toBe(false);
    expect(s.freeSlots()).toBe(0);
    // The scheduler takes the piece back to ask someone else: a CANCEL, not a miss. It owes
    // nothing and no longer lags; trusted, it may be asked again at once (a stranger would
    // wait for the grace: peer-pace.test.ts).
    s.reassign(1);
    await expect(stuck).rejects.toMatchObject({ kind: 'aborted' });
    await tick();
    expect(frames).toContain('cancel 1');
    expect(s.pace.misses).toBe(0);
    expect(s.healthy).toBe(true);
    expect(s.freeSlots()).toBeGreaterThan(0);
    // Completing a piece ends the lag.
    b.send(encodeReject(1));
    await tick();
    const next = s.fetch(2, PIECE);
    b.send(encodePiece(2, 0, new Uint8Array(PIECE)));
    await next;
    expect(s.healthy).toBe(true);
  });

  it('a trusted peer that misses deadlines is asked for half as much each time, then dropped', async () => {
    const [a, b] = await pair();
    const { s } = session(a, new Bitfield(COUNT), { ...paced, peerDeadlineGraceMs: 20, minPeerBytesPerSec: 100 * 1024 * 1024 });
    open(b);
    await tick();
    s.pace.trust();
    const missed: boolean[] = [];
    s.events.on('missed', ({ drop }) => missed.push(drop));
    expect(s.freeSlots()).toBe(2);
    const both = [s.fetch(0, PIECE), s.fetch(1, PIECE)];
    // Both handlers at once: either timer may fire first (a timer that fires early is re-armed).
    await Promise.all(both.map((f) => expect(f).rejects.toMatchObject({ kind: 'timeout' })));
    // The first miss halves 2 to 1; the second, to nothing: drop.
    expect(missed).toEqual([false, true]);
  });

  it('counts a 0-byte frame and a text message as violations', async () => {
    const [a, b] = await pair();
    const { violations } = session(a, new Bitfield(COUNT));
    open(b);
    b.send(new Uint8Array(0));
    await tick();
    a.emitter.emit('malformed', 'a text message of 5 characters');
    expect(violations).toEqual(['empty frame', 'a text message of 5 characters: frames are binary']);
  });

  describe('uploads: bounded by what the remote could use', () => {
    it('refuses a piece the remote announced it holds, and a second request for one already asked', async () => {
      const [a, b] = await pair();
      const have = new Bitfield(COUNT);
      for (let i = 0; i < COUNT; i++) have.set(i);
      const frames = recordFrames(b);
      const { violations } = session(a, have);
      open(b, 0x80); // the remote holds piece 0
      b.send(encodeHave(1));
      b.send(encodeRequest(0));
      b.send(encodeRequest(1));
      await tick();
      expect(frames.filter((f) => f.startsWith('piece'))).toEqual([]);
      expect(frames).toContain('reject 0');
      expect(frames).toContain('reject 1');
      expect(violations).toEqual(['request for piece 0, which it announced it holds', 'request for piece 1, which it announced it holds']);
      a.buffered = 64 * 1024 * 1024; // uploads queue up
      b.send(encodeRequest(2));
      b.send(encodeRequest(2));
      await tick();
      expect(violations.at(-1)).toBe('second request for piece 2');
    });

    it('answers a CANCEL with a REJECT, whether the piece was queued or going out', async () => {
      const [a, b] = await pair();
      const have = new Bitfield(COUNT);
      for (let i = 0; i < COUNT; i++) have.set(i);
      const frames = recordFrames(b);
      const { violations } = session(a, have);
      open(b, 0);
      await tick();
      a.buffered = 64 * 1024 * 1024; // nothing goes out: both requests stay queued
      b.send(encodeRequest(0));
      b.send(encodeRequest(1));
      b.send(encodeCancel(1));
      b.send(encodeCancel(3)); // never asked: nothing happens
      await tick();
      expect(frames.filter((f) => !f.startsWith('piece') && f !== 'handshake' && f !== 'bitfield')).toEqual(['reject 1']);
      a.buffered = 0;
      a.emitter.emit('drain', undefined);
      await tick();
      expect(frames.filter((f) => f.startsWith('piece 0'))).toHaveLength(4);
      expect(frames.some((f) => f.startsWith('piece 1'))).toBe(false);
      expect(violations).toEqual([]);
    });

    it('a request/cancel churner is refused once its waste passes the budget, and struck for CANCELs past the burst', async () => {
      const [a, b] = await pair();
      const have = new Bitfield(COUNT);
      for (let i = 0; i < COUNT; i++) have.set(i);
      const frames = recordFrames(b);
      // Waste budget: one chunk and a bit; 3 CANCELs at once.
      const { s, violations } = session(a, have, { uploadWasteBytes: 9 * 1024, peerCancelBurst: 3, peerCancelsPerSec: 0.001 });
      open(b, 0);
      await tick();
      let rounds = 0;
      // Ask, let one chunk go out, cancel; again and again for the same piece.
      for (; rounds < 6; rounds++) {
        b.send(encodeRequest(0));
        b.send(encodeCancel(0));
        await tick();
      }
      const sent = frames.filter((f) => f.startsWith('piece 0')).length * 8 * 1024;
      // What went out: the piece once (useful), then repeats until the waste passed the budget;
      // at most the file once, plus the budget, plus one piece.
      expect(s.budget.wasted).toBeGreaterThanOrEqual(9 * 1024);
      expect(sent).toBeLessThanOrEqual(PIECE + 9 * 1024 + PIECE);
      expect(violations.some((v) => v.startsWith('request for piece 0 again after'))).toBe(true);
      expect(violations.some((v) => v.startsWith('more than 3 quick CANCELs'))).toBe(true);
    });
  });

  it('closes on a handshake for other content', async () => {
    const [a, b] = await pair();
    const { s, violations } = session(a, new Bitfield(COUNT));
    b.send(encodeHandshake(new Uint8Array(32).fill(9), COUNT));
    await tick();
    expect(violations).toEqual(['handshake names other content']);
    expect(s.ready).toBe(false);
    expect(a.closed).toBe(true);
  });
});
