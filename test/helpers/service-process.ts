/**
 * What the deployment tests need to run a real service (nginx, coturn) for a test: a free
 * port, a documented configuration file rendered for the test (every replacement must hit,
 * so a drifted document fails the test instead of testing something else), and a child
 * process that is stopped by its pid (SIGTERM, then SIGKILL) and whose output is kept for
 * the failure message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port that was free on `host` a moment ago. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, resolve);
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** One text replacement of a rendering: `from` must occur in the template exactly `count` times (default: at least once). */
export interface Replacement {
  from: string;
  to: string;
  count?: number;
}

/**
 * Reads a configuration file and applies the replacements, each to every occurrence. Throws
 * if a `from` is not in the file (or not `count` times): the document changed and the test
 * must change with it.
 */
export async function renderConfig(path: string, replacements: Replacement[], append = ''): Promise<string> {
  let text = await readFile(path, 'utf8');
  for (const r of replacements) {
    const n = text.split(r.from).length - 1;
    if (n === 0 || (r.count !== undefined && n !== r.count)) {
      throw new Error(`${path}: expected "${r.from}" ${r.count ?? 'at least once'} time(s), found ${n}: the document changed, update its test rendering`);
    }
    text = text.split(r.from).join(r.to);
  }
  return text + append;
}

/** Fails with a clear message if `binary` is not installed (the tests need it; .ci/run installs it). */
export function requireBinary(binary: string, versionArgs: string[], aptPackage: string): void {
  const probe = spawnSync(binary, versionArgs, { encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new Error(`${binary} is not installed (${probe.error.message}): install it with \`apt-get install -y ${aptPackage}\` (.ci/run does)`);
  }
}

/** A service started by a test; `stop()` ends it by its pid. */
export class ServiceProcess {
  #output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.#output = (this.#output + d.toString()).slice(-8000)));
    child.stderr?.on('data', (d: Buffer) => (this.#output = (this.#output + d.toString()).slice(-8000)));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static spawn(name: string, command: string, args: string[]): ServiceProcess {
    return new ServiceProcess(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the process wrote to stdout and stderr (the last 8,000 characters). */
  get output(): string {
    return this.#output;
  }

  /** Polls `ready` until it is true; throws with the process's output if it exits or `timeoutMs` passes. */
  async waitReady(ready: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string> = async () => ''): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.#output}\n${await describe()}`);
      if (await ready()) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.#output}\n${await describe()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM to its pid, SIGKILL after `graceMs`; resolves once it exited. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
