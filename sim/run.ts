/**
 * `npm run sim`: one simulation from the command line (args.ts), a progress bar while it runs
 * (cli-progress, on a terminal; nothing otherwise), then the figures (figures.ts); `--json`
 * ends with them as one JSON line, with each peer's outcome; `--record` writes the replay.
 * Exit code 1 when a peer that should have completed did not, stored a wrong piece, or banned
 * an honest peer; 2 for bad arguments.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { parseSimArgs, SimArgsError, USAGE } from './args.js';
import { figuresOf } from './figures.js';
import { simulate } from './simulate.js';

async function main(): Promise<number> {
  let args;
  try {
    args = parseSimArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof SimArgsError)) throw e;
    console.error(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: ' {bar} {value}/{total} peers complete | simulated {simS} s | wall {wallS} s', stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  const wall0 = Date.now();
  bar?.start(args.peers, 0, { simS: 0, wallS: 0 });
  const result = await simulate({
    peers: args.peers,
    scenario: args.scenario,
    fileMiB: args.fileMiB,
    cdnBps: args.cdnBps,
    seed: args.seed,
    record: args.record !== undefined,
    onProgress: (p) => {
      bar?.setTotal(p.of);
      bar?.update(p.completed, { simS: p.simS.toFixed(0), wallS: ((Date.now() - wall0) / 1000).toFixed(0) });
    },
  });
  bar?.stop();
  const f = figuresOf(result);
  if (args.record !== undefined && result.recording) await writeFile(args.record, JSON.stringify(result.recording));
  console.log(`${result.scenario}: ${result.description}; ${args.fileMiB} MiB; CDN ${(result.cdnBps / 125_000).toFixed(0)} Mbit/s; seed ${result.seed}`);
  console.log(
    `bound T_min ${f.bound_s} s; completion/bound mean ${f.sim_completion_vs_bound_mean}, p95 ${f.sim_completion_vs_bound_p95}; ` +
      `CDN ${f.sim_cdn_bytes_per_file} files; peer share ${f.sim_peer_share}; completed ${f.completed}/${f.expected}; ` +
      `wrong pieces ${f.wrong_pieces}; honest banned ${f.honest_banned}; hostile banned ${f.hostile_banned}; ` +
      `${f.sim_s} s simulated in ${f.wall_s} s (${f.sim_wall_s_per_1k_peers} s per 1k peers, ${f.events} events)` +
      (result.ended === 'time' ? '; stopped at the time limit' : ''),
  );
  if (args.record !== undefined) console.log(`recording: ${args.record} (open it in the app's /replay.html)`);
  if (args.json) console.log(JSON.stringify({ figures: f, scenario: result.scenario, peers: result.peers, seed: result.seed, outcomes: result.outcomes }));
  return f.completed === f.expected && f.wrong_pieces === 0 && f.honest_banned === 0 ? 0 : 1;
}

/**
 * The young generation for a run of `peers` (MiB per semi-space): what a swarm has in flight
 * (messages, requests, timers) lives for a time that grows with the swarm, counted in events,
 * and in V8's default 16 MiB most of it outlived the scavenge that found it, to be copied and
 * promoted, so each scavenge cost more the bigger the swarm (2,000 peers x 64 MiB: 2,100
 * scavenges, 7.6 s; with 128 MiB, 280 and 2.6 s). Power of two, 32 to 512.
 */
function semiSpaceMiB(peers: number): number {
  return Math.min(512, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(1, peers) / 16))));
}

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/** Runs this script again with the young generation sized for the run, unless it already is (or the arguments are bad: main says so). */
function reexecSized(): number | undefined {
  if (process.execArgv.some((a) => a.startsWith(SEMI_SPACE_FLAG)) || process.env.TABSWARM_SIM_NO_REEXEC) return undefined;
  let peers: number;
  try {
    peers = parseSimArgs(process.argv.slice(2)).peers;
  } catch {
    return undefined;
  }
  const flag = `${SEMI_SPACE_FLAG}=${semiSpaceMiB(peers)}`;
  const r = spawnSync(process.execPath, [...process.execArgv, flag, ...process.argv.slice(1)], { stdio: 'inherit' });
  if (r.error) return undefined;
  return r.status ?? 1;
}

process.exitCode = reexecSized() ?? (await main());
