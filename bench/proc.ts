/**
 * Chromium's processes and the machine's CPU, read from /proc (Linux): which processes a
 * browser runs, how much CPU each used over a window, and how busy the whole machine was.
 * Used by the memory benchmark (the tab's renderer) and the transfer benchmark (CPU per byte).
 */
import { readdir, readFile } from 'node:fs/promises';

export interface Proc {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks (USER_HZ: 100 per second on Linux). */
  cpu: number;
  args: string[];
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux build we meet). */
export const TICKS_PER_SECOND = 100;

export async function readProcs(): Promise<Map<number, Proc>> {
  const procs = new Map<number, Proc>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const [stat, cmdline] = await Promise.all([readFile(`/proc/${name}/stat`, 'utf8'), readFile(`/proc/${name}/cmdline`, 'utf8')]);
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
      // (Chromium's zygote children rewrite their command line as one space-separated string.)
      procs.set(Number(name), { pid: Number(name), ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]), args: cmdline.split(/[\0 ]/).filter(Boolean) });
    } catch {
      // exited meanwhile
    }
  }
  return procs;
}

/** The Chromium browser process that `isBrowser` picks (not a `--type=` child), and all its descendants. */
export async function chromiumTree(isBrowser: (p: Proc) => boolean, what: string): Promise<{ browser: Proc; all: Proc[] }> {
  const all = await chromiumTrees(isBrowser, what, 1);
  return { browser: all[0]!, all };
}

/** The first `most` Chromium browser processes `isBrowser` picks (all by default), then all their descendants. */
async function chromiumTrees(isBrowser: (p: Proc) => boolean, what: string, most = Infinity): Promise<Proc[]> {
  const procs = await readProcs();
  const all = [...procs.values()].filter((p) => isBrowser(p) && !p.args.some((a) => a.startsWith('--type='))).slice(0, most);
  if (all.length === 0) throw new Error(`no Chromium browser process ${what} in /proc`);
  for (let i = 0; i < all.length; i++) for (const p of procs.values()) if (p.ppid === all[i]!.pid) all.push(p);
  return all;
}

/** The browser started with `--user-data-dir=<dir>`. */
export const byUserDataDir = (dir: string) => (p: Proc) => p.args.includes(`--user-data-dir=${dir}`);
/** A Chromium browser started by this Node process (chromium.launch). */
export const launchedByUs = (p: Proc) => p.ppid === process.pid && p.args.some((a) => a.startsWith('--user-data-dir='));

/** What a Chromium process does: browser, renderer, gpu, network, storage, audio, zygote, or its --type. */
export function processKind(p: Proc): string {
  const type = p.args.find((a) => a.startsWith('--type='))?.slice('--type='.length);
  if (type === undefined) return 'browser';
  if (type === 'gpu-process') return 'gpu';
  if (type === 'utility') {
    const sub = p.args.find((a) => a.startsWith('--utility-sub-type='))?.slice('--utility-sub-type='.length) ?? '';
    if (sub.startsWith('network.')) return 'network';
    if (sub.startsWith('storage.')) return 'storage';
    if (sub.startsWith('audio.')) return 'audio';
    return `utility ${sub}`;
  }
  return type;
}

/** VmRSS of `pid` in bytes, or 0 if it is gone. */
export async function rssOf(pid: number): Promise<number> {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The machine's CPU ticks since boot, all cores: busy (not idle, not iowait) and total. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const t = line.trim().split(/\s+/).slice(1).map(Number);
  const total = t.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
  return { busy: total - t[3]! - t[4]!, total };
}

export interface CpuWindow {
  wallSeconds: number;
  /** CPU seconds of the whole Chromium tree over the window (processes that ended meanwhile are missed). */
  chromiumSeconds: number;
  /** The same, per process kind (processKind), summed over processes of that kind. */
  byKind: Record<string, number>;
  /** The whole machine's busy share over the window, every process of every user: 1 = all cores busy. */
  machineBusy: number;
  cores: number;
}

/** Starts a CPU window over the Chromium trees `isBrowser` picks (every such browser); `stop()` ends it. */
export async function startCpuWindow(isBrowser: (p: Proc) => boolean, cores: number): Promise<{ stop(): Promise<CpuWindow> }> {
  const [tree, m0] = await Promise.all([chromiumTrees(isBrowser, 'to measure'), machineTicks()]);
  const before = new Map(tree.map((p) => [p.pid, p.cpu]));
  const t0 = performance.now();
  return {
    async stop() {
      const [after, m1] = await Promise.all([chromiumTrees(isBrowser, 'to measure'), machineTicks()]);
      const wallSeconds = (performance.now() - t0) / 1000;
      const byKind: Record<string, number> = {};
      let chromiumTicks = 0;
      for (const p of after) {
        const used = p.cpu - (before.get(p.pid) ?? 0);
        chromiumTicks += used;
        const kind = processKind(p);
        byKind[kind] = (byKind[kind] ?? 0) + used / TICKS_PER_SECOND;
      }
      return {
        wallSeconds,
        chromiumSeconds: chromiumTicks / TICKS_PER_SECOND,
        byKind,
        machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
        cores,
      };
    },
  };
}
