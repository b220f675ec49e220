/**
 * The `ws` WebSocket class, with every socket opened from one local address when given (a
 * cache node's `--bind`, each test peer's own 127.0.0.x), so that the Arrays service sees the
 * peer at the address its WebRTC candidates carry.
 */
import WebSocket from 'ws';

export function boundWebSocket(localAddress: string | undefined): typeof globalThis.WebSocket {
  if (localAddress === undefined) return WebSocket as unknown as typeof globalThis.WebSocket;
  class Bound extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { localAddress });
    }
  }
  return Bound as unknown as typeof globalThis.WebSocket;
}
