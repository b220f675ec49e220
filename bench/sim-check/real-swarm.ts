/**
 * One run of the real swarm demo (swarm/run.ts: the tabswarm server, N headless Chromium
 * contexts with the built app over real WebRTC), as a child process with its `--json` output:
 * the demo is used as it is, not re-implemented. Its stdout is a pipe, so it prints one
 * progress line a second (progress-lines.ts) and ends with one JSON object (swarm/report.ts's
 * SwarmReport), which is read back here.
 *
 * What the demo measures (swarm/run.ts, swarm/peers.ts): each peer's `seconds` run from the
 * moment its page is told to open the link (all pages at once) to its download's `complete`
 * (whole-file SHA-256 included, as the page's probe timestamps it); `totals.cdnBytes` is the
 * body bytes the CDN origin served for the content (its log); `--cdn-rate` caps each CDN
 * response (one connection) on its own, not the origin's total.
 */
import { spawn } from 'node:child_process';
import { ROOT } from '../util.js';
import { CrossCheckError } from './errors.js';
import { progressPoints, type ProgressPoint } from './progress-lines.js';
import type { SwarmTotals } from './swarm-totals.js';

export interface RealSwarmOptions {
  peers: number;
  /** Bytes. */
  size: number;
  /** The CDN's cap per connection, bytes per second. */
  cdnRate: number;
  httpDelayMs: number;
  timeoutSec: number;
}

/** The part of the demo's SwarmReport the cross-check reads. */
interface DemoReport {
  ok: boolean;
  problems: string[];
  peers: Array<{ seconds: number | null; bytesFromPeers: number; bytesFromCdn: number; peerLog?: Array<{ ms: number; event: string }> }>;
  totals: { fileBytes: number; cdnBytes: number; bytesFromPeers: number; bytesFromCdn: number; seconds: number };
}

export interface RealSwarmRun extends SwarmTotals {
  points: ProgressPoint[];
  /** Per tab, its first peer link's opening, ms after its download began (the page's 'peer' events); NaN if it never linked. */
  firstLinkMs: number[];
  /** The demo's whole stdout, for the record. */
  stdout: string;
}

/** The demo's command line (run from the repository's root with Node's tsx loader). */
export function demoArgs(o: RealSwarmOptions): string[] {
  return ['--import', 'tsx', 'swarm/run.ts', '--peers', String(o.peers), '--size', String(o.size), '--cdn-rate', String(o.cdnRate), '--http-delay-ms', String(o.httpDelayMs), '--timeout', String(o.timeoutSec), '--json'];
}

function isDemoReport(x: unknown): x is DemoReport {
  const r = x as DemoReport;
  return typeof r === 'object' && r !== null && typeof r.ok === 'boolean' && Array.isArray(r.peers) && typeof r.totals?.cdnBytes === 'number';
}

export async function runRealSwarm(o: RealSwarmOptions, onLine?: (line: string) => void): Promise<RealSwarmRun> {
  const child = spawn(process.execPath, demoArgs(o), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (!line.startsWith('{')) onLine?.(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  let report: unknown;
  try {
    report = JSON.parse(last);
  } catch {
    throw new CrossCheckError(code === 0 ? 'demo-output' : 'demo-failed', `the swarm demo exited with ${code} and no JSON line; its stderr: ${stderr.trim().slice(-800) || '(empty)'}`);
  }
  if (!isDemoReport(report)) throw new CrossCheckError('demo-output', 'the swarm demo\'s JSON line is not a report (swarm/report.ts changed?)');
  if (code !== 0 || !report.ok) throw new CrossCheckError('demo-failed', `the swarm demo did not finish cleanly (exit ${code}): ${report.problems.join('; ') || stderr.trim().slice(-400)}`);
  const peerSeconds = report.peers.map((p) => p.seconds ?? NaN);
  const points = progressPoints(stdout);
  if (points.length < 3) throw new CrossCheckError('demo-output', `only ${points.length} progress lines in the demo's output (swarm/live-view.ts's line format changed?)`);
  return {
    peerSeconds,
    meanCompletionS: peerSeconds.reduce((a, b) => a + b, 0) / peerSeconds.length,
    lastCompletionS: report.totals.seconds,
    cdnBytes: report.totals.cdnBytes,
    bytesFromPeers: report.totals.bytesFromPeers,
    bytesFromCdn: report.totals.bytesFromCdn,
    points,
    firstLinkMs: report.peers.map((p) => p.peerLog?.find((e) => e.event === 'connected')?.ms ?? NaN),
    stdout,
  };
}
