/**
 * The Arrays service's default transport: `ws` on the HTTP server's own port, so the app, the
 * API and `/arrays` share one origin (and one certificate when served over HTTPS).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { LIMITS } from '../src/protocol/limits.js';
import { STATUS_TEXT, type ArraysDoor, type ArraysSocket } from './arrays-socket.js';

export interface WsTransport {
  /** Completes (or refuses, with the door's HTTP status) an upgrade the caller routed here. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function adapt(ws: WebSocket): ArraysSocket {
  return {
    send(text) {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    close(code, reason) {
      if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    },
    terminate: () => ws.terminate(),
    ping() {
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}

export function createWsTransport(door: ArraysDoor, log: Logger): WsTransport {
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxSignalingMessageBytes, clientTracking: false });
  return {
    handleUpgrade(req, socket, head) {
      const admission = door.admit(req);
      if (!admission.ok) {
        const retry = admission.status === 503 ? 'Retry-After: 1\r\n' : '';
        socket.end(`HTTP/1.1 ${admission.status} ${STATUS_TEXT[admission.status]}\r\nConnection: close\r\n${retry}Content-Length: 0\r\n\r\n`);
        return;
      }
      // `ws` completes an upgrade synchronously (no verifyClient), so the door's per-address
      // count is exact: no other upgrade runs between `admit` and `attach`.
      wss.handleUpgrade(req, socket, head, (ws) => {
        const on = door.attach(adapt(ws), admission.address);
        ws.on('message', (data, isBinary) => on.message(toBuffer(data), isBinary));
        ws.on('pong', () => on.pong());
        // 'error' precedes 'close' (oversized frame, bad UTF-8, reset); without a listener it would throw.
        ws.on('error', (err) => log.debug({ err: err.message }, 'socket error'));
        ws.on('close', () => on.close());
      });
    },
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}
