/**
 * A buffer that may be transferred to a worker, holding exactly `data`'s bytes. Only a view
 * covering its whole ArrayBuffer is transferred as is; any other view (byteOffset != 0,
 * shorter than its buffer, or over a SharedArrayBuffer) is first copied into a fresh buffer,
 * so a transfer never detaches bytes the caller did not hand over.
 */
export function ownBuffer(data: Uint8Array): ArrayBuffer {
  const { buffer } = data;
  if (buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength) return buffer;
  return data.slice().buffer;
}
