/**
 * The request/cancel churner: a peer that asks for pieces and cancels them, again and again,
 * to make its victim upload for nothing. Shared by the in-memory peer (sim-peer.ts) and the
 * Node WebRTC peer (node-peer/peer.ts).
 *
 * It opens like any peer (HANDSHAKE, then a BITFIELD: every piece when `claimsAll`, as the
 * churner the issue describes did, or none), and once the victim's BITFIELD is in, every
 * `everyMs` it sends a REQUEST for a random piece the victim announced, then a CANCEL for it
 * `cancelAfterMs` later (0: right behind the request). It never bans and never stops on its own.
 */
import { Bitfield } from '../../src/core/bitfield.js';
import type { PeerLink } from '../../src/core/ports.js';
import { FrameType, PIECE_HEADER_BYTES, encodeBitfield, encodeCancel, encodeHandshake, encodeRequest } from '../../src/protocol/wire.js';

export interface ChurnOptions {
  contentId: Uint8Array;
  pieceCount: number;
  claimsAll: boolean;
  everyMs: number;
  cancelAfterMs: number;
}

export interface ChurnStats {
  requests: number;
  cancels: number;
  /** Piece bytes the victim sent us. */
  bytesReceived: number;
  /** REJECT frames the victim sent us. */
  rejects: number;
}

/** Runs the churner over an open link until it closes; returns its live counters. */
export function churn(link: PeerLink, o: ChurnOptions): ChurnStats {
  const stats: ChurnStats = { requests: 0, cancels: 0, bytesReceived: 0, rejects: 0 };
  const mine = new Bitfield(o.pieceCount);
  if (o.claimsAll) for (let i = 0; i < o.pieceCount; i++) mine.set(i);
  const theirs = new Bitfield(o.pieceCount);
  let timer: ReturnType<typeof setInterval> | undefined;
  const timeouts = new Set<ReturnType<typeof setTimeout>>();
  const send = (f: Uint8Array): boolean => {
    try {
      link.send(f);
      return true;
    } catch {
      return false;
    }
  };
  send(encodeHandshake(o.contentId, o.pieceCount));
  send(encodeBitfield(mine.toBytes()));
  const stop = () => {
    clearInterval(timer);
    for (const t of timeouts) clearTimeout(t);
  };
  link.on('close', stop);
  link.on('message', (m) => {
    const type = m[0];
    if (type === FrameType.Piece && m.byteLength > PIECE_HEADER_BYTES) stats.bytesReceived += m.byteLength - PIECE_HEADER_BYTES;
    else if (type === FrameType.Reject) stats.rejects++;
    else if (type === FrameType.Have && m.byteLength === 5) theirs.set(new DataView(m.buffer, m.byteOffset, 5).getUint32(1));
    else if (type === FrameType.Bitfield && timer === undefined) {
      const bits = new Bitfield(o.pieceCount, m.subarray(1));
      for (let i = 0; i < o.pieceCount; i++) if (bits.has(i)) theirs.set(i);
      timer = setInterval(() => {
        if (theirs.cardinality === 0) return;
        let i = Math.floor(Math.random() * o.pieceCount);
        while (!theirs.has(i)) i = (i + 1) % o.pieceCount;
        if (!send(encodeRequest(i))) return stop();
        stats.requests++;
        const cancel = () => {
          if (send(encodeCancel(i))) stats.cancels++;
        };
        if (o.cancelAfterMs <= 0) return cancel();
        const t = setTimeout(() => {
          timeouts.delete(t);
          cancel();
        }, o.cancelAfterMs);
        timeouts.add(t);
      }, o.everyMs);
    }
  });
  return stats;
}
