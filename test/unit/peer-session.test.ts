/** PeerSession against a raw link on the other end: the wire as a hostile or honest peer sees it. */
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../src/core/bitfield.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { PeerSession } from '../../src/core/peer-session.js';
import { decodeFrame, encodeBitfield, encodeHandshake, encodePiece, encodeRequest } from '../../src/protocol/wire.js';
import { MemoryLink, openLinkPair } from '../helpers/memory-network.js';

const PIECE = 32 * 1024;
const COUNT = 4;
const contentId = new Uint8Array(32).fill(3);
const tick = () => new Promise((r) => setTimeout(r, 5));

const pair = openLinkPair;

function session(link: MemoryLink, have: Bitfield, timeoutMs = DEFAULT_CONFIG.peerRequestTimeoutMs) {
  const violations: string[] = [];
  const s = new PeerSession(
    link,
    { contentId, pieceCount: COUNT, pieceLength: () => PIECE, have, readPiece: async (i) => new Uint8Array(PIECE).fill(i) },
    { ...DEFAULT_CONFIG, wireChunkBytes: 8 * 1024, maxIncomingRequests: 2, peerRequestTimeoutMs: timeoutMs },
  );
  s.events.on('violation', (v) => violations.push(v));
  s.start();
  return { s, violations };
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
    a.buffered = 64 * 1024 * 1024; // a full send buffer: requests queue up
    for (let i = 0; i < 5; i++) b.send(encodeRequest(2));
    await tick();
    expect(violations.some((v) => v.includes('too many outstanding requests'))).toBe(true);
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

  it('times out only a peer that sends nothing, and takes a cancelled piece arriving late without blame', async () => {
    const [a, b] = await pair();
    const { s, violations } = session(a, new Bitfield(COUNT), 120);
    b.send(encodeHandshake(contentId, COUNT));
    b.send(encodeBitfield(new Uint8Array([0xf0])));
    await tick();
    // Slow but progressing: a chunk every 60 ms for 4 chunks (240 ms > the 120 ms timeout).
    const slow = s.fetch(0, PIECE);
    for (let off = 0; off < PIECE; off += PIECE / 4) {
      await new Promise((r) => setTimeout(r, 60));
      b.send(encodePiece(0, off, new Uint8Array(PIECE / 4)));
    }
    expect((await slow).byteLength).toBe(PIECE);
    // Silent: times out, then its bytes arrive after the cancel.
    const silent = s.fetch(1, PIECE);
    await expect(silent).rejects.toMatchObject({ kind: 'timeout' });
    b.send(encodePiece(1, 0, new Uint8Array(PIECE)));
    await tick();
    expect(violations).toEqual([]);
    expect(s.penalty).toBe(1);
  });

  it('does not ask again for a cancelled piece until its late copy is over, so the late chunks never look out of order', async () => {
    const [a, b] = await pair();
    const { s, violations } = session(a, new Bitfield(COUNT), 100);
    b.send(encodeHandshake(contentId, COUNT));
    b.send(encodeBitfield(new Uint8Array([0xf0])));
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
