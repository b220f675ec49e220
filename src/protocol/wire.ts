/**
 * The peer wire protocol: binary frames on a WebRTC data channel, one frame per message.
 * Byte 0 is the frame type; integers are unsigned 32-bit big-endian. docs/protocol.md
 * documents each frame. `decodeFrame` checks every bound against the content's metadata
 * before returning a typed frame, so the caller never sees an out-of-range index or offset.
 */
import { LIMITS } from './limits.js';

export const WIRE_MAGIC = 0x5453574d; // "TSWM"
export const WIRE_VERSION = 1;

export const FrameType = {
  Handshake: 1,
  Bitfield: 2,
  Have: 3,
  Request: 4,
  Cancel: 5,
  Piece: 6,
  Reject: 7,
} as const;

export type Frame =
  | { type: 'handshake'; version: number; contentId: Uint8Array; pieceCount: number }
  | { type: 'bitfield'; bits: Uint8Array }
  | { type: 'have'; index: number }
  | { type: 'request'; index: number }
  | { type: 'cancel'; index: number }
  | { type: 'piece'; index: number; offset: number; data: Uint8Array }
  | { type: 'reject'; index: number };

/** What the decoder needs to know about the content to check bounds. */
export interface WireContext {
  pieceCount: number;
  pieceLength(index: number): number;
}

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; reason: string };

const HANDSHAKE_BYTES = 1 + 4 + 1 + 32 + 4;
const INDEX_FRAME_BYTES = 5;
export const PIECE_HEADER_BYTES = 9;

/*
 * Integers are read and written byte by byte, not through a DataView: a DataView needs the
 * frame's ArrayBuffer, and asking a small typed array for its buffer makes the engine move
 * its bytes off the heap, a cost paid for every HAVE, REQUEST and CANCEL (most of the frames).
 */
function putUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/** The big-endian unsigned 32-bit integer at `at` of `bytes` (a frame's index or offset). */
export function getUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

export function encodeHandshake(contentId: Uint8Array, pieceCount: number): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_BYTES);
  out[0] = FrameType.Handshake;
  putUint32(out, 1, WIRE_MAGIC);
  out[5] = WIRE_VERSION;
  out.set(contentId.subarray(0, 32), 6);
  putUint32(out, 38, pieceCount);
  return out;
}

export function encodeBitfield(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + bits.byteLength);
  out[0] = FrameType.Bitfield;
  out.set(bits, 1);
  return out;
}

function encodeIndexFrame(type: number, index: number): Uint8Array {
  const out = new Uint8Array(INDEX_FRAME_BYTES);
  out[0] = type;
  putUint32(out, 1, index);
  return out;
}

export const encodeHave = (index: number): Uint8Array => encodeIndexFrame(FrameType.Have, index);
export const encodeRequest = (index: number): Uint8Array => encodeIndexFrame(FrameType.Request, index);
export const encodeCancel = (index: number): Uint8Array => encodeIndexFrame(FrameType.Cancel, index);
export const encodeReject = (index: number): Uint8Array => encodeIndexFrame(FrameType.Reject, index);

/**
 * One chunk of a piece. `data` is copied once into the frame: into `into` when it is given
 * and large enough (the frame is then a view of it, which the caller may reuse once the frame
 * is sent), else into a new buffer.
 */
export function encodePiece(index: number, offset: number, data: Uint8Array, into?: Uint8Array): Uint8Array {
  const size = PIECE_HEADER_BYTES + data.byteLength;
  const out = into && into.byteLength >= size ? into.subarray(0, size) : new Uint8Array(size);
  out[0] = FrameType.Piece;
  putUint32(out, 1, index);
  putUint32(out, 5, offset);
  out.set(data, PIECE_HEADER_BYTES);
  return out;
}

/**
 * Decodes one frame, checking its length and every index and offset against `ctx`.
 * Never throws; a malformed frame yields `{ ok: false, reason }`.
 */
export function decodeFrame(bytes: Uint8Array, ctx: WireContext): DecodeResult {
  if (bytes.byteLength === 0) return bad('empty frame');
  if (bytes.byteLength > PIECE_HEADER_BYTES + LIMITS.maxWireChunk) return bad(`frame of ${bytes.byteLength} bytes is too large`);
  const type = bytes[0];
  switch (type) {
    case FrameType.Handshake: {
      if (bytes.byteLength !== HANDSHAKE_BYTES) return bad('handshake has the wrong length');
      if (getUint32(bytes, 1) !== WIRE_MAGIC) return bad('handshake magic mismatch');
      return {
        ok: true,
        frame: { type: 'handshake', version: bytes[5]!, contentId: bytes.slice(6, 38), pieceCount: getUint32(bytes, 38) },
      };
    }
    case FrameType.Bitfield: {
      const expected = Math.ceil(ctx.pieceCount / 8);
      if (bytes.byteLength !== 1 + expected) return bad(`bitfield of ${bytes.byteLength - 1} bytes, expected ${expected}`);
      const bits = bytes.slice(1);
      const spare = expected * 8 - ctx.pieceCount;
      if (spare > 0 && (bits[expected - 1]! & ((1 << spare) - 1)) !== 0) return bad('bitfield sets bits past the last piece');
      return { ok: true, frame: { type: 'bitfield', bits } };
    }
    case FrameType.Have:
    case FrameType.Request:
    case FrameType.Cancel:
    case FrameType.Reject: {
      if (bytes.byteLength !== INDEX_FRAME_BYTES) return bad('index frame has the wrong length');
      const index = getUint32(bytes, 1);
      if (index >= ctx.pieceCount) return bad(`piece index ${index} out of range`);
      const name = type === FrameType.Have ? 'have' : type === FrameType.Request ? 'request' : type === FrameType.Cancel ? 'cancel' : 'reject';
      return { ok: true, frame: { type: name, index } };
    }
    case FrameType.Piece: {
      if (bytes.byteLength <= PIECE_HEADER_BYTES) return bad('piece frame carries no data');
      const index = getUint32(bytes, 1);
      const offset = getUint32(bytes, 5);
      if (index >= ctx.pieceCount) return bad(`piece index ${index} out of range`);
      const length = bytes.byteLength - PIECE_HEADER_BYTES;
      if (offset + length > ctx.pieceLength(index)) return bad(`piece ${index} chunk at ${offset}+${length} overruns the piece`);
      return { ok: true, frame: { type: 'piece', index, offset, data: bytes.subarray(PIECE_HEADER_BYTES) } };
    }
    default:
      return bad(`unknown frame type ${type}`);
  }
}

function bad(reason: string): DecodeResult {
  return { ok: false, reason };
}
