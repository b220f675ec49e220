/**
 * Bytes for the hashing benchmark, the same in the page and in Node: buffer `k` is a
 * xorshift32 stream seeded with `k`. SHA-256's speed does not depend on the bytes; the digests
 * only let the runner check that the pool hashed what it was given.
 */
export function fillBuffer(out: Uint8Array, k: number): void {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
  let x = (0x9e3779b9 ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
}

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
