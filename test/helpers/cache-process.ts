/**
 * `tabswarm cache` in a child process, as an administrator runs it from a clone: node with
 * tsx's loader on signaling/bin.ts (not the `tsx` command, whose grandchild a kill would leave
 * running). Its banner gives the node's peer ID and the URL of its report (/metrics, /status).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
const LOADER = pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const BIN = resolve(ROOT, 'signaling/bin.ts');

export interface CacheProcess {
  child: ChildProcess;
  peerId: string;
  /** The report's base URL (GET /metrics, GET /status). */
  reportUrl: string;
  stdout(): string;
  stderr(): string;
  /** GET /status, parsed. */
  status(): Promise<CacheStatus>;
  /** SIGTERM, then the exit code (SIGKILL after 10 s: null). */
  stop(): Promise<number | null>;
}

export interface CacheStatus {
  counters: { wanted: number; joined: number; refused: number; busy: number; fillsFailed: number };
  filling: string[];
  store: Array<{ contentId: string; bytesStored: number; complete: boolean }>;
  status: { TotalBytesToPeers: number; TotalBytesFromHTTP: number; TotalBytesFromPeers: number };
}

/** Starts `tabswarm cache …args` (add --server, --dir, --key…); the report on a free loopback port unless `args` say otherwise. */
export async function startCache(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CacheProcess> {
  const child = spawn(process.execPath, ['--import', LOADER, BIN, 'cache', '--metrics', '127.0.0.1:0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const banner = await new Promise<RegExpExecArray>((resolve_, reject) => {
    const timer = setTimeout(() => reject(new Error(`tabswarm cache: no banner within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    child.stdout!.on('data', () => {
      const m = /cache node ([0-9a-f]{32}) .*report at (http:\S+)\/metrics/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve_(m);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tabswarm cache exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const reportUrl = banner[2]!;
  return {
    child,
    peerId: banner[1]!,
    reportUrl,
    stdout: () => out,
    stderr: () => err,
    async status() {
      const res = await fetch(`${reportUrl}/status`);
      if (!res.ok) throw new Error(`GET /status: HTTP ${res.status}`);
      return (await res.json()) as CacheStatus;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
}
