/**
 * The one thing the Arrays service (arrays.ts) needs of a WebSocket, whichever server carries
 * it: `ws` on the HTTP server's own port (arrays-ws.ts, the default), or uWebSockets on a port
 * of its own for large deployments (arrays-uws.ts, `arraysPort`). The service never sees
 * either library; each transport adapts its sockets to this port.
 *
 * Contract for transports:
 * - Ask `admit(request)` before completing an upgrade; refuse with the HTTP status it returns.
 * - After the upgrade, call `attach(socket, address)` once, then the returned handlers: every
 *   frame (a copy the service may keep), every pong, and `close` exactly once.
 * - Frames over LIMITS.maxSignalingMessageBytes are the transport's to refuse: `ws` closes
 *   with 1009, uWebSockets cuts the connection (the client sees 1006).
 * - Every method of `ArraysSocket` is safe to call after the socket closed (it does nothing).
 */

/** What the service reads of an upgrade request: headers (lower-case names) and the peer address. */
export interface UpgradeRequest {
  headers: Record<string, string | string[] | undefined>;
  socket: { remoteAddress?: string | undefined };
}

export interface ArraysSocket {
  /** Queues a text frame. */
  send(text: string): void;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Cuts the connection at once. */
  terminate(): void;
  ping(): void;
  /** Bytes queued for sending and not yet written to the network. */
  readonly bufferedAmount: number;
}

export interface ArraysSocketHandlers {
  message(data: Buffer, isBinary: boolean): void;
  pong(): void;
  close(): void;
}

/** `admit`'s answer: the address the socket counts as, or the HTTP status of the refusal. */
export type Admission = { ok: true; address: string } | { ok: false; status: 429 | 503 };

/** What a transport needs of the Arrays service. */
export interface ArraysDoor {
  admit(req: UpgradeRequest): Admission;
  attach(socket: ArraysSocket, address: string): ArraysSocketHandlers;
}

export const STATUS_TEXT: Record<Exclude<Admission, { ok: true }>['status'], string> = {
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};
