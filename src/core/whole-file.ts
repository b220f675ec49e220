/**
 * The whole-file check: SHA-256 over every stored piece in order, streamed one piece at a
 * time, so memory stays at two pieces whatever the file size. The next piece is read from
 * storage while the current one is hashed.
 */
import { TabswarmError } from './errors.js';
import type { Hasher } from './ports.js';
import { toHex } from '../protocol/hex.js';

export async function verifyWholeFile(
  hasher: Hasher,
  pieceCount: number,
  readPiece: (index: number) => Promise<Uint8Array | undefined>,
): Promise<string> {
  const stream = hasher.createStream();
  const read = (i: number): Promise<Uint8Array> =>
    readPiece(i).then((data) => {
      if (!data) throw new TabswarmError('storage-error', `piece ${i} vanished from storage`);
      return data;
    });
  let next = pieceCount > 0 ? read(0) : undefined;
  for (let i = 0; i < pieceCount; i++) {
    const data = await next!;
    next = i + 1 < pieceCount ? read(i + 1) : undefined;
    // If hashing fails, a read still in flight must not reject unobserved.
    next?.catch(() => undefined);
    await stream.update(data);
  }
  return toHex(await stream.digest());
}
