/**
 * `tabswarm serve` in a child process, as a user starts it: the command's entry (the compiled
 * bin of an installed package, or signaling/bin.ts through tsx in a clone), its banner read
 * for the URL it serves at, its log lines kept, stopped by SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServeProcess {
  /** The `open:` URL of the banner, without the trailing slash. */
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL after 5 s). */
  stop(): Promise<number | null>;
}

/** Spawns `command args…` and waits (up to `timeoutMs`) for the banner's `open:` line. */
export async function startServeProcess(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ServeProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within ${options.timeoutMs ?? 30_000} ms\nstdout: ${out}\nstderr: ${err}`)), options.timeoutMs ?? 30_000);
    const look = () => {
      const m = /open:\s+(\S+?)\/?\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before its banner\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(force);
      return code;
    },
  };
}
