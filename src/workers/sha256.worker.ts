/**
 * The SHA-256 worker: every hash of tabswarm is computed here, never on the main thread.
 * Driven through comlink by hasher-pool.ts. Buffers arrive transferred (zero-copy) and
 * `digest` transfers them back, so a piece crosses threads twice without being copied.
 *
 * One-shot digests use WebCrypto where the page has it, and hash-wasm (SHA-256 in WebAssembly,
 * the same bytes in, the same digest out) where it does not: a page served over plain HTTP on a
 * LAN address is not a secure context, and browsers give no `crypto.subtle` there.
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

/** WebCrypto's SHA-256, where this context has it. */
const subtle: SubtleCrypto | undefined = typeof crypto !== 'undefined' && typeof crypto.subtle?.digest === 'function' ? crypto.subtle : undefined;
/** hash-wasm's, made once, for contexts without WebCrypto. */
let wasm: Promise<IHasher> | undefined;

async function oneShot(buffer: ArrayBuffer): Promise<Uint8Array> {
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', buffer));
  const hasher = await (wasm ??= createSHA256());
  // A fresh copy: the digest must not share a buffer with the WASM heap before transfer.
  return hasher.init().update(new Uint8Array(buffer)).digest('binary').slice();
}

const api = {
  /** One-shot SHA-256 of `buffer`; hands the buffer back with the digest. */
  async digest(buffer: ArrayBuffer): Promise<{ digest: Uint8Array; buffer: ArrayBuffer }> {
    const digest = await oneShot(buffer);
    return transfer({ digest, buffer }, [buffer, digest.buffer]);
  },

  /** Which SHA-256 this worker computes one-shot digests with. */
  backend(): 'webcrypto' | 'wasm' {
    return subtle ? 'webcrypto' : 'wasm';
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
