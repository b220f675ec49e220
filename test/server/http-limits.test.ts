/**
 * What one client can hold of the HTTP port (signaling/connection-guard.ts and the timeouts
 * in server.ts): slow headers are cut, connections are capped per address and in total, a
 * download whose reader stalls is closed, and static files never mis-serve a Range. Clients
 * bind loopback addresses of their own (127.0.0.0/8 all reaches the server).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { effectiveCdnMaxStreams, kernelTcpMemory, MIN_CDN_STREAMS } from '../../signaling/cdn-streams.js';
import { createConnectionGuard, effectiveMaxConnections, FD_HEADROOM, openFilesLimit } from '../../signaling/connection-guard.js';
import type { ServerHandle } from '../../signaling/server.js';
import { MiB, makeTempDir, publishDeterministic, removeDir, sleep, startServer, waitFor } from './helpers.js';

function open(server: ServerHandle, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: server.port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Whether the server closed `s` (end or close) within `ms`. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    s.once('close', done);
    s.once('end', done);
    s.resume();
  });
}

/**
 * The states (Linux /proc/net/tcp, hex: 01 ESTABLISHED, 04 FIN_WAIT1…) of the kernel's sockets
 * from local port `port` to remote port `remotePort` on 127.0.0.0/8. A reset leaves none; a
 * close with unsent bytes leaves one in FIN_WAIT1 that holds its send buffer.
 */
function kernelSockets(port: number, remotePort: number): string[] {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hex(port)}`) && f[2]?.endsWith(`:${hex(remotePort)}`))
    .map((f) => f[3]!);
}

/** One GET on a fresh connection from `localAddress`; the status, or 0 if the connection was refused. */
function get(server: ServerHandle, path: string, localAddress = '127.0.0.1', headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: server.port, localAddress });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
    s.on('close', () => {
      const raw = Buffer.concat(chunks);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(raw.toString('latin1'));
      const at = raw.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, body: at === -1 ? Buffer.alloc(0) : raw.subarray(at + 4) });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`);
  });
}

describe('HTTP limits', () => {
  let dir: string;
  let contentDir: string;
  let contentId: string;
  const servers: ServerHandle[] = [];

  beforeAll(async () => {
    dir = await makeTempDir();
    contentDir = join(dir, 'content');
    contentId = (await publishDeterministic(dir, contentDir, 24 * MiB, 5, 'big.bin')).contentId;
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await removeDir(dir);
  });

  async function server(options: Parameters<typeof startServer>[1]): Promise<ServerHandle> {
    const s = await startServer(contentDir, options);
    servers.push(s);
    return s;
  }

  it('closes a client that sends its headers too slowly (408), and serves others meanwhile', async () => {
    const s = await server({ httpHeadersTimeoutMs: 1000 });
    const slow = await open(s, '127.0.0.1');
    slow.write('GET /api/catalog HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => slow.writable && slow.write('X-a: b\r\n'), 200);
    let reply = '';
    slow.on('data', (c: Buffer) => (reply += c.toString()));
    expect((await get(s, '/api/catalog', '127.0.0.2')).status).toBe(200);
    expect(await closedWithin(slow, 3500)).toBe(true);
    clearInterval(drip);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    // One that never reads the 408 (nor the FIN after it) does not keep its socket either.
    const deaf = await open(s, '127.0.0.5');
    deaf.pause();
    deaf.write('GET /api/catalog HTTP/1.1\r\nHost: x\r\n');
    await waitFor(() => s.connections.open === 1, 500, 'the deaf client counted');
    await waitFor(() => s.connections.open === 0, 4000, 'the deaf client let go');
    deaf.destroy();
  });

  it('caps open connections per address: one past the cap is refused, another address is served, and a closed one frees its place', async () => {
    const s = await server({ maxConnectionsPerAddress: 5 });
    const held: Socket[] = [];
    for (let i = 0; i < 5; i++) held.push(await open(s, '127.0.0.3'));
    await sleep(50);
    // The sixth from that address is closed at once, before any HTTP.
    const refused = await get(s, '/api/catalog', '127.0.0.3');
    expect(refused.status).toBe(0);
    expect((await get(s, '/api/catalog', '127.0.0.4')).status).toBe(200);
    held.pop()!.destroy();
    await sleep(50);
    expect((await get(s, '/api/catalog', '127.0.0.3')).status).toBe(200);
    for (const h of held) h.destroy();
  });

  it('caps open connections in total, and lowers the cap to the fd limit less a headroom', async () => {
    const s = await server({ maxConnections: 4 });
    const held: Socket[] = [];
    for (let i = 0; i < 4; i++) held.push(await open(s, `127.0.0.${10 + i}`));
    await sleep(50);
    expect((await get(s, '/api/catalog', '127.0.0.20')).status).toBe(0);
    held.pop()!.destroy();
    await sleep(50);
    expect((await get(s, '/api/catalog', '127.0.0.20')).status).toBe(200);
    for (const h of held) h.destroy();

    expect(openFilesLimit('Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n')).toBe(1024);
    expect(openFilesLimit('Max open files            unlimited            unlimited            files\n')).toBeUndefined();
    expect(effectiveMaxConnections(10_000, 1024)).toBe((1024 - FD_HEADROOM) / 2);
    expect(effectiveMaxConnections(500, 20_000)).toBe(500);
    expect(effectiveMaxConnections(10_000, 20_000)).toBe(9872);
    expect(effectiveMaxConnections(10_000, undefined)).toBe(10_000);
    const guard = createConnectionGuard({ maxConnections: 10_000, maxConnectionsPerAddress: 10, httpSendTimeoutMs: 1000 }, pino({ level: 'silent' }), { fdLimit: 1000 });
    expect(guard.maxConnections).toBe((1000 - FD_HEADROOM) / 2);
    guard.close();
  });

  it('closes a /cdn download whose reader stops reading, after the send timeout; a reading client is not cut', async () => {
    const s = await server({ httpSendTimeoutMs: 1500 });
    const stalled = await open(s, '127.0.0.30');
    stalled.write(`GET /cdn/${contentId}/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
    stalled.pause();
    // A reader that reads, slowly but steadily, the whole 24 MiB.
    const reading = get(s, `/cdn/${contentId}/big.bin`, '127.0.0.31');
    await sleep(300);
    expect(s.connections.sendTimeouts).toBe(0);
    // The server resets its side (a close would leave the unsent bytes queued in the kernel for
    // minutes, an orphan the reader never takes the FIN of).
    await waitFor(() => s.connections.sendTimeouts === 1, 6000, 'the stalled reader cut');
    expect(kernelSockets(s.port, stalled.localPort!), 'the server-side socket of the stalled reader, in the kernel').toEqual([]);
    const r = await reading;
    expect(r.status).toBe(200);
    expect(r.body.byteLength).toBe(24 * MiB);
    stalled.destroy();
  });

  it('static files ignore Range: reversed, huge and suffix ranges get the whole file, and nothing is logged as an error', async () => {
    const appDir = join(dir, 'app');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(appDir, { recursive: true });
    const index = '<!doctype html><title>tabswarm test</title><p>0123456789</p>\n';
    await writeFile(join(appDir, 'index.html'), index);
    const s = await server({ appDir });
    for (const range of ['bytes=5-1', 'bytes=0-99999999999999999999', 'bytes=-5', 'bytes=2-3']) {
      const r = await get(s, '/index.html', '127.0.0.40', { Range: range });
      expect(r.status, range).toBe(200);
      expect(r.body.toString(), range).toBe(index);
    }
  });
});

describe('the CDN origin per address', () => {
  it('streams at most 64 downloads at once to one address (429 past it), others unaffected, a finished one frees its place', async () => {
    const dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    const { contentId } = await publishDeterministic(dir, contentDir, 24 * MiB, 6, 'big.bin');
    const s = await startServer(contentDir);
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 64; i++) {
        const k = await open(s, '127.0.0.50');
        k.write(`GET /cdn/${contentId}/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
        k.pause();
        held.push(k);
      }
      await sleep(300);
      expect((await get(s, `/cdn/${contentId}/big.bin`, '127.0.0.50', { Range: 'bytes=0-9' })).status).toBe(429);
      const other = await get(s, `/cdn/${contentId}/big.bin`, '127.0.0.51', { Range: 'bytes=0-9' });
      expect(other.status).toBe(206);
      expect(other.body.byteLength).toBe(10);
      held.pop()!.destroy();
      await sleep(200);
      expect((await get(s, `/cdn/${contentId}/big.bin`, '127.0.0.50', { Range: 'bytes=0-9' })).status).toBe(206);
    } finally {
      for (const k of held) k.destroy();
      await s.close();
      await removeDir(dir);
    }
  });
});

describe('the CDN origin in total', () => {
  it('streams at most cdnMaxStreams at once in total: a full total makes room for an address with fewer streams (resetting the stalest of the heaviest), and refuses one with as many (503)', async () => {
    const dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    const { contentId } = await publishDeterministic(dir, contentDir, 24 * MiB, 7, 'big.bin');
    const s = await startServer(contentDir, { cdnMaxStreams: 4 });
    const held: Socket[] = [];
    try {
      // Four addresses hold one stalled download each: the total is full.
      for (let i = 0; i < 4; i++) {
        const k = await open(s, `127.0.0.${60 + i}`);
        k.write(`GET /cdn/${contentId}/big.bin HTTP/1.1\r\nHost: x\r\n\r\n`);
        k.pause();
        held.push(k);
        await sleep(100);
      }
      await sleep(300);
      const alive = () => held.filter((k) => kernelSockets(s.port, k.localPort!).length > 0).length;
      expect(alive()).toBe(4);
      // One of them asks for more: it holds as many as anyone, so it is refused.
      const refused = await get(s, `/cdn/${contentId}/big.bin`, '127.0.0.60', { Range: 'bytes=0-9' });
      expect(refused.status).toBe(503);
      expect(alive()).toBe(4);
      // The rest of the server is not part of the cap.
      expect((await get(s, '/api/catalog', '127.0.0.70')).status).toBe(200);
      // A newcomer holds none: it is served, and one stalled download is reset to make room.
      const served = await get(s, `/cdn/${contentId}/big.bin`, '127.0.0.70', { Range: 'bytes=0-9' });
      expect(served.status).toBe(206);
      expect(served.body.byteLength).toBe(10);
      await waitFor(() => alive() === 3, 2000, 'one stalled download reset');
    } finally {
      for (const k of held) k.destroy();
      await s.close();
      await removeDir(dir);
    }
  });

  it('lowers the total to what the kernel TCP memory carries: stalled send buffers in half the pressure threshold', () => {
    // Linux's defaults on a 24 GiB machine: pressure at 383879 pages, send buffers up to 4 MiB.
    const kernel = kernelTcpMemory({ tcpMem: '287907\t383879\t575814\n', tcpWmem: '4096\t16384\t4194304\n' });
    expect(kernel).toEqual({ pressureBytes: 383879 * 4096, sendBufferMaxBytes: 4194304 });
    expect(effectiveCdnMaxStreams(256, kernel)).toBe(Math.floor((383879 * 4096) / 2 / 4194304)); // 187
    expect(effectiveCdnMaxStreams(100, kernel)).toBe(100);
    // A tiny machine still serves a few; a smaller configured cap is kept as it is.
    const tiny = kernelTcpMemory({ tcpMem: '1000 2000 3000', tcpWmem: '4096 16384 4194304' });
    expect(effectiveCdnMaxStreams(256, tiny)).toBe(MIN_CDN_STREAMS);
    expect(effectiveCdnMaxStreams(4, tiny)).toBe(4);
    // Unknown (not Linux, or unreadable): as configured.
    expect(effectiveCdnMaxStreams(256, undefined)).toBe(256);
    expect(kernelTcpMemory({ tcpMem: 'garbage', tcpWmem: '1 2 3' })).toBeUndefined();
    expect(kernelTcpMemory({ tcpMem: '1 0 3', tcpWmem: '1 2 3' })).toBeUndefined();
  });
});
