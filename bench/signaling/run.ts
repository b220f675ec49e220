/**
 * The signaling load benchmark: `npm run bench:signaling [-- --tiny] [-- --json] [-- --counts 1000,5000]`.
 *
 * Simulated WebSocket peers (1,000, 5,000 and 15,000 by default) against
 *   (a) tabswarm's server (`createServer` of signaling/server.ts, the real entry: HTTP API, CDN
 *       origin and the Arrays service), announcing published content, and
 *   (b) bittorrent-tracker's WebSocket tracker (the one WebTorrent uses), default options,
 * each driven with its own real message format (bench/signaling/generator.ts says which).
 * Each server runs in a child process of its own, so its memory (VmRSS) and CPU (utime +
 * stime) are read from /proc for it alone; the peers are spread over several generator
 * processes (at most 4,000 sockets each: a process may open 20,000 files here).
 *
 * For each server and each count N, a fresh server process, then:
 *   1. idle RSS (after a forced GC);
 *   2. connect N sockets (each generator opens 64 at a time) -> `connect_s`;
 *   3. every socket announces once (peer i to swarm i mod 100) and must be answered; after
 *      1 s and a forced GC, (RSS - idle RSS) / N -> `rss_per_peer_kib`;
 *   4. a window (8 s; tiny 2 s) where every socket announces again as soon as it is answered,
 *      one announce in flight per socket, peers in 100 swarms -> `announces_per_s_100`,
 *      `p50_ms_100`, `p99_ms_100` (send to reply), `cpu_pct_100` (server CPU, % of one core);
 *   5. the same with every peer announcing to one swarm -> `announces_per_s`, `p50_ms`,
 *      `p99_ms`, `cpu_pct`.
 * Generator CPU (`gen_cpu_pct`, all generators, % of one core) is printed too: the machine has
 * 2 cores, and server and generators share them; a server CPU under 100% means the server was
 * starved, not idle, so `announces_per_cpu_s` (one swarm) is given beside the raw rate.
 *
 * Progress on stderr, tables on stdout (figure, ours, tracker, ratio = ours / tracker); with
 * --json the last stdout line is one JSON object. Everything listens on 127.0.0.1; every child
 * is killed on exit, error, SIGINT, SIGTERM or the global timeout.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseClientMessage } from '../../src/protocol/arrays-messages.js';
import { writeDeterministicFile } from '../../signaling/deterministic-content.js';
import { publishFile } from '../../signaling/publish.js';
import {
  cpuSeconds,
  percentileSorted,
  ROOT,
  round,
  rssKib,
  SWARMS,
  type AnnounceExtra,
  type AnnouncedEvent,
  type ConnectedEvent,
  type GeneratorCommand,
  type GeneratorSetup,
  type Layout,
  type ServerKind,
  type ServerReady,
  type StatusEvent,
  type WindowEvent,
} from './common.js';
import { fmt, table } from '../table.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const MAX_SOCKETS_PER_GENERATOR = 4000;

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    tiny: { type: 'boolean', default: false },
    counts: { type: 'string' },
    window: { type: 'string' },
    generators: { type: 'string' },
    arrays: { type: 'string', default: 'uws' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(
    'usage: npm run bench:signaling -- [--tiny] [--json] [--counts 1000,5000,15000] [--arrays uws|ws] [--window SECONDS] [--generators N] [--timeout SECONDS]\n' +
      '  --arrays: our Arrays transport, uWebSockets on its own port (arraysPort, the default here) or ws on the HTTP port',
  );
  process.exit(0);
}
if (args.arrays !== 'uws' && args.arrays !== 'ws') throw new Error(`--arrays must be uws or ws, got ${args.arrays}`);
const ourTransport: 'uws' | 'ws' = args.arrays;

const counts = (args.counts ?? (args.tiny ? '200' : '1000,5000,15000')).split(',').map((s) => Number(s.trim()));
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 19_000)) {
  console.error('--counts: integers 1-19000 (the server holds one file descriptor per peer, and may open 20,000)');
  process.exit(2);
}
const windowMs = Math.round(1000 * Number(args.window ?? (args.tiny ? 2 : 8)));
const globalTimeoutMs = 1000 * Number(args.timeout ?? (args.tiny ? 60 : 1200));
if (!(windowMs > 0) || !(globalTimeoutMs > 0)) {
  console.error('--window and --timeout: positive numbers of seconds');
  process.exit(2);
}
const generatorsFor = (n: number): number =>
  args.generators ? Math.max(Math.ceil(n / MAX_SOCKETS_PER_GENERATOR), Number(args.generators)) : Math.max(2, Math.ceil(n / MAX_SOCKETS_PER_GENERATOR));

const startedAt = Date.now();
const stamp = (): string => `[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s]`;
const log = (line: string): void => {
  process.stderr.write(`${stamp()} ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- children: every one is killed however this process ends

const children = new Set<ChildProcess>();
let tempDir: string | undefined;

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping every child`);
    killAll();
    process.exit(130);
  });
}
const globalTimer = setTimeout(() => {
  log(`global timeout (${globalTimeoutMs / 1000} s): stopping every child`);
  killAll();
  process.exit(1);
}, globalTimeoutMs);

/** A child process (tsx, --expose-gc) and its IPC messages, awaited by event name. */
class Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  private readonly inbox: Array<{ ev: string }> = [];
  private readonly waiters: Array<{ ev: string; resolve: (msg: { ev: string }) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }> = [];
  private exitReason: string | undefined;

  constructor(
    readonly label: string,
    file: string,
    argv: string[],
  ) {
    this.proc = fork(join(HERE, file), argv, {
      cwd: ROOT,
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    children.add(this.proc);
    if (this.proc.pid === undefined) throw new Error(`${label}: could not start ${file}`);
    this.pid = this.proc.pid;
    const relay = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') log(`${label}: ${line}`);
    };
    this.proc.stdout!.on('data', relay);
    this.proc.stderr!.on('data', relay);
    this.proc.on('message', (msg: { ev: string; message?: string }) => {
      if (msg.ev === 'fatal') {
        this.fail(`${label} failed: ${msg.message}`);
        return;
      }
      const i = this.waiters.findIndex((w) => w.ev === msg.ev);
      if (i === -1) {
        this.inbox.push(msg);
        return;
      }
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(msg);
    });
    this.proc.on('exit', (code, signal) => {
      children.delete(this.proc);
      this.fail(`${label} exited (${signal ?? `code ${code}`})`);
    });
  }

  private fail(reason: string): void {
    this.exitReason ??= reason;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(reason));
    }
  }

  send(msg: unknown): void {
    if (this.exitReason === undefined) this.proc.send(msg as object);
  }

  next<T extends { ev: string }>(ev: T['ev'], timeoutMs: number): Promise<T> {
    const i = this.inbox.findIndex((m) => m.ev === ev);
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    if (this.exitReason !== undefined) return Promise.reject(new Error(this.exitReason));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const j = this.waiters.findIndex((w) => w.timer === timer);
        if (j !== -1) this.waiters.splice(j, 1);
        reject(new Error(`${this.label}: no "${ev}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiters.push({ ev, resolve: resolve as (msg: { ev: string }) => void, reject, timer });
    });
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    children.delete(this.proc);
  }
}

// ---- what the servers are asked about

/**
 * Fields the announce schema requires today beyond the base ones. The download mode (DO's
 * Scope) is being added to `announce`: the first candidate the real schema accepts is used,
 * `mode: 'internet'` preferred (in the report, else at the top level), so the benchmark keeps
 * sending valid announces whichever shape the schema has.
 */
function announceExtraFields(contentId: string): AnnounceExtra {
  const report = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 0, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 };
  const candidates: AnnounceExtra[] = [
    { top: {}, report: { mode: 'internet' } },
    { top: { mode: 'internet' }, report: {} },
    { top: { mode: 'internet', group: null }, report: {} },
    { top: {}, report: { mode: 'internet', group: null } },
    { top: {}, report: {} },
  ];
  const frame = (extra: AnnounceExtra): string =>
    JSON.stringify({ type: 'announce', contentId, peerId: '0'.repeat(32), report: { ...report, ...extra.report }, ...extra.top });
  for (const extra of candidates) if (parseClientMessage(frame(extra)).ok) return extra;
  const r = parseClientMessage(frame(candidates[0]!));
  throw new Error(`no announce the generator knows how to build passes the current schema: ${r.ok ? '' : r.reason}`);
}

/** 100 tiny deterministic files published into a temp content dir: one content ID per swarm. */
async function publishContents(dir: string): Promise<string[]> {
  const contentDir = join(dir, 'content');
  const ids: string[] = [];
  for (let s = 0; s < SWARMS; s++) {
    const source = join(dir, `swarm-${s}.bin`);
    await writeDeterministicFile(source, 1024 + s, 0x5157 + s);
    ids.push((await publishFile(source, { contentDir })).contentId);
  }
  return ids;
}

// ---- one server at one count

interface WindowFigures {
  announces_per_s: number;
  p50_ms: number;
  p99_ms: number;
  cpu_pct: number;
  gen_cpu_pct: number;
  errors: number;
  /** Relayed offers per second (tracker: it forwards each announce's 5 offers). */
  relayed_per_s: number;
  unanswered_at_end: number;
}

interface RunFigures {
  connect_s: number | null;
  announces_per_s: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  cpu_pct: number | null;
  gen_cpu_pct: number | null;
  /** announces_per_s / (cpu_pct / 100): the throughput per core-second the server got, which a loaded machine moves less. */
  announces_per_cpu_s: number | null;
  announces_per_s_100: number | null;
  p50_ms_100: number | null;
  p99_ms_100: number | null;
  cpu_pct_100: number | null;
  gen_cpu_pct_100: number | null;
  rss_idle_mib: number | null;
  rss_mib: number | null;
  rss_per_peer_kib: number | null;
  connected: number;
  answered: number;
  errors: number;
  relayed_per_s: number | null;
  open_at_end: number | null;
  /** All N connected, every first announce answered without error, all still open at the end. */
  completed: boolean;
  error?: string;
}

function emptyFigures(): RunFigures {
  return {
    connect_s: null,
    announces_per_s: null,
    p50_ms: null,
    p99_ms: null,
    cpu_pct: null,
    gen_cpu_pct: null,
    announces_per_cpu_s: null,
    announces_per_s_100: null,
    p50_ms_100: null,
    p99_ms_100: null,
    cpu_pct_100: null,
    gen_cpu_pct_100: null,
    rss_idle_mib: null,
    rss_mib: null,
    rss_per_peer_kib: null,
    connected: 0,
    answered: 0,
    errors: 0,
    relayed_per_s: null,
    open_at_end: null,
    completed: false,
  };
}

async function gcAndRss(server: Child): Promise<number> {
  server.send({ cmd: 'gc' });
  await server.next('gc-done', 30_000);
  await sleep(200);
  return rssKib(server.pid);
}

function cpuOf(pids: number[]): number {
  let total = 0;
  for (const pid of pids) total += cpuSeconds(pid);
  return total;
}

async function measureWindow(server: Child, gens: Child[], layout: Layout, drainMs: number): Promise<WindowFigures> {
  const startAt = Date.now() + 300;
  const cmd: GeneratorCommand = { cmd: 'window', layout, startAt, durationMs: windowMs, drainMs };
  const results = gens.map((g) => g.next<WindowEvent>('window', windowMs + drainMs + 60_000));
  for (const g of gens) g.send(cmd);
  await sleep(startAt - Date.now());
  const genPids = gens.map((g) => g.pid);
  const t0 = performance.now();
  const cpu0 = cpuSeconds(server.pid);
  const gen0 = cpuOf(genPids);
  await sleep(windowMs);
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(server.pid);
  const gen1 = cpuOf(genPids);
  const events = await Promise.all(results);
  const latencies = events.flatMap((e) => e.latenciesMs).sort((a, b) => a - b);
  const replies = events.reduce((a, e) => a + e.replies, 0);
  const errors = events.reduce((a, e) => a + e.errors, 0);
  const firstError = events.find((e) => e.firstError !== undefined)?.firstError;
  if (firstError !== undefined) log(`  ${errors} error replies; the first: ${firstError}`);
  return {
    announces_per_s: round(replies / (windowMs / 1000), 1),
    p50_ms: round(percentileSorted(latencies, 50), 2),
    p99_ms: round(percentileSorted(latencies, 99), 2),
    cpu_pct: round(((cpu1 - cpu0) / wall) * 100, 1),
    gen_cpu_pct: round(((gen1 - gen0) / wall) * 100, 1),
    errors,
    relayed_per_s: round(events.reduce((a, e) => a + e.relayed, 0) / (windowMs / 1000), 1),
    unanswered_at_end: events.reduce((a, e) => a + e.outstanding, 0),
  };
}

async function runOne(kind: ServerKind, n: number, swarmIds: Record<ServerKind, string[]>, contentDir: string, announceExtra: AnnounceExtra): Promise<{ figures: RunFigures; overrides: Record<string, unknown> }> {
  const figures = emptyFigures();
  let overrides: Record<string, unknown> = {};
  const server = new Child(`${kind} server`, kind === 'ours' ? 'server-ours.ts' : 'server-tracker.ts', kind === 'ours' ? [contentDir, ourTransport] : []);
  const gens: Child[] = [];
  try {
    const ready = await server.next<ServerReady>('ready', 60_000);
    overrides = ready.overrides;
    const url = ready.url;
    await sleep(500);
    const idle = await gcAndRss(server);
    figures.rss_idle_mib = round(idle / 1024, 1);

    const g = generatorsFor(n);
    for (let k = 0; k < g; k++) {
      const first = Math.floor((k * n) / g);
      const setup: GeneratorSetup = { kind, url, first, count: Math.floor(((k + 1) * n) / g) - first, swarmIds: swarmIds[kind], announceExtra, connectConcurrency: 64 };
      gens.push(new Child(`generator ${k}`, 'generator.ts', [JSON.stringify(setup)]));
    }
    await Promise.all(gens.map((c) => c.next('ready', 60_000)));

    // 2. connect
    const connected = gens.map((c) => c.next<ConnectedEvent>('connected', 180_000));
    const t0 = performance.now();
    for (const c of gens) c.send({ cmd: 'connect' } satisfies GeneratorCommand);
    const conn = await Promise.all(connected);
    figures.connect_s = round((performance.now() - t0) / 1000, 2);
    figures.connected = conn.reduce((a, e) => a + e.opened, 0);
    const connErr = conn.find((e) => e.firstError !== undefined)?.firstError;
    log(`  ${figures.connected}/${n} connected in ${figures.connect_s} s (${g} generators)${connErr ? `; first error: ${connErr}` : ''}`);

    // 3. one announce each, then memory
    const onceMs = args.tiny ? 20_000 : 120_000;
    const announced = gens.map((c) => c.next<AnnouncedEvent>('announced', onceMs + 30_000));
    const t1 = performance.now();
    for (const c of gens) c.send({ cmd: 'announce-once', layout: 'hundred', timeoutMs: onceMs } satisfies GeneratorCommand);
    const once = await Promise.all(announced);
    figures.answered = once.reduce((a, e) => a + e.answered, 0);
    figures.errors = once.reduce((a, e) => a + e.errors, 0);
    const onceErr = once.find((e) => e.firstError !== undefined)?.firstError;
    log(`  ${figures.answered}/${n} first announces answered in ${((performance.now() - t1) / 1000).toFixed(2)} s, ${figures.errors} errors${onceErr ? `; first: ${onceErr}` : ''}`);
    await sleep(1000);
    const loaded = await gcAndRss(server);
    figures.rss_mib = round(loaded / 1024, 1);
    figures.rss_per_peer_kib = round((loaded - idle) / n, 2);
    log(`  RSS idle ${figures.rss_idle_mib} MiB, with ${n} peers ${figures.rss_mib} MiB: ${figures.rss_per_peer_kib} KiB per peer`);

    // 4. 100 swarms
    const w100 = await measureWindow(server, gens, 'hundred', args.tiny ? 5000 : 30_000);
    figures.announces_per_s_100 = w100.announces_per_s;
    figures.p50_ms_100 = w100.p50_ms;
    figures.p99_ms_100 = w100.p99_ms;
    figures.cpu_pct_100 = w100.cpu_pct;
    figures.gen_cpu_pct_100 = w100.gen_cpu_pct;
    figures.errors += w100.errors;
    log(`  100 swarms: ${w100.announces_per_s} announces/s, p50 ${w100.p50_ms} ms, p99 ${w100.p99_ms} ms, server CPU ${w100.cpu_pct}%, generators ${w100.gen_cpu_pct}%${w100.unanswered_at_end ? `, ${w100.unanswered_at_end} unanswered after the drain` : ''}`);

    // 5. one swarm (last: what is still in flight afterwards is not waited for long)
    const w1 = await measureWindow(server, gens, 'one', 2000);
    figures.announces_per_s = w1.announces_per_s;
    figures.p50_ms = w1.p50_ms;
    figures.p99_ms = w1.p99_ms;
    figures.cpu_pct = w1.cpu_pct;
    figures.gen_cpu_pct = w1.gen_cpu_pct;
    figures.relayed_per_s = w1.relayed_per_s;
    figures.announces_per_cpu_s = w1.cpu_pct > 0 ? round(w1.announces_per_s / (w1.cpu_pct / 100), 0) : null;
    figures.errors += w1.errors;
    log(`  one swarm: ${w1.announces_per_s} announces/s, p50 ${w1.p50_ms} ms, p99 ${w1.p99_ms} ms, server CPU ${w1.cpu_pct}%, generators ${w1.gen_cpu_pct}%${w1.relayed_per_s ? `, ${w1.relayed_per_s} offers relayed/s` : ''}`);

    const open = await Promise.all(
      gens.map(async (c) => {
        c.send({ cmd: 'status' } satisfies GeneratorCommand);
        return (await c.next<StatusEvent>('status', 30_000)).open;
      }),
    );
    figures.open_at_end = open.reduce((a, b) => a + b, 0);
    figures.completed = figures.connected === n && figures.answered === n && figures.errors === 0 && figures.open_at_end === n;
  } catch (e) {
    figures.error = e instanceof Error ? e.message : String(e);
    log(`  FAILED: ${figures.error}`);
  } finally {
    for (const c of gens) c.send({ cmd: 'stop' } satisfies GeneratorCommand);
    await sleep(300);
    for (const c of gens) c.kill();
    server.kill();
    await sleep(500);
  }
  return { figures, overrides };
}

// ---- output

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  typeof a === 'number' && typeof b === 'number' && b !== 0 && Number.isFinite(a / b) ? round(a / b, 3) : null;

const SHOWN: Array<[keyof RunFigures, string]> = [
  ['connect_s', 'connect, all sockets open (s)'],
  ['announces_per_s', 'announces/s, one swarm'],
  ['p50_ms', 'latency p50, one swarm (ms)'],
  ['p99_ms', 'latency p99, one swarm (ms)'],
  ['cpu_pct', 'server CPU, one swarm (% of a core)'],
  ['gen_cpu_pct', 'generators CPU, one swarm (%)'],
  ['announces_per_cpu_s', 'announces per server CPU-second, one swarm'],
  ['announces_per_s_100', 'announces/s, 100 swarms'],
  ['p50_ms_100', 'latency p50, 100 swarms (ms)'],
  ['p99_ms_100', 'latency p99, 100 swarms (ms)'],
  ['cpu_pct_100', 'server CPU, 100 swarms (%)'],
  ['gen_cpu_pct_100', 'generators CPU, 100 swarms (%)'],
  ['rss_per_peer_kib', 'server RSS per peer (KiB)'],
  ['rss_idle_mib', 'server RSS idle (MiB)'],
  ['rss_mib', 'server RSS with N peers (MiB)'],
];

function printCount(n: number, ours: RunFigures, tracker: RunFigures): void {
  const rows: string[][] = [['figure', 'ours', 'tracker', 'ratio']];
  for (const [key, label] of SHOWN) rows.push([label, fmt(ours[key] as number | null), fmt(tracker[key] as number | null), fmt(ratio(ours[key] as number | null, tracker[key] as number | null))]);
  const state = (f: RunFigures): string => (f.completed ? 'completed' : `NOT completed (${f.connected} connected, ${f.answered} answered, ${f.errors} errors, ${f.open_at_end ?? '?'} open at end${f.error ? `; ${f.error}` : ''})`);
  console.log(`\n== ${n} peers\n${table(rows)}\nours: ${state(ours)}\ntracker: ${state(tracker)}\n`);
}

/** The commit measured, and the server and protocol files changed since it (the tree is shared). */
function gitState(): { commit: string; uncommitted: string[] } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'signaling', 'src/protocol'], { cwd: ROOT, encoding: 'utf8' });
    return { commit, uncommitted: status.split('\n').filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}

async function main(): Promise<number> {
  const machine = {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadavg_at_start: os.loadavg().map((x) => round(x, 2)),
  };
  const source = gitState();
  log(`machine: ${machine.cpus} x ${machine.cpu_model}; Node ${machine.node}; load average ${machine.loadavg_at_start.join(', ')}`);
  if (source.uncommitted.length > 0) log(`measuring ${source.commit} with uncommitted changes to ${source.uncommitted.join(', ')}`);
  log(`counts ${counts.join(', ')}; ${windowMs / 1000} s windows; our Arrays on ${ourTransport === 'uws' ? 'uWebSockets (its own port)' : 'ws (the HTTP port)'}${args.tiny ? ' (tiny: a smoke run, figures meaningless)' : ''}`);

  tempDir = mkdtempSync(join(os.tmpdir(), 'tabswarm-bench-signaling-'));
  const contentIds = await publishContents(tempDir);
  const swarmIds: Record<ServerKind, string[]> = {
    ours: contentIds,
    tracker: Array.from({ length: SWARMS }, (_, s) => createHash('sha1').update(`tabswarm bench swarm ${s}`).digest('hex')),
  };
  const announceExtra = announceExtraFields(contentIds[0]!);
  log(`published ${SWARMS} contents; announce fields beyond the base ones: ${JSON.stringify(announceExtra)}`);

  const results: Record<ServerKind, Record<string, RunFigures>> = { ours: {}, tracker: {} };
  let ourOverrides: Record<string, unknown> = {};
  for (const n of counts) {
    for (const kind of ['ours', 'tracker'] as const) {
      log(`${kind}, ${n} peers: start (load average ${os.loadavg().map((x) => x.toFixed(2)).join(', ')})`);
      const { figures, overrides } = await runOne(kind, n, swarmIds, join(tempDir, 'content'), announceExtra);
      if (kind === 'ours') {
        ourOverrides = overrides;
        if (n === counts[0]) log(`  our server's config for the benchmark: ${JSON.stringify(overrides)}`);
      }
      results[kind][n] = figures;
    }
    printCount(n, results.ours[n]!, results.tracker[n]!);
  }

  const both = counts.filter((n) => results.ours[n]?.completed && results.tracker[n]?.completed);
  const top = both.length > 0 ? Math.max(...both) : undefined;
  const oursDone = counts.filter((n) => results.ours[n]?.completed);
  const headline = {
    announce_vs_tracker: top === undefined ? null : ratio(results.ours[top]!.announces_per_s, results.tracker[top]!.announces_per_s),
    memory_per_peer_vs_tracker: top === undefined ? null : ratio(results.ours[top]!.rss_per_peer_kib, results.tracker[top]!.rss_per_peer_kib),
    max_peers_one_instance: oursDone.length > 0 ? Math.max(...oursDone) : null,
    compared_at_peers: top ?? null,
  };
  console.log(
    `== summary (${((Date.now() - startedAt) / 1000).toFixed(0)} s${args.tiny ? ', tiny' : ''})\n` +
      table([['headline', 'value'], ...Object.entries(headline).map(([k, v]) => [k, v === null ? '—' : fmt(v)])]) +
      `\nour server ran with: ${JSON.stringify(ourOverrides)}`,
  );

  const failed = counts.some((n) => !results.ours[n]?.completed || !results.tracker[n]?.completed);
  if (args.json) {
    console.log(
      JSON.stringify({
        ...headline,
        ours: results.ours,
        tracker: results.tracker,
        tiny: args.tiny,
        counts,
        window_s: windowMs / 1000,
        announce_extra_fields: announceExtra,
        our_server_config: ourOverrides,
        our_arrays_transport: ourTransport,
        tracker_options: { udp: false, http: false, ws: true, stats: false, peersCacheLength: 'default (1000)' },
        total_seconds: round((Date.now() - startedAt) / 1000, 1),
        machine: { ...machine, loadavg_at_end: os.loadavg().map((x) => round(x, 2)) },
        source,
        date: new Date(startedAt).toISOString(),
      }),
    );
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    clearTimeout(globalTimer);
    killAll();
    process.exit(code);
  },
  (e: unknown) => {
    console.error(e);
    killAll();
    process.exit(1);
  },
);
