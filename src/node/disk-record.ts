/**
 * The record beside a content's file, saying which of its pieces are stored: a 32-byte header
 * (the magic `TSDISK01`, then pieceCount, pieceSize and fileSize as little-endian float64s,
 * as OPFS's `.held` file, storage/opfs-layout.ts) and a bitfield, MSB first, exactly
 * ceil(pieceCount / 8) bytes. The header is written once, with the file (a whole new record is
 * written aside and renamed into place); after that only bitfield bytes change, in place
 * (disk-content.ts says in which order).
 *
 * A record is taken only if it is one in every respect: the magic, a coherent layout (the one
 * the content is opened with, when known), the exact length, zero padding bits. Anything else
 * is no record: the content starts empty. A record holds no checksum: one would have to be
 * rewritten with every bit, and a crash between the two writes would throw the whole record
 * away; a bit that lies is caught anyway, since every read for a peer or the whole-file check
 * hashes the bytes again.
 */
import type { PieceLayout } from '../core/ports.js';

const MAGIC = 'TSDISK01';
export const RECORD_HEADER_BYTES = 32;

/** Whether a layout holds together: whole sizes, pieces that cover the file exactly. */
export function isLayout(layout: PieceLayout): boolean {
  const { pieceCount, pieceSize, fileSize } = layout;
  if (![pieceCount, pieceSize, fileSize].every((n) => Number.isSafeInteger(n) && n >= 0)) return false;
  return pieceSize > 0 && pieceCount === Math.ceil(fileSize / pieceSize);
}

export function sameLayout(a: PieceLayout, b: PieceLayout): boolean {
  return a.pieceCount === b.pieceCount && a.pieceSize === b.pieceSize && a.fileSize === b.fileSize;
}

export function bitfieldBytes(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

/** A record with no piece stored. */
export function emptyRecord(layout: PieceLayout): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + bitfieldBytes(layout.pieceCount));
  out.set(new TextEncoder().encode(MAGIC));
  const view = new DataView(out.buffer);
  view.setFloat64(8, layout.pieceCount, true);
  view.setFloat64(16, layout.pieceSize, true);
  view.setFloat64(24, layout.fileSize, true);
  return out;
}

/** The length a record with this header must have; undefined if `header` is not a record's header. */
export function recordLength(header: Uint8Array): number | undefined {
  const layout = decodeHeader(header);
  return layout && RECORD_HEADER_BYTES + bitfieldBytes(layout.pieceCount);
}

function decodeHeader(bytes: Uint8Array): PieceLayout | undefined {
  if (bytes.byteLength < RECORD_HEADER_BYTES) return undefined;
  if (new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout = { pieceCount: view.getFloat64(8, true), pieceSize: view.getFloat64(16, true), fileSize: view.getFloat64(24, true) };
  return isLayout(layout) ? layout : undefined;
}

/** A record's layout and bitfield; undefined if `bytes` are not a valid record (of `expected`, when given). */
export function decodeRecord(bytes: Uint8Array, expected?: PieceLayout): { layout: PieceLayout; bits: Uint8Array } | undefined {
  const layout = decodeHeader(bytes);
  if (!layout || (expected && !sameLayout(layout, expected))) return undefined;
  if (bytes.byteLength !== RECORD_HEADER_BYTES + bitfieldBytes(layout.pieceCount)) return undefined;
  const bits = bytes.slice(RECORD_HEADER_BYTES);
  // Bits past the last piece are never set by this store: a record with one is not its own.
  const spare = bits.length * 8 - layout.pieceCount;
  if (spare > 0 && (bits[bits.length - 1]! & ((1 << spare) - 1)) !== 0) return undefined;
  return { layout, bits };
}
