/** BytesFetcher over fetch(): the policy and metadata requests. Bounded by `maxBytes` as the body streams (capped-body.ts). */
import type { BytesFetcher } from '../core/ports.js';
import { readCappedBody } from './capped-body.js';

export function createFetchBytes(fetchImpl: typeof fetch = (...a) => fetch(...a)): BytesFetcher {
  return {
    async getBytes(url, maxBytes) {
      const res = await fetchImpl(url, { cache: 'no-cache' });
      if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
      const bytes = await readCappedBody(res, maxBytes);
      if (!bytes) throw new Error(`${url} is over the ${maxBytes} byte limit`);
      return bytes;
    },
  };
}
