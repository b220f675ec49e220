/**
 * The abuse suite: `npm run bench:abuse [-- --tiny] [-- --json] [-- --only a,b]`.
 *
 * Each attack of bench/abuse/attacks.ts runs against a fresh server (the real run command,
 * signaling/main.ts, in a child process, default limits, a 8 MiB demo file, a metrics token
 * set) on 127.0.0.1. While it runs, a legitimate client asks `/api/health` every 100 ms from an
 * address of its own (bench/abuse/prober.ts, a third process, so the attackers' own work cannot
 * delay it), and does the attack's legitimate request once 1.5 s into the attack and once after
 * it (bench/abuse/legit.ts, each in a process of its own for the same reason: the
 * ban flood's 640,000 frames are sent in one loop of the runner, which holds its event loop
 * for seconds). An attack is **held** when:
 *   - both legitimate requests got what they asked,
 *   - the health probes' p99 stayed under 250 ms (a probe that failed counts as 5 s),
 *   - the server's RSS grew by less than 256 MiB over its RSS before the attack,
 *   - the content directory grew by no more than the share quota (`shareMaxTotalBytes`, 1 GiB),
 *   - and, for the attacks that name it, the server refused what it must (every anonymous
 *     scrape, guesses past the burst, bans past the rate, held sockets past their timeout).
 * The tiny run (CI) sets the header and send timeouts to 3 s so that it ends in about a minute;
 * the full run keeps every default.
 * Per attack it prints: requests sent and refused, health p50/p99, RSS before/peak/after, disk
 * growth. With --json the last stdout line is one JSON object with `attacks`, `attacks_held`,
 * `legit_p99_ms_worst`, `rss_growth_mib_worst` and the per-attack figures. The exit code is 1
 * if an attack was not held. Everything targets 127.0.0.0/8; the server is killed on exit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { attacks } from './attacks.js';
import { LEGIT_ADDRESS } from './client.js';
import { startServerUnderTest, type ServerUnderTest } from './server.js';

const HEALTH_P99_MS = 250;
const RSS_GROWTH_MIB = 256;
const DISK_GROWTH_BYTES = 1024 * 1024 * 1024;
const FAILED_PROBE_MS = 5000;

const { values } = parseArgs({ options: { tiny: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, only: { type: 'string' } } });
const log = (s: string) => process.stderr.write(`${s}\n`);

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/**
 * Health probes every 100 ms (bench/abuse/prober.ts, a process of its own) and RSS samples
 * every 200 ms, until `stop()`.
 */
function watch(server: ServerUnderTest): { stop(): Promise<{ probes: number[]; failures: number; failureReasons: string[]; rssPeak: number }> } {
  const probes: number[] = [];
  const failureReasons: string[] = [];
  const started = performance.now();
  let failures = 0;
  let rssPeak = server.rssMiB() ?? 0;
  const prober = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./prober.ts', import.meta.url)), server.url, LEGIT_ADDRESS, String(FAILED_PROBE_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  prober.stdout!.on('data', (b: Buffer) => {
    buffered += b.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('fail')) {
        failures++;
        probes.push(FAILED_PROBE_MS);
        failureReasons.push(`${line.slice(5)} at +${((performance.now() - started) / 1000).toFixed(1)} s`);
      } else if (line !== '') probes.push(Number(line));
    }
  });
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, server.rssMiB() ?? 0);
  }, 200);
  return {
    async stop() {
      clearInterval(sampler);
      await new Promise<void>((resolve) => {
        prober.once('exit', () => resolve());
        prober.kill('SIGTERM');
      });
      return { probes, failures, failureReasons, rssPeak };
    },
  };
}

/**
 * The attack's legitimate request in a process of its own (bench/abuse/legit.ts), started and
 * ready before the attack; `go()` makes the request and resolves with whether it got what it
 * asked and how long it took.
 */
async function legitClient(attack: string, url: string): Promise<{ go(): Promise<{ ok: boolean; ms: number }> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./legit.ts', import.meta.url)), attack, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  let buffered = '';
  child.stdout!.on('data', (b: Buffer) => {
    buffered += b.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    waiter?.();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => (waiter?.(), resolve())));
  const nextLine = async (): Promise<string | undefined> => {
    while (lines.length === 0 && child.exitCode === null && child.signalCode === null) await new Promise<void>((r) => (waiter = r));
    return lines.shift();
  };
  if ((await nextLine()) !== 'ready') throw new Error(`the legitimate client for ${attack} did not start`);
  return {
    async go() {
      const t0 = performance.now();
      child.stdin!.write('go\n');
      const line = (await nextLine()) ?? 'fail';
      await exited;
      const [verdict, ms] = line.split(' ');
      return { ok: verdict === 'ok', ms: Number(ms ?? performance.now() - t0) };
    },
  };
}

async function main(): Promise<void> {
  const only = values.only?.split(',').map((s) => s.trim());
  const list = attacks().filter((a) => !only || only.includes(a.name));
  const results: Record<string, Record<string, number | string | boolean>> = {};
  let held = 0;
  let p99Worst = 0;
  let rssWorst = 0;
  const servers: ServerUnderTest[] = [];
  const cleanup = () => {
    for (const s of servers) void s.stop();
  };
  process.on('SIGINT', () => (cleanup(), process.exit(130)));
  for (const attack of list) {
    const dir = mkdtempSync(join(os.tmpdir(), 'tabswarm-abuse-'));
    const server = await startServerUnderTest(join(dir, 'content'), {
      TABSWARM_DEMO_SIZE: String(8 * 1024 * 1024),
      TABSWARM_METRICS_TOKEN: randomBytes(16).toString('hex'),
      ...(values.tiny ? { TABSWARM_HTTP_HEADERS_TIMEOUT_MS: '3000', TABSWARM_HTTP_SEND_TIMEOUT_MS: '3000' } : {}),
    });
    servers.push(server);
    try {
      // Let the start settle (demo written, first GCs) before the baseline.
      await new Promise((r) => setTimeout(r, 1000));
      const rssBefore = server.rssMiB() ?? 0;
      const diskBefore = await server.diskBytes();
      log(`abuse: ${attack.name}: ${attack.what}`);
      const [duringClient, afterClient] = await Promise.all([legitClient(attack.name, server.url), legitClient(attack.name, server.url)]);
      const w = watch(server);
      const t0 = performance.now();
      const during = (async () => {
        await new Promise((r) => setTimeout(r, 1500));
        return duringClient.go();
      })();
      const outcome = await attack.run(server, values.tiny);
      const legitDuringResult = await during;
      const legitAfterResult = await afterClient.go();
      const legitDuring = legitDuringResult.ok;
      const legitAfter = legitAfterResult.ok;
      const { probes, failures, failureReasons, rssPeak } = await w.stop();
      const seconds = (performance.now() - t0) / 1000;
      const rssAfter = server.rssMiB() ?? 0;
      const diskGrowth = (await server.diskBytes()) - diskBefore;
      const p50 = percentile(probes, 50);
      const p99 = percentile(probes, 99);
      const growth = rssPeak - rssBefore;
      const refusedEnough = attack.refusedEnough?.(outcome) ?? true;
      const ok = legitDuring && legitAfter && p99 < HEALTH_P99_MS && growth < RSS_GROWTH_MIB && diskGrowth <= DISK_GROWTH_BYTES && refusedEnough;
      if (ok) held++;
      p99Worst = Math.max(p99Worst, p99);
      rssWorst = Math.max(rssWorst, growth);
      results[attack.name] = {
        sent: outcome.sent,
        refused: outcome.refused,
        legit_during: legitDuring,
        legit_after: legitAfter,
        legit_during_ms: Math.round(legitDuringResult.ms),
        legit_after_ms: Math.round(legitAfterResult.ms),
        health_probes: probes.length,
        health_failures: failures,
        ...(failureReasons.length > 0 ? { health_failure_reasons: failureReasons.slice(0, 5).join('; ') } : {}),
        legit_p50_ms: Math.round(p50 * 10) / 10,
        legit_p99_ms: Math.round(p99 * 10) / 10,
        rss_before_mib: Math.round(rssBefore),
        rss_peak_mib: Math.round(rssPeak),
        rss_after_mib: Math.round(rssAfter),
        disk_growth_bytes: diskGrowth,
        seconds: Math.round(seconds * 10) / 10,
        refused_enough: refusedEnough,
        held: ok,
        ...(outcome.note ? { note: outcome.note } : {}),
      };
      log(
        `abuse: ${attack.name}: ${ok ? 'HELD' : 'NOT HELD'}${refusedEnough ? '' : ' (did not refuse what it must)'}; sent ${outcome.sent}, refused ${outcome.refused}; legit ${legitDuring ? 'ok' : 'FAILED'} during (${legitDuringResult.ms.toFixed(0)} ms), ${legitAfter ? 'ok' : 'FAILED'} after (${legitAfterResult.ms.toFixed(0)} ms); health p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (${failures} failed of ${probes.length}${failures > 0 ? `: ${failureReasons.slice(0, 3).join('; ')}` : ''}); RSS ${rssBefore.toFixed(0)} -> peak ${rssPeak.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB; disk +${(diskGrowth / 1024 / 1024).toFixed(1)} MiB; ${seconds.toFixed(1)} s${outcome.note ? `; ${outcome.note}` : ''}`,
      );
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const summary = {
    attacks: list.length,
    attacks_held: held,
    legit_p99_ms_worst: Math.round(p99Worst * 10) / 10,
    rss_growth_mib_worst: Math.round(rssWorst),
    tiny: values.tiny,
    per_attack: results,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, loadavg: os.loadavg(), node: process.version },
  };
  process.stdout.write(`\nattack                 held   sent   refused  p99 ms  RSS +MiB\n`);
  for (const [name, r] of Object.entries(results)) {
    process.stdout.write(`${name.padEnd(22)} ${String(r.held).padEnd(6)} ${String(r.sent).padStart(6)} ${String(r.refused).padStart(8)} ${String(r.legit_p99_ms).padStart(7)} ${String(Number(r.rss_peak_mib) - Number(r.rss_before_mib)).padStart(9)}\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = held === list.length ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`abuse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
