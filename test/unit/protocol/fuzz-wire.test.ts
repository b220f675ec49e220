/**
 * Property-based fuzzing of the peer wire codec (src/protocol/wire.ts). Every frame a remote
 * peer sends goes through `decodeFrame`, so it must never throw, must check every index and
 * offset against the content, and must not copy or allocate past LIMITS.maxWireChunk.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/protocol/limits.js';
import {
  decodeFrame,
  encodeBitfield,
  encodeCancel,
  encodeHandshake,
  encodeHave,
  encodePiece,
  encodeReject,
  encodeRequest,
  FrameType,
  PIECE_HEADER_BYTES,
  WIRE_VERSION,
  type DecodeResult,
  type Frame,
  type WireContext,
} from '../../../src/protocol/wire.js';

const HANDSHAKE_BYTES = 42;
const MAX_FRAME_BYTES = PIECE_HEADER_BYTES + LIMITS.maxWireChunk;

/** A content shape: `pieceCount` pieces of `pieceSize` bytes, the last one `lastLength`. */
interface FuzzContext extends WireContext {
  pieceSize: number;
  lastLength: number;
}

function makeContext(pieceCount: number, pieceSize: number, lastLength: number): FuzzContext {
  return {
    pieceCount,
    pieceSize,
    lastLength,
    // Strict on purpose: decodeFrame must only ask for the length of an index it has range-checked.
    pieceLength(index: number): number {
      if (!Number.isInteger(index) || index < 0 || index >= pieceCount) throw new Error(`pieceLength(${index}) asked out of range`);
      return index === pieceCount - 1 ? lastLength : pieceSize;
    },
  };
}

const pieceSizeArb = fc.oneof(
  fc.integer({ min: 1, max: 2048 }),
  fc.integer({ min: 14, max: 24 }).map((k) => 2 ** k), // the sizes metadata allows
);

const contextArb: fc.Arbitrary<FuzzContext> = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), pieceSizeArb)
  .chain(([count, size]) => fc.integer({ min: 1, max: size }).map((last) => makeContext(count, size, last)));

/** Contexts whose pieces can hold a full-size chunk, for the large-frame property. */
const bigContextArb: fc.Arbitrary<FuzzContext> = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), fc.oneof(fc.integer({ min: 18, max: 24 }).map((k) => 2 ** k), fc.integer({ min: 1, max: 2 ** 24 })))
  .chain(([count, size]) => fc.integer({ min: 1, max: size }).map((last) => makeContext(count, size, last)));

const u32Arb = fc.oneof(
  fc.integer({ min: 0, max: 5100 }),
  fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 2 ** 18, 2 ** 24, 2 ** 24 - 1),
  fc.nat({ max: 0xffffffff }),
);

const typeArb = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.nat({ max: 255 }));

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Places `bytes` at a random offset inside a larger buffer, so byteOffset handling is exercised too. */
function embed(bytes: Uint8Array, before: number, after: number): Uint8Array {
  const host = new Uint8Array(before + bytes.byteLength + after).fill(0xa5);
  host.set(bytes, before);
  return host.subarray(before, before + bytes.byteLength);
}

/** Re-encodes a decoded frame with the public encoders. */
function reencode(frame: Frame): Uint8Array {
  switch (frame.type) {
    case 'handshake': {
      const out = encodeHandshake(frame.contentId, frame.pieceCount);
      out[5] = frame.version; // the encoder always writes WIRE_VERSION; the decoder leaves the check to the session
      return out;
    }
    case 'bitfield':
      return encodeBitfield(frame.bits);
    case 'have':
      return encodeHave(frame.index);
    case 'request':
      return encodeRequest(frame.index);
    case 'cancel':
      return encodeCancel(frame.index);
    case 'reject':
      return encodeReject(frame.index);
    case 'piece':
      return encodePiece(frame.index, frame.offset, frame.data);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/**
 * What any result of decodeFrame must satisfy, whatever the input. Uses plain checks (not
 * expect) in the hot path and throws with a description, which fast-check reports and shrinks.
 */
function checkResult(input: Uint8Array, ctx: FuzzContext, r: DecodeResult): void {
  const fail = (why: string): never => {
    throw new Error(`${why}; input ${input.byteLength} bytes [${Array.from(input.subarray(0, 16)).join(',')}...], ctx ${ctx.pieceCount}x${ctx.pieceSize} last ${ctx.lastLength}`);
  };
  if (typeof r !== 'object' || r === null || typeof r.ok !== 'boolean') fail('result is not {ok}');
  if (!r.ok) {
    if (typeof r.reason !== 'string' || r.reason.length === 0) fail('rejection without a reason');
    return;
  }
  if (input.byteLength > MAX_FRAME_BYTES) fail('accepted an oversized frame');
  const f = r.frame;
  switch (f.type) {
    case 'handshake':
      if (input.byteLength !== HANDSHAKE_BYTES) fail('handshake of the wrong length accepted');
      if (f.contentId.byteLength !== 32) fail('contentId is not 32 bytes');
      if (!Number.isInteger(f.version) || f.version < 0 || f.version > 255) fail('version out of byte range');
      if (!isU32(f.pieceCount)) fail('handshake pieceCount is not a u32');
      break;
    case 'bitfield': {
      const expected = Math.ceil(ctx.pieceCount / 8);
      if (f.bits.byteLength !== expected) fail(`bitfield of ${f.bits.byteLength} bytes, expected ${expected}`);
      if (f.bits.byteLength > input.byteLength) fail('bitfield larger than its frame');
      const spare = expected * 8 - ctx.pieceCount;
      if (spare > 0 && (f.bits[expected - 1]! & ((1 << spare) - 1)) !== 0) fail('bitfield has bits past the last piece');
      break;
    }
    case 'have':
    case 'request':
    case 'cancel':
    case 'reject':
      if (input.byteLength !== 5) fail('index frame of the wrong length accepted');
      if (!Number.isInteger(f.index) || f.index < 0 || f.index >= ctx.pieceCount) fail(`index ${f.index} out of range`);
      break;
    case 'piece': {
      if (!Number.isInteger(f.index) || f.index < 0 || f.index >= ctx.pieceCount) fail(`piece index ${f.index} out of range`);
      if (!isU32(f.offset)) fail('offset is not a u32');
      if (f.data.byteLength < 1) fail('empty piece chunk accepted');
      if (f.offset + f.data.byteLength > ctx.pieceLength(f.index)) fail('chunk overruns its piece');
      if (f.data.byteLength > LIMITS.maxWireChunk) fail('chunk larger than LIMITS.maxWireChunk');
      // A view of the input, not a copy, and no larger than it.
      if (f.data.buffer !== input.buffer) fail('piece data is not a view of the input');
      if (f.data.byteOffset !== input.byteOffset + PIECE_HEADER_BYTES) fail('piece data view at the wrong offset');
      if (f.data.byteLength !== input.byteLength - PIECE_HEADER_BYTES) fail('piece data view of the wrong length');
      break;
    }
    default:
      fail(`unknown frame type ${(f as { type: unknown }).type}`);
  }
  // The decoder is canonical: re-encoding an accepted frame gives back the exact input.
  if (!sameBytes(reencode(f), input)) fail('re-encoding the decoded frame does not give the input back');
}

function decodeChecked(input: Uint8Array, ctx: FuzzContext): DecodeResult {
  let r: DecodeResult;
  try {
    r = decodeFrame(input, ctx);
  } catch (e) {
    throw new Error(`decodeFrame threw on ${input.byteLength} bytes [${Array.from(input.subarray(0, 16)).join(',')}]: ${String(e)}`);
  }
  checkResult(input, ctx, r);
  return r;
}

/** Valid frames for a context, with their expected decoding. */
function validFrameArb(ctx: FuzzContext): fc.Arbitrary<Frame> {
  const index = fc.integer({ min: 0, max: ctx.pieceCount - 1 });
  const bytes = Math.ceil(ctx.pieceCount / 8);
  const spare = bytes * 8 - ctx.pieceCount;
  const bitfield = fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((bits): Frame => {
    if (spare > 0) bits[bytes - 1]! &= ~((1 << spare) - 1) & 0xff;
    return { type: 'bitfield', bits };
  });
  const piece = index.chain((i) => {
    const len = ctx.pieceLength(i);
    const maxChunk = Math.min(len, LIMITS.maxWireChunk, 4096); // small chunks keep the runs cheap; the large property covers full ones
    return fc.integer({ min: 1, max: maxChunk }).chain((chunk) =>
      fc
        .tuple(fc.oneof(fc.constant(0), fc.constant(len - chunk), fc.integer({ min: 0, max: len - chunk })), fc.uint8Array({ minLength: chunk, maxLength: chunk }))
        .map(([offset, data]): Frame => ({ type: 'piece', index: i, offset, data })),
    );
  });
  return fc.oneof(
    fc
      .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.oneof(fc.constant(ctx.pieceCount), fc.nat({ max: 0xffffffff })))
      .map(([contentId, pieceCount]): Frame => ({ type: 'handshake', version: WIRE_VERSION, contentId, pieceCount })),
    bitfield,
    fc.tuple(fc.constantFrom('have', 'request', 'cancel', 'reject' as const), index).map(([type, i]): Frame => ({ type, index: i })),
    piece,
  );
}

function encodeFrame(f: Frame): Uint8Array {
  return reencode(f);
}

/** Byte-level mutations of an encoded frame. */
type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'retype'; type: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 0xff, 0x80, 0x7f), fc.nat({ max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('retype' as const), type: fc.integer({ min: 0, max: 8 }) }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.byteLength;
  const pos = (at: number, span: number) => (span <= 0 ? 0 : at % span);
  switch (m.kind) {
    case 'flip': {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[pos(m.at, n)]! ^= 1 << m.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[pos(m.at, n)] = m.value;
      return out;
    }
    case 'insert': {
      const at = pos(m.at, n + 1);
      const out = new Uint8Array(n + m.bytes.byteLength);
      out.set(bytes.subarray(0, at), 0);
      out.set(m.bytes, at);
      out.set(bytes.subarray(at), at + m.bytes.byteLength);
      return out;
    }
    case 'delete': {
      if (n === 0) return bytes;
      const at = pos(m.at, n);
      const out = new Uint8Array(n - Math.min(m.count, n - at));
      out.set(bytes.subarray(0, at), 0);
      out.set(bytes.subarray(at + m.count), at);
      return out;
    }
    case 'truncate':
      return bytes.slice(0, pos(m.at, n + 1));
    case 'extend': {
      const out = new Uint8Array(n + m.bytes.byteLength);
      out.set(bytes, 0);
      out.set(m.bytes, n);
      return out;
    }
    case 'retype': {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[0] = m.type;
      return out;
    }
  }
}

/** A Uint8Array that counts copies and views taken of it (slice, subarray). */
class SpyBytes extends Uint8Array {
  copies = 0;
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    this.copies++;
    return new Uint8Array(this.buffer as ArrayBuffer, this.byteOffset, this.byteLength).slice(start, end);
  }
  override subarray(begin?: number, end?: number): Uint8Array<ArrayBuffer> {
    this.copies++;
    return new Uint8Array(this.buffer as ArrayBuffer, this.byteOffset, this.byteLength).subarray(begin, end);
  }
}

// One shared backing store for the large-frame properties: 4 MiB of zeros with a header written per run.
const LARGE_HOST = new ArrayBuffer(4 * 1024 * 1024);

// Runs per property: 6000 + 6000 + 400 + 4000 + 6000 = 22,400.
const RUNS = { random: 6000, structured: 6000, large: 400, roundTrip: 4000, mutation: 6000 };

describe('fuzz: wire codec', () => {
  it('decodeFrame survives arbitrary bytes (0..600) in any context', () => {
    fc.assert(
      fc.property(contextArb, fc.uint8Array({ maxLength: 600 }), fc.nat({ max: 16 }), fc.nat({ max: 16 }), (ctx, bytes, before, after) => {
        decodeChecked(embed(bytes, before, after), ctx);
      }),
      { numRuns: RUNS.random },
    );
  });

  it('decodeFrame survives structured random frames (known types, edge indexes and offsets)', () => {
    // Header fields aimed at the content about half the time, so the accepting paths are reached too.
    const structuredArb = contextArb.chain((ctx) => {
      const index = fc.oneof(fc.integer({ min: 0, max: ctx.pieceCount - 1 }), fc.constantFrom(ctx.pieceCount, ctx.pieceCount - 1), u32Arb);
      const offset = fc.oneof(fc.integer({ min: 0, max: ctx.pieceSize }), fc.constantFrom(ctx.pieceSize - 1, ctx.lastLength - 1, ctx.lastLength), u32Arb);
      const natural = (type: number) =>
        type === FrameType.Handshake ? HANDSHAKE_BYTES : type === FrameType.Bitfield ? 1 + Math.ceil(ctx.pieceCount / 8) : type === FrameType.Piece ? undefined : 5;
      const length = fc.oneof(fc.constant('natural' as const), fc.constantFrom(0, 1, 4, 5, 6, 8, 9, 10, 41, 42, 43), fc.nat({ max: 700 }), fc.constant(undefined));
      return fc.tuple(fc.constant(ctx), typeArb, index, offset, fc.uint8Array({ maxLength: 600 }), length).map(([c, type, i, off, tail, len]) => {
        const full = Uint8Array.from([type, ...u32(i), ...u32(off), ...tail]);
        const cut = len === 'natural' ? natural(type) : len;
        return [c, cut === undefined ? full : full.slice(0, cut)] as const;
      });
    });
    fc.assert(
      fc.property(structuredArb, fc.nat({ max: 8 }), ([ctx, bytes], before) => {
        decodeChecked(embed(bytes, before, 3), ctx);
      }),
      { numRuns: RUNS.structured },
    );
  });

  it('large frames around the cap: accepted chunks never exceed LIMITS.maxWireChunk, oversized frames are rejected before any copy', () => {
    const sizeArb = fc.oneof(
      { arbitrary: fc.integer({ min: LIMITS.maxWireChunk - 16, max: LIMITS.maxWireChunk + 20 }), weight: 6 },
      { arbitrary: fc.constantFrom(MAX_FRAME_BYTES - 1, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES + 2), weight: 3 },
      { arbitrary: fc.integer({ min: MAX_FRAME_BYTES + 1, max: LARGE_HOST.byteLength - 64 }), weight: 1 },
    );
    fc.assert(
      fc.property(bigContextArb, sizeArb, typeArb, u32Arb, fc.nat({ max: 32 }), fc.boolean(), (ctx, size, type, rawIndex, start, aimed) => {
        const host = new Uint8Array(LARGE_HOST);
        host.fill(0, start, start + Math.max(size, 10)); // reset the header left by the previous run
        const index = aimed ? rawIndex % ctx.pieceCount : rawIndex;
        const chunk = size - PIECE_HEADER_BYTES;
        // Aimed runs put the chunk where it fits if it can (offset 0 or flush with the end of the piece).
        const offset = aimed && chunk > 0 ? Math.max(0, ctx.pieceLength(index) - chunk) * (start & 1) : rawIndex;
        host.set([aimed ? FrameType.Piece : type, ...u32(index), ...u32(offset)], start);
        const input = new SpyBytes(LARGE_HOST, start, size);
        const r = decodeChecked(input, ctx);
        if (size > MAX_FRAME_BYTES) {
          expect(r.ok).toBe(false);
          expect(!r.ok && r.reason).toMatch(/too large/);
          expect(input.copies).toBe(0); // rejected on the length alone: nothing sliced or viewed
        }
        if (r.ok && r.frame.type === 'piece') expect(r.frame.data.byteLength).toBeLessThanOrEqual(LIMITS.maxWireChunk);
      }),
      { numRuns: RUNS.large },
    );
    // The exact boundary, deterministically: a full chunk is accepted, one byte more is not.
    const ctx = makeContext(2, 2 ** 20, 2 ** 20);
    const full = encodePiece(1, 0, new Uint8Array(LIMITS.maxWireChunk));
    const ok = decodeChecked(full, ctx);
    expect(ok.ok && ok.frame.type === 'piece' && ok.frame.data.byteLength).toBe(LIMITS.maxWireChunk);
    const over = new SpyBytes(PIECE_HEADER_BYTES + LIMITS.maxWireChunk + 1);
    over.set(full.subarray(0, PIECE_HEADER_BYTES));
    expect(decodeChecked(over, ctx).ok).toBe(false);
    expect(over.copies).toBe(0);
  });

  it('valid frames round-trip through encode and decode', () => {
    fc.assert(
      fc.property(
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), validFrameArb(ctx))),
        fc.nat({ max: 16 }),
        ([ctx, frame], before) => {
          const encoded = embed(encodeFrame(frame), before, 5);
          const r = decodeChecked(encoded, ctx);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          if (frame.type === 'piece' && r.frame.type === 'piece') {
            expect({ ...r.frame, data: Array.from(r.frame.data) }).toEqual({ ...frame, data: Array.from(frame.data) });
          } else {
            expect(r.frame).toEqual(frame);
          }
        },
      ),
      { numRuns: RUNS.roundTrip },
    );
  });

  it('mutated valid frames never throw, and whatever is accepted is still in bounds', () => {
    fc.assert(
      fc.property(
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), validFrameArb(ctx))),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.option(contextArb, { freq: 4, nil: undefined }), // sometimes decode against other content
        ([ctx, frame], mutations, other) => {
          const bytes = mutations.reduce(mutate, encodeFrame(frame));
          decodeChecked(bytes, other ?? ctx);
        },
      ),
      { numRuns: RUNS.mutation },
    );
  });
});
