/**
 * The Arrays service on uWebSockets, on a port of its own (`arraysPort`), for deployments with
 * many thousands of peers per instance: a `ws` socket on Node's HTTP server costs about 8 KiB
 * of server memory, a uWebSockets one under 1 KiB (docs/benchmarks.md, "Signaling load").
 * Bootstrap and Discovery then hand clients this port's URL; `/arrays` on the HTTP port keeps
 * working (both transports serve the same swarms).
 *
 * uWebSockets calls back from native code: a callback that throws would end the process, so
 * each one catches and logs. Its WebSocket objects must not be touched after 'close' (they
 * throw), hence the `open` flag in front of every call.
 */
import type uWS from '@trufflesuite/uws-js-unofficial';
import type { Logger } from 'pino';
import { LIMITS } from '../src/protocol/limits.js';
import type { UwsModule } from './uws-loader.js';
import { STATUS_TEXT, type ArraysDoor, type ArraysSocket, type ArraysSocketHandlers } from './arrays-socket.js';

/** uWS drops sends past this backlog; the service calls a peer busy at 4 MiB, well before. */
const MAX_BACKPRESSURE_BYTES = 16 * 1024 * 1024;

export interface UwsTransport {
  /** The port it listens on (the one asked for, or the one the system gave for 0). */
  readonly port: number;
  /** Stops listening; the service closes its sockets itself. */
  close(): void;
}

interface UserData {
  address: string;
  socket: UwsSocket | undefined;
  on: ArraysSocketHandlers | undefined;
}

class UwsSocket implements ArraysSocket {
  open = true;
  constructor(private readonly ws: uWS.WebSocket<UserData>) {}
  send(text: string): void {
    if (this.open) this.ws.send(text, false);
  }
  close(code: number, reason: string): void {
    if (this.open) this.ws.end(code, reason);
  }
  terminate(): void {
    if (this.open) this.ws.close();
  }
  ping(): void {
    if (this.open) this.ws.ping();
  }
  get bufferedAmount(): number {
    return this.open ? this.ws.getBufferedAmount() : 0;
  }
}

/**
 * uWS gives addresses in full IPv6 form (`0000:…:ffff:7f00:0001` for 127.0.0.1); an
 * IPv4-mapped one is read as IPv4, so logs and the LAN key (lan-key.ts) see what `ws` shows.
 */
export function addressFromUws(text: string): string {
  const m = /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(text);
  if (!m) return text;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** Listens on `options.port` with `uws` (the module uws-loader.ts loads). */
export async function listenUws(uws: UwsModule, door: ArraysDoor, options: { host: string; port: number; path: string; logger: Logger }): Promise<UwsTransport> {
  const log = options.logger.child({ component: 'arrays-uws' });
  const guard = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.error({ err }, `uws ${what} failed`);
    }
  };
  const app = uws.App()
    .ws<UserData>(options.path, {
      maxPayloadLength: LIMITS.maxSignalingMessageBytes,
      maxBackpressure: MAX_BACKPRESSURE_BYTES,
      // The service runs its own heartbeat (pings, and the peer-ID probe).
      idleTimeout: 0,
      sendPingsAutomatically: false,
      compression: uws.DISABLED,
      upgrade: (res, req, context) =>
        guard('upgrade', () => {
          const headers: Record<string, string> = {};
          req.forEach((key, value) => {
            headers[key] = value;
          });
          // RFC 6455 §4.4: only version 13 exists; `ws` refuses others, and so must this door.
          if (headers['sec-websocket-version'] !== '13') {
            res.writeStatus('426 Upgrade Required');
            res.writeHeader('Sec-WebSocket-Version', '13');
            res.end();
            return;
          }
          const remoteAddress = addressFromUws(Buffer.from(res.getRemoteAddressAsText()).toString());
          const admission = door.admit({ headers, socket: { remoteAddress } });
          if (!admission.ok) {
            res.writeStatus(`${admission.status} ${STATUS_TEXT[admission.status]}`);
            if (admission.status === 503) res.writeHeader('Retry-After', '1');
            res.end();
            return;
          }
          const data: UserData = { address: admission.address, socket: undefined, on: undefined };
          res.upgrade(data, headers['sec-websocket-key'] ?? '', headers['sec-websocket-protocol'] ?? '', headers['sec-websocket-extensions'] ?? '', context);
        }),
      open: (ws) =>
        guard('open', () => {
          const data = ws.getUserData();
          data.socket = new UwsSocket(ws);
          data.on = door.attach(data.socket, data.address);
        }),
      // The ArrayBuffer is only valid during this call: the service gets a copy.
      message: (ws, message, isBinary) => guard('message', () => ws.getUserData().on?.message(Buffer.copyBytesFrom(new Uint8Array(message)), isBinary)),
      pong: (ws) => guard('pong', () => ws.getUserData().on?.pong()),
      close: (ws) =>
        guard('close', () => {
          const data = ws.getUserData();
          if (data.socket) data.socket.open = false;
          data.on?.close();
        }),
    })
    .any('/*', (res) =>
      guard('request', () => {
        res.writeStatus('404 Not Found').end(`the Arrays service is at ${options.path} (WebSocket)\n`);
      }),
    );
  const token = await new Promise<uWS.us_listen_socket | false>((resolve) => app.listen(options.host, options.port, resolve));
  if (token === false) throw new Error(`the Arrays service cannot listen on ${options.host}:${options.port} (in use, or no such address)`);
  const port = uws.us_socket_local_port(token as unknown as uWS.us_socket);
  log.info({ host: options.host, port }, 'Arrays (uWebSockets) listening');
  let listening = true;
  return {
    port,
    close() {
      if (!listening) return;
      listening = false;
      uws.us_listen_socket_close(token);
    },
  };
}
