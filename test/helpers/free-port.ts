/** A TCP port free on `host` now (for a server whose URL must be known before it starts). */
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, host, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
