/**
 * What the signaling load benchmark's processes share: the IPC messages between the runner
 * (bench/signaling/run.ts), the server children (server-ours.ts, server-tracker.ts) and the
 * load generators (generator.ts), and readers of /proc for a child's memory and CPU.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The two servers measured: tabswarm's Arrays service, and bittorrent-tracker's WebSocket tracker. */
export type ServerKind = 'ours' | 'tracker';
/** Every peer announces to swarm 0 (`one`), or peer i to swarm i mod 100 (`hundred`). */
export type Layout = 'one' | 'hundred';
export const SWARMS = 100;

// ---- server child -> runner
export interface ServerReady {
  ev: 'ready';
  port: number;
  /** Where the simulated peers connect (ours: the Arrays URL of the transport asked for). */
  url: string;
  /** Config keys the child changed from the server's defaults for the benchmark, with their values. */
  overrides: Record<string, unknown>;
}
export interface GcDone {
  ev: 'gc-done';
}
export type ServerEvent = ServerReady | GcDone;
// ---- runner -> server child
export type ServerCommand = { cmd: 'gc' };

/** Fields added to our announce: at its top level, and in its `report`. */
export interface AnnounceExtra {
  top: Record<string, unknown>;
  report: Record<string, unknown>;
}

// ---- runner -> generator
export interface GeneratorSetup {
  kind: ServerKind;
  url: string;
  /** Global index of this generator's first socket (peer IDs and swarms follow from it). */
  first: number;
  count: number;
  /** Content IDs (ours, 64 hex) or info hashes (tracker, 40 hex), one per swarm. */
  swarmIds: string[];
  /** Fields the current announce schema needs beyond the base ones (ours only), e.g. `report.mode`. */
  announceExtra: AnnounceExtra;
  /** Sockets of this generator opening at once. */
  connectConcurrency: number;
}
export type GeneratorCommand =
  | { cmd: 'connect' }
  | { cmd: 'announce-once'; layout: Layout; timeoutMs: number }
  | { cmd: 'window'; layout: Layout; startAt: number; durationMs: number; drainMs: number }
  | { cmd: 'status' }
  | { cmd: 'stop' };

// ---- generator -> runner
export interface ConnectedEvent {
  ev: 'connected';
  opened: number;
  failed: number;
  firstError?: string;
}
export interface AnnouncedEvent {
  ev: 'announced';
  answered: number;
  errors: number;
  firstError?: string;
  /** Sockets open now. */
  open: number;
}
export interface WindowEvent {
  ev: 'window';
  /** Replies (`peers`, or the tracker's announce response) received inside the window. */
  replies: number;
  /** Error replies received inside the window. */
  errors: number;
  firstError?: string;
  sent: number;
  /** Relayed offers received inside the window (tracker only: it forwards each announce's offers). */
  relayed: number;
  /** Send to reply, ms, of every reply inside the window. */
  latenciesMs: number[];
  /** Announces still unanswered when the drain gave up. */
  outstanding: number;
  open: number;
}
export interface StatusEvent {
  ev: 'status';
  open: number;
}
export type GeneratorEvent = { ev: 'ready' } | StatusEvent | ConnectedEvent | AnnouncedEvent | WindowEvent | { ev: 'fatal'; message: string };

/** VmRSS of a process in KiB (from /proc/<pid>/status). */
export function rssKib(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Nearest-rank percentile of sorted `values` (p in 0..100). */
export function percentileSorted(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Sends an IPC message from a child, or fails loudly when there is no parent. */
export function toParent(msg: unknown): void {
  if (!process.send) throw new Error('run this from bench/signaling/run.ts (it needs an IPC channel)');
  process.send(msg);
}

/** A child whose parent is gone must not linger: exit when the IPC channel closes. */
export function exitWithParent(cleanup: () => void = () => {}): void {
  process.on('disconnect', () => {
    cleanup();
    process.exit(0);
  });
}
