/**
 * A real `redis-server` for the tests: on 127.0.0.1, a free port, no persistence
 * (`--save '' --appendonly no`), in a temporary directory; it can be stopped and started
 * again on the same port (the Redis restart tests). If redis-server is not installed the
 * tests fail with a clear message (CI installs it: .ci/run).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { makeTempDir, removeDir } from './helpers.js';

const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Whether a PING on 127.0.0.1:port answers PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
    s.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
  });
}

export class RedisProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a redis-server on a free port; fails (does not skip) if redis-server is missing. */
  static async start(): Promise<RedisProcess> {
    const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined || probe.status !== 0) {
      throw new Error(
        `redis-server is not installed (${probe.error?.message ?? `exit ${probe.status}`}): the Redis scale-out tests need it. ` +
          'Install it with `apt-get install -y redis-server` (.ci/run does), or set REDIS_SERVER_PATH.',
      );
    }
    const r = new RedisProcess(await freePort(), await makeTempDir('tabswarm-redis-'));
    await r.up();
    return r;
  }

  /** Starts (again) on the same port, with an empty data set. */
  async up(timeoutMs = 5000): Promise<void> {
    if (this.#child !== undefined) return;
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    child.stdout?.on('data', (d: Buffer) => (this.#log = (this.#log + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (this.#log = (this.#log + d.toString()).slice(-4000)));
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (!(await ping(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        this.#child = undefined;
        child.kill('SIGKILL');
        throw new Error(`redis-server did not start on 127.0.0.1:${this.port}:\n${this.#log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the server (SIGTERM, SIGKILL after 3 s) and waits for its exit. */
  async down(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await this.#exited;
    clearTimeout(timer);
  }

  async restart(pauseMs = 0): Promise<void> {
    await this.down();
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    await this.up();
  }

  async stop(): Promise<void> {
    await this.down();
    await removeDir(this.dir);
  }
}

let prefixCounter = 0;
/** A key prefix of its own per test, so tests sharing one Redis never see each other's keys. */
export function testPrefix(name = 'test'): string {
  return `tst${process.pid}-${name}-${++prefixCounter}:`;
}
