/**
 * Reads an HTTP body as consecutive runs of exact lengths: `read(n)` gives the next `n` bytes,
 * in a buffer of the pool when there is one, `end()` checks that nothing follows.
 *
 * Where the body is a byte stream (fetch's is), a BYOB reader reads straight into the buffer:
 * no chunk is allocated per read and the buffer is used again once the pass worker hands it
 * back (core/buffer-pool.ts says why that matters). Elsewhere its chunks are copied, and the
 * part of a chunk past one read is kept for the next.
 *
 * Contract: reads are sequential (one at a time); any failure, a body that ends early included,
 * rejects and leaves the body cancelled.
 */
import type { BufferPool } from '../core/buffer-pool.js';

export class BodyEndedEarly extends Error {
  constructor(
    readonly received: number,
    readonly expected: number,
  ) {
    super(`body ended after ${received} of ${expected} bytes`);
  }
}

export class BodyTooLong extends Error {
  constructor() {
    super('body is longer than expected');
  }
}

export class RangeBodyReader {
  private readonly byob: ReadableStreamBYOBReader | undefined;
  private readonly chunks: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Bytes of the last chunk not yet read (default reader only). */
  private rest: Uint8Array | undefined;
  private cancelled = false;

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly buffers?: BufferPool,
  ) {
    let byob: ReadableStreamBYOBReader | undefined;
    try {
      byob = body.getReader({ mode: 'byob' });
    } catch {
      byob = undefined; // not a byte stream: read its chunks and copy them
    }
    this.byob = byob;
    this.chunks = byob ? undefined : body.getReader();
  }

  /** The next `length` bytes of the body. */
  async read(length: number): Promise<Uint8Array> {
    try {
      return this.byob ? await this.readByob(this.byob, length) : await this.readChunks(this.chunks!, length);
    } catch (e) {
      this.cancel();
      throw e;
    }
  }

  /** Checks that the body has no byte more (reads one byte at most), then releases it. */
  async end(): Promise<void> {
    try {
      if (this.rest && this.rest.byteLength > 0) throw new BodyTooLong();
      const more = this.byob ? await this.byob.read(new Uint8Array(1)) : await this.chunks!.read();
      if (!more.done && (more.value?.byteLength ?? 0) > 0) throw new BodyTooLong();
    } finally {
      this.cancel();
    }
  }

  /** Stops reading; the rest of the body is not fetched. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    void (this.byob ?? this.chunks)?.cancel().catch(() => undefined);
  }

  private async readByob(reader: ReadableStreamBYOBReader, length: number): Promise<Uint8Array> {
    let view = new Uint8Array(this.buffers ? this.buffers.take(length) : new ArrayBuffer(length), 0, length);
    let received = 0;
    while (received < length) {
      const { value, done } = await reader.read(new Uint8Array(view.buffer, received, length - received));
      if (!value) throw new Error('the body stream was cancelled');
      view = new Uint8Array(value.buffer, 0, length); // the read moved the buffer: this is it now
      received += value.byteLength;
      if (done && received < length) throw new BodyEndedEarly(received, length);
    }
    return view;
  }

  private async readChunks(reader: ReadableStreamDefaultReader<Uint8Array>, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(this.buffers ? this.buffers.take(length) : new ArrayBuffer(length), 0, length);
    let received = 0;
    while (received < length) {
      let chunk = this.rest;
      this.rest = undefined;
      if (!chunk) {
        const { value, done } = await reader.read();
        if (done) throw new BodyEndedEarly(received, length);
        chunk = value;
      }
      const take = Math.min(chunk.byteLength, length - received);
      out.set(chunk.subarray(0, take), received);
      received += take;
      if (take < chunk.byteLength) this.rest = chunk.subarray(take);
    }
    return out;
  }
}
