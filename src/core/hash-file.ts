/**
 * Hashing and storing a file the user picked, piece by piece, with memory bounded by a small
 * window of pieces (the file itself is never read whole into memory).
 *
 * Two passes, because the pieces are stored under the content ID, which is the SHA-256 of the
 * metadata, which needs every piece's hash first:
 *   1. `hashFile`: each piece's SHA-256 in the worker pool, and the whole file's through one
 *      streaming hash fed in order;
 *   2. `storePieces`: each piece read again and handed to the content's PieceFile under the
 *      content ID (checked against its first-pass hash), where a Download finds it and seeds it.
 * A file changed between the passes fails the second pass before a changed piece is kept.
 */
import type { Hasher, PieceFile } from './ports.js';
import { toHex } from '../protocol/hex.js';
import { pieceCountOf } from '../protocol/metadata.js';

/** Pieces read ahead of the slowest one in flight. */
const WINDOW = 4;

export interface FileHashes {
  fileSize: number;
  fileSha256: string;
  pieceSha256: string[];
}

async function readPiece(file: Blob, pieceSize: number, index: number): Promise<Uint8Array> {
  const start = index * pieceSize;
  return new Uint8Array(await file.slice(start, Math.min(file.size, start + pieceSize)).arrayBuffer());
}

/** SHA-256 of each piece and of the whole file. `onProgress(bytesDone)` after each piece. */
export async function hashFile(file: Blob, pieceSize: number, hasher: Hasher, onProgress: (bytesDone: number) => void, signal?: AbortSignal): Promise<FileHashes> {
  const count = pieceCountOf(file.size, pieceSize);
  const pieceSha256 = new Array<string>(count);
  const whole = hasher.createStream();
  let done = 0;
  try {
    // Each piece: read, digest in a worker (in parallel), then fed to the whole-file hash in
    // index order (the chain), at most WINDOW pieces in memory.
    let chain: Promise<void> = Promise.resolve();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      signal?.throwIfAborted();
      if (inFlight.length >= WINDOW) await inFlight.shift();
      const bytes = await readPiece(file, pieceSize, i);
      const job = hasher.digest(bytes);
      const index = i;
      chain = chain.then(async () => {
        const { digest, data } = await job;
        pieceSha256[index] = toHex(digest);
        const length = data.byteLength;
        await whole.update(data);
        done += length;
        onProgress(done);
      });
      inFlight.push(chain);
    }
    await chain;
    return { fileSize: file.size, fileSha256: toHex(await whole.digest()), pieceSha256 };
  } finally {
    whole.close();
  }
}

/**
 * Writes every piece of `file` through `pieces` (the content's PieceFile), each checked against
 * its hash from the first pass: a file changed since it was hashed stops here, before a piece
 * of it is kept. `onProgress(bytesDone)` after each piece.
 */
export async function storePieces(file: Blob, pieceSize: number, pieces: PieceFile, pieceSha256: readonly string[], onProgress: (bytesDone: number) => void, signal?: AbortSignal): Promise<void> {
  const count = pieceCountOf(file.size, pieceSize);
  const inFlight: Promise<void>[] = [];
  let done = 0;
  for (let i = 0; i < count; i++) {
    signal?.throwIfAborted();
    if (inFlight.length >= WINDOW) await inFlight.shift();
    const bytes = await readPiece(file, pieceSize, i);
    const length = bytes.byteLength;
    inFlight.push(
      pieces.admit(i, bytes, pieceSha256[i]).then((admitted) => {
        if (!admitted.stored) throw new Error(`the file changed while it was shared: ${admitted.reason}`);
        done += length;
        onProgress(done);
      }),
    );
  }
  await Promise.all(inFlight);
}
