/**
 * A real coturn (turnserver) for a test, with the documented configuration
 * (docs/deploy/turnserver.conf) rendered for it: the address and ports given, a password of
 * its own, and its pid, log and user database in a temporary directory removed by `stop()`.
 * It runs in the foreground as a child process stopped by its pid. The rendering adds two
 * lines, both for the test only: `allowed-peer-ip` for its own relay address (the test
 * network is private, which the document denies as a peer), and `verbose` (the session log
 * the test reads). Without coturn installed, `startCoturn` throws (the test fails, not skips).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderConfig, requireBinary, ServiceProcess } from './service-process.js';

const TURNSERVER = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';
export const TURN_CONFIG = 'docs/deploy/turnserver.conf';

export interface CoturnOptions {
  /** Where it listens and relays from (the document's 203.0.113.10). */
  address: string;
  /** Its TURN port, UDP and TCP (the document's 3478). */
  port: number;
  /** The relay port range (the document's 49152-65535). */
  minRelayPort: number;
  maxRelayPort: number;
}

/**
 * One `usage` line of coturn's log: what a session moved with its client since the session's
 * previous such line (coturn writes one every 2,048 packets or so, and one as the session
 * closes). The `peer usage` lines (the relay side) are not these.
 */
export interface TurnSessionUsage {
  username: string;
  /** Bytes coturn received from the client / sent to the client. */
  receivedBytes: number;
  sentBytes: number;
}

export interface CoturnHandle {
  /** The RTCIceServer to hand to clients: `turn:<address>:<port>?transport=udp` and its credentials. */
  iceServer: { urls: string; username: string; credential: string };
  process: ServiceProcess;
  log(): Promise<string>;
  /** Every client-side `usage` line of the log so far. */
  usage(): Promise<TurnSessionUsage[]>;
  stop(): Promise<void>;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function parseUsage(log: string): TurnSessionUsage[] {
  const out: TurnSessionUsage[] = [];
  for (const m of log.matchAll(/^\S+ : session \d+: usage: realm=<[^>]*>, username=<([^>]*)>, rp=\d+, rb=(\d+), sp=\d+, sb=(\d+)$/gm)) {
    out.push({ username: m[1]!, receivedBytes: Number(m[2]), sentBytes: Number(m[3]) });
  }
  return out;
}

export async function startCoturn(options: CoturnOptions): Promise<CoturnHandle> {
  requireBinary(TURNSERVER, ['--version'], 'coturn');
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-coturn-'));
  try {
    const password = randomBytes(12).toString('hex');
    const config = await renderConfig(
      TURN_CONFIG,
      [
        { from: 'listening-ip=203.0.113.10', to: `listening-ip=${options.address}`, count: 1 },
        { from: 'relay-ip=203.0.113.10', to: `relay-ip=${options.address}`, count: 1 },
        { from: 'listening-port=3478', to: `listening-port=${options.port}`, count: 1 },
        { from: 'min-port=49152', to: `min-port=${options.minRelayPort}`, count: 1 },
        { from: 'max-port=65535', to: `max-port=${options.maxRelayPort}`, count: 1 },
        { from: 'user=tabswarm:change-this-password', to: `user=tabswarm:${password}`, count: 1 },
        { from: 'pidfile=/run/turnserver/turnserver.pid', to: `pidfile=${dir}/turnserver.pid`, count: 1 },
        { from: 'log-file=/var/log/turnserver/turnserver.log', to: `log-file=${dir}/turnserver.log`, count: 1 },
        { from: 'userdb=/var/lib/turn/turndb', to: `userdb=${dir}/turndb`, count: 1 },
      ],
      `\n# Added by test/helpers/coturn.ts\nallowed-peer-ip=${options.address}\nverbose\n`,
    );
    const file = join(dir, 'turnserver.conf');
    await writeFile(file, config);
    const proc = ServiceProcess.spawn('turnserver', TURNSERVER, ['-c', file]);
    const log = () => readFile(join(dir, 'turnserver.log'), 'utf8').catch(() => '');
    await proc.waitReady(async () => (await log()).includes('UDP listener opened') && (await accepts(options.address, options.port)), 10_000, log);
    return {
      iceServer: { urls: `turn:${options.address}:${options.port}?transport=udp`, username: 'tabswarm', credential: password },
      process: proc,
      log,
      usage: async () => parseUsage(await log()),
      async stop() {
        await proc.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
