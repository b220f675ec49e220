import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeBitfield,
  encodeHandshake,
  encodeHave,
  encodePiece,
  encodeRequest,
  PIECE_HEADER_BYTES,
  type WireContext,
} from '../../../src/protocol/wire.js';
import { LIMITS } from '../../../src/protocol/limits.js';

// 10 pieces of 1 KiB and a last one of 100 bytes.
const ctx: WireContext = { pieceCount: 11, pieceLength: (i) => (i < 10 ? 1024 : 100) };
const id = new Uint8Array(32).fill(7);

describe('wire codec', () => {
  it('round-trips every frame type', () => {
    expect(decodeFrame(encodeHandshake(id, 11), ctx)).toEqual({ ok: true, frame: { type: 'handshake', version: 1, contentId: id, pieceCount: 11 } });
    const bits = new Uint8Array([0xff, 0xe0]);
    expect(decodeFrame(encodeBitfield(bits), ctx)).toEqual({ ok: true, frame: { type: 'bitfield', bits } });
    expect(decodeFrame(encodeHave(10), ctx)).toEqual({ ok: true, frame: { type: 'have', index: 10 } });
    expect(decodeFrame(encodeRequest(3), ctx)).toEqual({ ok: true, frame: { type: 'request', index: 3 } });
    const data = new Uint8Array(100).fill(9);
    const piece = decodeFrame(encodePiece(10, 0, data), ctx);
    expect(piece.ok && piece.frame.type === 'piece' && Array.from(piece.frame.data)).toEqual(Array.from(data));
  });

  it('builds a PIECE frame in a buffer it is given, and in a new one when that is too small', () => {
    const into = new Uint8Array(PIECE_HEADER_BYTES + 64).fill(0xee);
    const first = encodePiece(3, 0, new Uint8Array(64).fill(1), into);
    expect(first.buffer).toBe(into.buffer);
    expect(first.byteLength).toBe(PIECE_HEADER_BYTES + 64);
    const decoded = decodeFrame(first, ctx);
    expect(decoded.ok && decoded.frame.type === 'piece' && [decoded.frame.index, decoded.frame.offset, decoded.frame.data[63]]).toEqual([3, 0, 1]);
    // A shorter chunk in the same buffer is a shorter view: nothing of the last frame shows.
    const second = encodePiece(3, 64, new Uint8Array(10).fill(2), into);
    expect(second.byteLength).toBe(PIECE_HEADER_BYTES + 10);
    const again = decodeFrame(second, ctx);
    expect(again.ok && again.frame.type === 'piece' && [again.frame.offset, Array.from(again.frame.data)]).toEqual([64, Array(10).fill(2)]);
    const big = encodePiece(3, 0, new Uint8Array(65), into);
    expect(big.buffer).not.toBe(into.buffer);
  });

  it('rejects out-of-range indexes, overruns and wrong lengths', () => {
    expect(decodeFrame(encodeRequest(11), ctx).ok).toBe(false);
    expect(decodeFrame(encodeHave(0xffffffff), ctx).ok).toBe(false);
    expect(decodeFrame(encodePiece(10, 0, new Uint8Array(101)), ctx).ok).toBe(false);
    expect(decodeFrame(encodePiece(0, 1000, new Uint8Array(25)), ctx).ok).toBe(false);
    expect(decodeFrame(encodePiece(0, 0, new Uint8Array(0)), ctx).ok).toBe(false);
    expect(decodeFrame(encodeBitfield(new Uint8Array(3)), ctx).ok).toBe(false);
    expect(decodeFrame(encodeBitfield(new Uint8Array([0xff, 0xff])), ctx).ok).toBe(false); // bits past piece 10
    expect(decodeFrame(encodeHandshake(id, 11).subarray(0, 20), ctx).ok).toBe(false);
    expect(decodeFrame(new Uint8Array([4, 0, 0]), ctx).ok).toBe(false);
  });

  it('rejects empty, unknown and oversized frames without throwing', () => {
    expect(decodeFrame(new Uint8Array(0), ctx).ok).toBe(false);
    expect(decodeFrame(new Uint8Array([99, 1, 2]), ctx).ok).toBe(false);
    expect(decodeFrame(new Uint8Array(PIECE_HEADER_BYTES + LIMITS.maxWireChunk + 1), ctx).ok).toBe(false);
    const bad = encodeHandshake(id, 11);
    bad[1] = 0;
    expect(decodeFrame(bad, ctx)).toEqual({ ok: false, reason: 'handshake magic mismatch' });
  });

  it('never throws on random bytes', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 2000; n++) {
      const frame = new Uint8Array(1 + (rand() % 64)).map(rand);
      frame[0] = (frame[0]! % 9);
      expect(() => decodeFrame(frame, ctx)).not.toThrow();
    }
  });
});
