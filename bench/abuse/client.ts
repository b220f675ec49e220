/**
 * Raw HTTP and TCP clients for the abuse suite, each bound to a loopback address of its own
 * (127.0.0.0/8 all reaches the server), so that one test machine plays many remote addresses.
 * Every request has a timeout: an attack never waits on the server for good.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  ms: number;
  /** Why status is 0: 'timeout', or the socket error's code (ECONNRESET, ECONNREFUSED…). */
  error?: string;
}

/** The n-th attacker address: 127.0.1.0 upwards (the legitimate client keeps 127.0.0.200). */
export function attackerAddress(n: number): string {
  return `127.0.${1 + Math.floor(n / 250)}.${n % 250}`;
}

export const LEGIT_ADDRESS = '127.0.0.200';

/**
 * One request on a connection of its own from `localAddress`; status 0 when the connection
 * failed, was closed or timed out (the server refused it one way or another).
 */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string; localAddress?: string; timeoutMs?: number; maxBody?: number } = {},
): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number, headers: IncomingHttpHeaders = {}, body: Buffer = Buffer.alloc(0), error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ status, headers, body, ms: performance.now() - t0, ...(error === undefined ? {} : { error }) });
    };
    const failed = (e: Error & { code?: string }) => finish(0, {}, Buffer.alloc(0), e.code ?? e.message);
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= (opts.maxBody ?? 1024 * 1024)) chunks.push(c);
      });
      res.on('end', () => finish(res.statusCode ?? 0, res.headers, Buffer.concat(chunks)));
      res.on('error', failed);
    });
    const timer = setTimeout(() => {
      finish(0, {}, Buffer.alloc(0), 'timeout');
      req.destroy();
    }, opts.timeoutMs ?? 5000);
    req.on('error', failed);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** A raw TCP socket to the server's port from `localAddress`; resolves connected or undefined. */
export function rawSocket(url: string, localAddress: string, timeoutMs = 3000): Promise<Socket | undefined> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port), localAddress });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/** Runs `fn` over `items` with at most `width` at once. */
export async function pool<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
