/**
 * The piece pass (core/ports.ts's PieceFile) over one content open in the disk store, as
 * core/piece-file.ts composes it for IndexedDB: a received piece is hashed against the
 * metadata's SHA-256 before anything is written, then written and recorded (disk-content.ts),
 * then handed to the whole-file hash (core/whole-file.ts), which reads back from the file what
 * it could not take in hand. Reading for a peer hashes the bytes on disk again and withholds
 * them (`corrupt`) when they no longer match: the record says which pieces were written, only
 * the hash says they are still right.
 */
import { TabswarmError } from '../core/errors.js';
import type { Hasher, PieceFile } from '../core/ports.js';
import { WholeFileHash } from '../core/whole-file.js';
import { checkedStoredPiece } from '../core/piece-file.js';
import { toHex } from '../protocol/hex.js';
import type { DiskContent } from './disk-content.js';

export const DISK_STORE_KIND = 'disk';

/** A PieceFile over `content`; `release` is called once, at `close` (the store closes the content when no one holds it). */
export function diskPieceFile(content: DiskContent, hasher: Hasher, release: () => void): PieceFile {
  let closed = false;
  const ensureOpen = () => {
    if (closed) throw new TabswarmError('aborted', 'the piece file is closed');
  };
  const whole = new WholeFileHash(
    hasher,
    content.layout.pieceCount,
    async (index) => {
      ensureOpen();
      return content.read(index);
    },
    (index) => content.has(index),
  );

  return {
    kind: DISK_STORE_KIND,
    get readBacks() {
      return whole.readBacks;
    },
    list: async () => content.list(),

    async admit(index, data, expectedSha256) {
      ensureOpen();
      if (!content.isPiece(index)) return { stored: false, reason: `there is no piece ${index}` };
      if (data.byteLength !== content.pieceLength(index)) {
        return { stored: false, reason: `piece ${index} is ${data.byteLength} bytes, expected ${content.pieceLength(index)}` };
      }
      let bytes = data;
      if (expectedSha256 !== undefined) {
        const result = await hasher.digest(data);
        bytes = result.data;
        if (toHex(result.digest) !== expectedSha256) return { stored: false, reason: `piece ${index} failed SHA-256 verification` };
      }
      ensureOpen();
      await content.write(index, bytes);
      whole.stored(index, bytes); // gives `bytes` away
      return { stored: true };
    },

    async read(index, expectedSha256) {
      ensureOpen();
      const stored = await content.read(index);
      if (stored === undefined) return { missing: true };
      const length = content.pieceLength(index);
      if (stored.byteLength !== length) return { corrupt: `stored piece ${index} is ${stored.byteLength} bytes on disk, expected ${length}` };
      return checkedStoredPiece(hasher, index, stored, expectedSha256);
    },

    async remove(index) {
      ensureOpen();
      await content.forget(index);
    },

    fileSha256: () => whole.finish(),

    close() {
      if (closed) return;
      closed = true;
      whole.close();
      // The content waits for this file's reads and writes under way before its handles close.
      release();
    },
  };
}
