/**
 * A TCP forwarder on 127.0.0.1 that keeps what clients send (up to 8 MiB), for a test to read
 * the request headers a server received from a proxy in front of it (nginx's X-Forwarded-*),
 * which the server itself does not expose. Bytes are passed on unchanged, both ways; the
 * connection to the target comes from 127.0.0.1, as the proxy's own would.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const MAX_KEPT = 8 * 1024 * 1024;

export interface TcpTap {
  port: number;
  /** Every value of header `name` (case-insensitive) in what the clients sent so far. */
  headerValues(name: string): string[];
  close(): Promise<void>;
}

export async function startTcpTap(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpTap> {
  let kept = '';
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      if (kept.length < MAX_KEPT) kept += d.toString('latin1');
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    headerValues(name) {
      const re = new RegExp(`\\r\\n${name.replace(/[-]/g, '\\-')}:[ \\t]*([^\\r\\n]*)\\r\\n`, 'gi');
      return [...kept.matchAll(re)].map((m) => m[1]!);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
