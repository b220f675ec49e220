/**
 * `tabswarm get` in a child process, as a user runs it from a clone: node with tsx's loader on
 * signaling/bin.ts, in a directory of the test's (where the file lands by default). Not through
 * the `tsx` command: that runs the script in a grandchild, which a SIGKILL of the child would
 * leave running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
const LOADER = pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const BIN = resolve(ROOT, 'signaling/bin.ts');

export interface GetProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code (null when killed) and the signal that killed it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `tabswarm get …args` in `cwd`; `env` over this process's (TABSWARM_SERVER, DEBUG…). */
export function startGet(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): GetProcess {
  const child = spawn(process.execPath, ['--import', LOADER, BIN, 'get', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `tabswarm get …args` to its end (killed after `timeoutMs`). */
export async function runGet(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startGet(args, cwd, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
