/**
 * The Node peer's lies about piece bytes: what goes on the wire instead of one frame the honest
 * PeerSession sends (nothing, the frame, or a changed copy). docs/protocol.md §4 is what they
 * break.
 */
import { randomBytes } from 'node:crypto';
import { FrameType, PIECE_HEADER_BYTES } from '../../../src/protocol/wire.js';

export const LIES = ['flip', 'truncate', 'oversize', 'wrong-index', 'garbage'] as const;
export type Lie = (typeof LIES)[number];

export const OVERSIZE_BYTES = 1024;

/**
 * - `flip`: the first data byte of each piece (its PIECE frame at offset 0) is inverted.
 * - `truncate`: the last PIECE frame of each piece is dropped (the piece arrives short).
 * - `oversize`: the last PIECE frame of each piece carries OVERSIZE_BYTES more (runs past the piece).
 * - `wrong-index`: every PIECE frame is labelled (index + 1) % pieceCount.
 * - `garbage`: every PIECE frame is replaced by random bytes of the same length.
 */
export function lie(how: Lie, frame: Uint8Array, pieceCount: number, pieceLength: (index: number) => number): Uint8Array[] {
  if (frame[0] !== FrameType.Piece || frame.byteLength <= PIECE_HEADER_BYTES) return [frame];
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const index = view.getUint32(1);
  const offset = view.getUint32(5);
  const last = offset + frame.byteLength - PIECE_HEADER_BYTES >= pieceLength(index);
  switch (how) {
    case 'flip': {
      if (offset !== 0) return [frame];
      const out = frame.slice();
      out[PIECE_HEADER_BYTES] = out[PIECE_HEADER_BYTES]! ^ 0xff;
      return [out];
    }
    case 'truncate':
      return last ? [] : [frame];
    case 'oversize': {
      if (!last) return [frame];
      const out = new Uint8Array(frame.byteLength + OVERSIZE_BYTES);
      out.set(frame);
      out.set(randomBytes(OVERSIZE_BYTES), frame.byteLength);
      return [out];
    }
    case 'wrong-index': {
      const out = frame.slice();
      new DataView(out.buffer).setUint32(1, (index + 1) % pieceCount);
      return [out];
    }
    case 'garbage':
      return [new Uint8Array(randomBytes(frame.byteLength))];
  }
}
