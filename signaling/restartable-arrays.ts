/**
 * An Arrays service that can be stopped and started again inside a running server: the
 * recovery tests take the service down mid-download (every socket closed, upgrades refused
 * with 503 on every transport, as a crashed or redeployed instance looks to a client) and bring up a fresh one
 * (empty swarms: the clients must re-announce), while HTTP and the CDN keep serving.
 *
 * It wraps `create()` and forwards every property of the current instance, so members added
 * to `ArraysService` later (e.g. `contentReports()`) pass through without a change here.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ArraysService } from './arrays.js';
import type { UpgradeRequest } from './arrays-socket.js';

export interface ArraysLifecycle {
  /** False between `stop()` and `start()`. */
  readonly running: boolean;
  /** Closes the current instance (its sockets get 1001, stragglers are cut); upgrades answer 503 until `start()`. */
  stop(): Promise<void>;
  /** Creates a fresh instance (no swarms) if stopped. */
  start(): void;
}

export type RestartableArrays = ArraysService & ArraysLifecycle;

export function createRestartableArrays(create: () => ArraysService): RestartableArrays {
  let current = create();
  let running = true;
  let stopping: Promise<void> | undefined;

  const lifecycle: ArraysLifecycle & Pick<ArraysService, 'handleUpgrade' | 'admit' | 'close'> = {
    get running() {
      return running;
    },
    async stop() {
      running = false;
      stopping ??= current.close();
      await stopping;
    },
    start() {
      if (running) return;
      current = create();
      stopping = undefined;
      running = true;
    },
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
      if (running) return current.handleUpgrade(req, socket, head);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n');
    },
    // Other transports (arrays-uws.ts) ask here first: refused the same way while stopped.
    admit(req: UpgradeRequest) {
      return running ? current.admit(req) : { ok: false, status: 503 };
    },
    async close() {
      running = false;
      stopping ??= current.close();
      await stopping;
    },
  };

  return new Proxy(lifecycle, {
    get(target, prop) {
      if (Reflect.has(target, prop)) return Reflect.get(target, prop, target);
      const value: unknown = Reflect.get(current, prop, current);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
    },
    has: (target, prop) => Reflect.has(target, prop) || Reflect.has(current, prop),
  }) as unknown as RestartableArrays;
}
