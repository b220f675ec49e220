/**
 * A download's CDN pacing: the top-up's bucket (a background download before its HTTP delay
 * ends), then the client's bucket for the download's priority. Undefined when neither exists:
 * no pacing at all.
 */
import type { Bandwidth, Priority } from '../bandwidth.js';
import type { CdnPacing } from '../cdn-source.js';
import type { TopUp } from './top-up.js';

export function cdnPacing(bandwidth: Bandwidth | undefined, topUp: TopUp | undefined, priority: Priority, ready: () => void): CdnPacing | undefined {
  const limiter = topUp?.limiter;
  if (!bandwidth && !limiter) return undefined;
  const capped = (bytes: number, signal: AbortSignal) => bandwidth?.takeCdn(priority, bytes, signal);
  return {
    take: (bytes, signal) => {
      const first = limiter?.take(bytes, signal);
      return first ? first.then(() => capped(bytes, signal)) : capped(bytes, signal);
    },
    ready,
  };
}
