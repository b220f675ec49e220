/**
 * The whole-file check: SHA-256 over every stored piece in order, streamed one piece at a
 * time, so memory stays at one piece whatever the file size.
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
  for (let i = 0; i < pieceCount; i++) {
    const data = await readPiece(i);
    if (!data) throw new TabswarmError('storage-error', `piece ${i} vanished from storage`);
    await stream.update(data);
  }
  return toHex(await stream.digest());
}
