/** BytesFetcher over fetch(): the policy and metadata requests. Bounded by `maxBytes`. */
import type { BytesFetcher } from '../core/ports.js';

export function createFetchBytes(fetchImpl: typeof fetch = (...a) => fetch(...a)): BytesFetcher {
  return {
    async getBytes(url, maxBytes) {
      const res = await fetchImpl(url, { cache: 'no-cache' });
      if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > maxBytes) throw new Error(`${url} is ${declared} bytes, over the ${maxBytes} limit`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength > maxBytes) throw new Error(`${url} is over the ${maxBytes} byte limit`);
      return bytes;
    },
  };
}
