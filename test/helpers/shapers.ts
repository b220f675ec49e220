/**
 * Misbehaviour in time: what a peer that stalls does to the frames its honest PeerSession
 * sends. Shared by the in-memory hostile peer (sim-peer.ts) and the Node WebRTC peer
 * (node-peer/peer.ts), so the unit simulation and the browser tests meet the same peers.
 *
 * Each shape passes HANDSHAKE and BITFIELD through at once (so the peer looks like a normal
 * peer, usually a seeder) and then:
 * - `silent`: sends nothing more, ever (no piece, no REJECT, no HAVE);
 * - `half-then-silent`: sends the first half of the first piece it is asked for, then nothing;
 * - `trickle`: sends every later frame cut into `trickleBytes` pieces, one every `trickleEveryMs`
 *   (1 KiB every 15 s by default: never quiet long enough for an idle timer of 20 s);
 * - `slow`: sends every later frame, one every `slowEveryMs` (a 64 KiB chunk every 2 s: 32 KiB/s).
 */
import { FrameType, PIECE_HEADER_BYTES, encodePiece } from '../../src/protocol/wire.js';

export const SHAPES = ['silent', 'half-then-silent', 'trickle', 'slow'] as const;
export type Shape = (typeof SHAPES)[number];

export interface ShapeTiming {
  trickleBytes: number;
  trickleEveryMs: number;
  slowEveryMs: number;
}

export const DEFAULT_SHAPE_TIMING: ShapeTiming = { trickleBytes: 1024, trickleEveryMs: 15_000, slowEveryMs: 2000 };

export interface Shaper {
  /** A frame the honest session wants to send. */
  send(frame: Uint8Array): void;
  /** Stops the timers; nothing more goes out. */
  stop(): void;
}

function pieceHeader(frame: Uint8Array): { index: number; offset: number; data: Uint8Array } {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { index: v.getUint32(1), offset: v.getUint32(5), data: frame.subarray(PIECE_HEADER_BYTES) };
}

export function createShaper(shape: Shape, pieceLength: (index: number) => number, out: (frame: Uint8Array) => void, timing: Partial<ShapeTiming> = {}): Shaper {
  const t = { ...DEFAULT_SHAPE_TIMING, ...timing };
  let opened = false;
  let stopped = false;
  let silenced = false;
  const queue: Uint8Array[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  const every = shape === 'trickle' ? t.trickleEveryMs : t.slowEveryMs;

  function startTimer(): void {
    if (timer !== undefined || stopped) return;
    timer = setInterval(() => {
      const next = queue.shift();
      if (next && !stopped) out(next);
    }, every);
  }

  return {
    send(frame) {
      if (stopped) return;
      const type = frame[0];
      if (!opened) {
        out(frame);
        if (type === FrameType.Bitfield) opened = true;
        return;
      }
      switch (shape) {
        case 'silent':
          return;
        case 'half-then-silent': {
          if (silenced || type !== FrameType.Piece) return;
          const { index, offset, data } = pieceHeader(frame);
          const half = Math.floor(pieceLength(index) / 2);
          if (offset + data.byteLength < half) return out(frame);
          out(encodePiece(index, offset, data.subarray(0, half - offset)));
          silenced = true;
          return;
        }
        case 'trickle': {
          if (type !== FrameType.Piece) {
            queue.push(frame.slice()); // kept past send: the session reuses its frame buffer
          } else {
            const { index, offset, data } = pieceHeader(frame);
            for (let o = 0; o < data.byteLength; o += t.trickleBytes) queue.push(encodePiece(index, offset + o, data.subarray(o, o + t.trickleBytes)));
          }
          return startTimer();
        }
        case 'slow':
          queue.push(frame.slice()); // kept past send: the session reuses its frame buffer
          return startTimer();
      }
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      queue.length = 0;
    },
  };
}
