/**
 * What one client can hold of the HTTP port's TCP connections (nginx's `limit_conn` and
 * `send_timeout`, before any HTTP is parsed):
 * - at most `maxConnectionsPerAddress` open connections per address bucket (an IPv4 address or
 *   an IPv6 /64, lan-key.ts), WebSocket ones included: they are the same TCP connections;
 * - at most `maxConnections` in total, lowered at start to half the process's file-descriptor
 *   limit less `FD_HEADROOM` (a download holds its socket and its file), so the server never
 *   runs out of descriptors;
 * - a connection with bytes waiting to be sent that the client has not taken any of for
 *   `httpSendTimeoutMs` (a download whose reader stalls) is reset (RST), which frees its
 *   kernel send buffer at once.
 * A connection past a cap is destroyed at once; nothing else is affected. Behind a reverse
 * proxy every connection comes from the proxy's address: set the per-address cap for that, or
 * leave per-client limits to the proxy (docs/security.md).
 *
 * Memory: one counter per address that has open connections, one Set entry per connection.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { addressBucketOf } from './lan-key.js';

export type ConnectionGuardConfig = Pick<ServerConfig, 'maxConnectionsPerAddress' | 'maxConnections' | 'httpSendTimeoutMs'>;

/** Descriptors kept free for files, the Arrays service's other port, Redis, logs. */
export const FD_HEADROOM = 256;

/** The soft limit on open files of this process (Linux /proc), or undefined where unknown. */
export function openFilesLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

/**
 * `maxConnections` as it can be honoured under an fd limit of `fdLimit`: a download holds two
 * descriptors (its socket and its file), so half of what is left after the headroom.
 */
export function effectiveMaxConnections(configured: number, fdLimit: number | undefined): number {
  if (fdLimit === undefined) return configured;
  return Math.max(1, Math.min(configured, Math.floor((fdLimit - FD_HEADROOM) / 2)));
}

interface Tracked {
  bucket: string;
  /** socket.bytesWritten when it last moved, and when. */
  written: number;
  movedAt: number;
}

export interface ConnectionGuard {
  /** Call on every new TCP connection of the HTTP port; false if it was refused (destroyed). */
  admit(socket: Socket): boolean;
  readonly open: number;
  /** The total cap in effect. */
  readonly maxConnections: number;
  /** Connections refused and destroyed for a stalled send, so far. */
  readonly refused: number;
  readonly sendTimeouts: number;
  close(): void;
}

export function createConnectionGuard(config: ConnectionGuardConfig, logger: Logger, deps: { now?: () => number; fdLimit?: number | undefined; checkEveryMs?: number } = {}): ConnectionGuard {
  const now = deps.now ?? Date.now;
  const fdLimit = 'fdLimit' in deps ? deps.fdLimit : openFilesLimit();
  const maxConnections = effectiveMaxConnections(config.maxConnections, fdLimit);
  if (maxConnections < config.maxConnections) logger.info({ configured: config.maxConnections, fdLimit, maxConnections }, 'connection cap lowered to the file-descriptor limit');
  const perAddress = new Map<string, number>();
  const sockets = new Map<Socket, Tracked>();
  let refused = 0;
  let sendTimeouts = 0;
  let refusedSinceLog = 0;

  // One sweep for every connection: a stalled send is found within a second or two of its timeout.
  const checkEveryMs = deps.checkEveryMs ?? Math.min(1000, Math.max(50, config.httpSendTimeoutMs / 4));
  const timer = setInterval(() => {
    const t = now();
    for (const [socket, tr] of sockets) {
      // bytesWritten counts what is still queued too: what the client took is the difference.
      const taken = socket.bytesWritten - socket.writableLength;
      if (taken !== tr.written || socket.writableLength === 0) {
        tr.written = taken;
        tr.movedAt = t;
      } else if (t - tr.movedAt >= config.httpSendTimeoutMs) {
        sendTimeouts++;
        // A reset, not a close: a closed socket with unsent bytes lingers as an orphan that
        // keeps its kernel send buffer for minutes (a stalled reader never takes the FIN); a
        // reset frees it at once.
        try {
          socket.resetAndDestroy();
        } catch {
          socket.destroy(); // not a TCP handle (a test's stand-in): a plain close
        }
      }
    }
    if (refusedSinceLog > 0) {
      // Aggregated: a flood of refused connections writes one line a sweep, not one each.
      logger.debug({ refused: refusedSinceLog, open: sockets.size }, 'connections refused at a cap');
      refusedSinceLog = 0;
    }
  }, checkEveryMs);
  timer.unref();

  return {
    admit(socket) {
      const bucket = addressBucketOf(socket.remoteAddress ?? '');
      const n = perAddress.get(bucket) ?? 0;
      if (n >= config.maxConnectionsPerAddress || sockets.size >= maxConnections) {
        refused++;
        refusedSinceLog++;
        socket.destroy();
        return false;
      }
      perAddress.set(bucket, n + 1);
      sockets.set(socket, { bucket, written: 0, movedAt: now() });
      socket.once('close', () => {
        if (!sockets.delete(socket)) return;
        const left = (perAddress.get(bucket) ?? 1) - 1;
        if (left > 0) perAddress.set(bucket, left);
        else perAddress.delete(bucket);
      });
      return true;
    },
    get open() {
      return sockets.size;
    },
    maxConnections,
    get refused() {
      return refused;
    },
    get sendTimeouts() {
      return sendTimeouts;
    },
    close() {
      clearInterval(timer);
    },
  };
}
