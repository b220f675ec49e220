/**
 * The server under attack: `signaling/main.ts`, the real run command, in a child process of
 * its own (`node --import tsx`), so that its RSS is read from /proc for it alone and an attack
 * that stalls its event loop cannot stall the attackers' clock. Everything binds 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerUnderTest {
  url: string;
  pid: number;
  contentDir: string;
  /** VmRSS of the server process, MiB; undefined once it is gone. */
  rssMiB(): number | undefined;
  /** Open file descriptors of the server process (sockets included). */
  fdCount(): number;
  /** Bytes of every file under the content directory. */
  diskBytes(): Promise<number>;
  /** The server's stderr and stdout so far (its log lines). */
  output(): string;
  stop(): Promise<void>;
}

export function rssMiBOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await bytesUnder(p);
    else if (e.isFile()) total += (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Starts the server on a free port with `env` over the defaults; resolves once it listens. */
export async function startServerUnderTest(contentDir: string, env: Record<string, string>): Promise<ServerUnderTest> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'signaling/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, TABSWARM_HOST: '127.0.0.1', TABSWARM_PORT: '0', TABSWARM_CONTENT_DIR: contentDir, TABSWARM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // Bounded: an attack that makes the server log per request would otherwise grow this too.
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-4 * 1024 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s:\n${out.slice(-2000)}`)), 60_000);
    const check = () => {
      const m = /open:\s+(http:\/\/[^\s/]+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out.slice(-2000)}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    contentDir,
    rssMiB: () => rssMiBOf(child.pid!),
    fdCount: () => {
      try {
        return readdirSync(`/proc/${child.pid!}/fd`).length;
      } catch {
        return 0;
      }
    },
    diskBytes: () => bytesUnder(contentDir),
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
