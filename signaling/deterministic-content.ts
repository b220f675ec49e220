/**
 * Seeded, random-access pseudo-random bytes for test and demo content (not cryptographic).
 *
 * Contract: the byte at `offset` depends only on `(seed, offset)`. The stream is a sequence of
 * 8-byte blocks; block `b` is two little-endian 32-bit words, each a counter-based hash of
 * `(seed, b, lane)`. So any range can be regenerated on its own and compared with what a
 * download produced, and a file of any size can be written without holding it in memory.
 * Offsets up to 2^53 are supported; content is capped at LIMITS.maxFileSize anyway.
 */
import { open } from 'node:fs/promises';

const BLOCK = 8;
const TWO_32 = 2 ** 32;
/** Chunk size used when streaming a file to disk. */
const WRITE_CHUNK = 4 * 1024 * 1024;

/** A 32-bit bijective mixer (Wellons' "lowbias32"). */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Per-seed keys; derived once per call, not per word. */
function keysOf(seed: number): [number, number] {
  const s = seed >>> 0;
  const hi = Math.floor(seed / TWO_32) >>> 0; // seeds above 2^32 still differ
  return [mix32(s ^ 0x9e3779b9), mix32(hi + 0x85ebca6b) ^ mix32(s + 0xc2b2ae35)];
}

/** Word `lane` (0 or 1) of 8-byte block `lo + hi * 2^32`. */
function blockWord(k0: number, k1: number, lo: number, hi: number, lane: number): number {
  return mix32(mix32((lo ^ k0) >>> 0) ^ mix32((Math.imul(hi, 0x27d4eb2d) + k1 + lane * 0x165667b1) >>> 0) ^ lane);
}

function writeBlock(view: DataView, at: number, k0: number, k1: number, block: number): void {
  const lo = block >>> 0;
  const hi = Math.floor(block / TWO_32);
  view.setUint32(at, blockWord(k0, k1, lo, hi, 0), true);
  view.setUint32(at + 4, blockWord(k0, k1, lo, hi, 1), true);
}

/** Fills `out` with the bytes at `[offset, offset + out.length)` of stream `seed`. */
export function fillDeterministic(seed: number, offset: number, out: Uint8Array): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative safe integer, got ${offset}`);
  const length = out.length;
  if (length === 0) return;
  const [k0, k1] = keysOf(seed);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const scratch = new Uint8Array(BLOCK);
  const scratchView = new DataView(scratch.buffer);

  let pos = 0; // position in out
  let block = Math.floor(offset / BLOCK);
  const head = offset % BLOCK;
  if (head !== 0) {
    writeBlock(scratchView, 0, k0, k1, block);
    const n = Math.min(BLOCK - head, length);
    out.set(scratch.subarray(head, head + n), 0);
    pos = n;
    block++;
  }
  while (length - pos >= BLOCK) {
    writeBlock(view, pos, k0, k1, block);
    pos += BLOCK;
    block++;
  }
  if (pos < length) {
    writeBlock(scratchView, 0, k0, k1, block);
    out.set(scratch.subarray(0, length - pos), pos);
  }
}

/** The bytes at `[offset, offset + length)` of the deterministic stream `seed`. */
export function deterministicChunk(seed: number, offset: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`length must be a non-negative safe integer, got ${length}`);
  const out = new Uint8Array(length);
  fillDeterministic(seed, offset, out);
  return out;
}

/**
 * Writes the first `size` bytes of stream `seed` to `path` (created or truncated), in 4 MiB
 * chunks through one reused buffer.
 */
export async function writeDeterministicFile(path: string, size: number, seed: number): Promise<void> {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative safe integer, got ${size}`);
  const fh = await open(path, 'w');
  try {
    const buf = new Uint8Array(Math.min(WRITE_CHUNK, size));
    for (let off = 0; off < size; off += buf.length) {
      const chunk = buf.subarray(0, Math.min(buf.length, size - off));
      fillDeterministic(seed, off, chunk);
      let written = 0;
      while (written < chunk.length) {
        const r = await fh.write(chunk, written, chunk.length - written, off + written);
        written += r.bytesWritten;
      }
    }
  } finally {
    await fh.close();
  }
}
