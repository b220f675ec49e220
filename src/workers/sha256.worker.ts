/**
 * The SHA-256 worker: every hash of tabswarm is computed here, never on the main thread.
 * Driven through comlink by hasher-pool.ts. Buffers arrive transferred (zero-copy) and
 * `digest` transfers them back, so a piece crosses threads twice without being copied.
 */
import { expose, transfer } from 'comlink';
import { createSHA256, type IHasher } from 'hash-wasm';

/** Open incremental hashes by id. WebCrypto's `digest` is one-shot, hence hash-wasm here. */
const streams = new Map<number, IHasher>();
let nextStreamId = 1;

function stream(id: number): IHasher {
  const hasher = streams.get(id);
  if (!hasher) throw new Error(`unknown hash stream ${id}`);
  return hasher;
}

const api = {
  /** One-shot SHA-256 of `buffer`; hands the buffer back with the digest. */
  async digest(buffer: ArrayBuffer): Promise<{ digest: Uint8Array; buffer: ArrayBuffer }> {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
    return transfer({ digest, buffer }, [buffer, digest.buffer]);
  },

  async streamCreate(): Promise<number> {
    const hasher = await createSHA256();
    const id = nextStreamId++;
    streams.set(id, hasher.init());
    return id;
  },

  /**
   * Adds `buffer` to the stream and hands it back: dropped here, it would wait for this
   * worker's collector, which runs rarely, while the main thread's collects it promptly.
   */
  streamUpdate(id: number, buffer: ArrayBuffer): ArrayBuffer {
    stream(id).update(new Uint8Array(buffer));
    return transfer(buffer, [buffer]);
  },

  /** Frees a stream without finishing it. */
  streamClose(id: number): void {
    streams.delete(id);
  },

  /** Finishes the stream and frees it. */
  streamDigest(id: number): Uint8Array {
    const hasher = stream(id);
    streams.delete(id);
    // A fresh copy: the digest must not share a buffer with the WASM heap before transfer.
    const digest = hasher.digest('binary').slice();
    return transfer(digest, [digest.buffer]);
  },
};

export type Sha256WorkerApi = typeof api;

expose(api);
