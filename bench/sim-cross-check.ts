/**
 * `npm run bench:sim-check -- [--runs 5] [--seeds 3] [--peers 8] [--size 64MiB] [--cdn-rate 8MB/s] [--http-delay-ms 4000] [--keep DIR] [--json]`
 *
 * Issue 18's cross-check: does the simulator (sim/simulate.ts, the real core on simulated
 * time) agree with real Chromium on a small swarm? Same swarm on both sides: N tabs open one
 * file at once, the CDN capped per connection, the page's HTTP delay.
 *
 * 1. Runs the real swarm demo (swarm/run.ts, as a child process, `--json`; real-swarm.ts)
 *    `--runs` times, one after another: the median of each run's mean completion time (page
 *    opening → complete, over the tabs) and of its CDN bytes (the origin's log).
 * 2. Measures each run's tab-to-tab rate from its own progress lines (link-calibration.ts: the
 *    middle 80% of the bytes the tabs got from each other, over the time they took, per tab);
 *    the median over the runs is every simulated peer's upload and download rate. It is
 *    measured, not fitted: nothing is adjusted after comparing. A run whose tabs got less than
 *    a quarter of their bytes from each other (their links came up late, and the CDN carried
 *    the file) shows no trading to measure: it stays in the Chromium medians, as what Chromium
 *    did, but gives no rate.
 * 3. Simulates the same swarm (sim-swarm.ts) with `--seeds` seeds, every peer joining at 0 as
 *    the demo opens every page at once: medians of the same two figures. A variant whose peers
 *    join after the pages' measured start-up (first verified bytes less the HTTP delay; the
 *    simulator has no page to load) is printed beside it, for the explanation, not the ratio.
 * 4. Prints both side by side with `sim_vs_chromium_completion` and
 *    `sim_vs_chromium_cdn_bytes` (simulator ÷ Chromium; issue 18 asks for 15%), and with
 *    `--json` one JSON object as the last line.
 *
 * Exit code 0 whatever the agreement (this is a measurement), 1 on an error (the demo failed,
 * its output could not be read), 2 for a bad command line. Needs the built app (`npm run
 * build`); the npm script runs it in a private network namespace (test/in-netns.mjs), where
 * the demo's child process runs too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { appIsBuilt } from '../swarm/content.js';
import { parseRate, parseSize, parseWhole, UnitError } from '../swarm/units.js';
import { calibrateLink, type LinkCalibration } from './sim-check/link-calibration.js';
import { CrossCheckError } from './sim-check/errors.js';
import { runRealSwarm, type RealSwarmRun } from './sim-check/real-swarm.js';
import { runSimSwarm, type SimSwarmRun } from './sim-check/sim-swarm.js';
import { fmt, table } from './table.js';
import { median, MiB, ROOT, round } from './util.js';

interface Options {
  runs: number;
  seeds: number;
  peers: number;
  size: number;
  cdnRate: number;
  httpDelayMs: number;
  timeoutSec: number;
  /** Write each demo run's whole stdout here (run-<n>.out), for the record. */
  keep: string | undefined;
  json: boolean;
}

/** A run whose tabs got less than this share of their bytes from each other has no trading to measure a rate from. */
const MIN_PEER_SHARE_TO_CALIBRATE = 0.25;

/** The agreement issue 18 asks for: within 15%. */
const TOLERANCE = 0.15;

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const note = (line: string): void => void process.stderr.write(`${line}\n`);

function parseOptions(argv: string[]): Options {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        runs: { type: 'string', default: '5' },
        seeds: { type: 'string', default: '3' },
        peers: { type: 'string', default: '8' },
        size: { type: 'string', default: '64MiB' },
        'cdn-rate': { type: 'string', default: '8MB/s' },
        'http-delay-ms': { type: 'string', default: '4000' },
        timeout: { type: 'string', default: '600' },
        keep: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    throw new CrossCheckError('args', e instanceof Error ? e.message : String(e));
  }
  try {
    const o: Options = {
      runs: parseWhole(v.runs, 'runs', 1, 20),
      seeds: parseWhole(v.seeds, 'seeds', 1, 50),
      peers: parseWhole(v.peers, 'peers', 2, 32),
      size: parseSize(v.size, '--size'),
      cdnRate: parseRate(v['cdn-rate'], '--cdn-rate'),
      httpDelayMs: parseWhole(v['http-delay-ms'], 'http-delay-ms', 0, 600_000),
      timeoutSec: parseWhole(v.timeout, 'timeout', 1, 86_400),
      keep: v.keep,
      json: v.json,
    };
    if (o.size % MiB !== 0) throw new CrossCheckError('args', '--size: the simulator takes whole MiB (1 MiB pieces)');
    if (o.cdnRate === 0) throw new CrossCheckError('args', '--cdn-rate: the cross-check needs a capped CDN (the simulator\'s CDN has a rate)');
    return o;
  } catch (e) {
    if (e instanceof UnitError) throw new CrossCheckError('args', e.message);
    throw e;
  }
}

/**
 * Source files of the core newer than the built app: the simulator imports src/ as it is now,
 * the tabs run dist/app as it was built, so a change in between makes them run different cores.
 */
function newerThanApp(): string[] {
  const built = statSync(join(ROOT, 'dist/app/index.html')).mtimeMs;
  const newer: string[] = [];
  for (const entry of readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    if (statSync(path).mtimeMs > built) newer.push(path.slice(ROOT.length));
  }
  return newer;
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

interface Side {
  meanCompletionS: number;
  lastCompletionS: number;
  cdnBytes: number;
  peerShare: number;
}

const peerShareOf = (r: RealSwarmRun | SimSwarmRun): number => r.bytesFromPeers / (r.bytesFromPeers + r.bytesFromCdn);

function mediansOf(runs: Array<RealSwarmRun | SimSwarmRun>): Side {
  return {
    meanCompletionS: median(runs.map((r) => r.meanCompletionS)),
    lastCompletionS: median(runs.map((r) => r.lastCompletionS)),
    cdnBytes: median(runs.map((r) => r.cdnBytes)),
    peerShare: median(runs.map(peerShareOf)),
  };
}

async function main(o: Options): Promise<void> {
  if (!appIsBuilt()) throw new CrossCheckError('args', 'the web app is not built (dist/app/index.html is missing): run `npm run build` first');
  const stale = newerThanApp();
  if (stale.length > 0) note(`WARNING: ${stale.length} file(s) of src/ changed after the app was built (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): the tabs run the built core, the simulator the current one; run \`npm run build\` first`);
  const fileMiB = o.size / MiB;
  const load0 = loadavg()[0]!;
  const started = Date.now();

  const real: RealSwarmRun[] = [];
  const calibrations: Array<LinkCalibration | undefined> = [];
  if (o.keep) mkdirSync(o.keep, { recursive: true });
  for (let i = 1; i <= o.runs; i++) {
    note(`chromium run ${i}/${o.runs}: ${o.peers} tabs, ${fileMiB} MiB, CDN ${fmt(o.cdnRate / 1e6)} MB/s per connection, httpDelayMs ${o.httpDelayMs}`);
    const run = await runRealSwarm({ peers: o.peers, size: o.size, cdnRate: o.cdnRate, httpDelayMs: o.httpDelayMs, timeoutSec: o.timeoutSec }, (line) => {
      if (line.startsWith('[')) note(`  ${line}`);
    });
    if (o.keep) writeFileSync(join(o.keep, `run-${i}.out`), run.stdout);
    const traded = peerShareOf(run) >= MIN_PEER_SHARE_TO_CALIBRATE;
    const cal = traded ? calibrateLink({ points: run.points, peers: o.peers, fileBytes: o.size, bytesFromPeers: run.bytesFromPeers, httpDelayMs: o.httpDelayMs }) : undefined;
    real.push(run);
    calibrations.push(cal);
    note(
      `  mean completion ${fmt(run.meanCompletionS)} s, CDN ${fmt(run.cdnBytes / MiB)} MiB, ${fmt(100 * peerShareOf(run))}% from peers, first link ${fmt(median(run.firstLinkMs.filter(Number.isFinite)) / 1000)} s after the download began (median); ` +
        (cal ? `tab to tab ${fmt(cal.perTabBps / 1e6)} MB/s per tab (${fmt(cal.windowS[0])}-${fmt(cal.windowS[1])} s), first bytes at ~${fmt(cal.firstBytesS)} s` : 'too little trading to measure a tab-to-tab rate'),
    );
  }
  const load1 = loadavg()[0]!;
  const measured = calibrations.filter((c): c is LinkCalibration => c !== undefined);
  if (measured.length === 0) throw new CrossCheckError('calibration', `in none of the ${o.runs} run(s) did the tabs get ${100 * MIN_PEER_SHARE_TO_CALIBRATE}% of their bytes from each other: no tab-to-tab rate to give the simulator`);
  const perTabBps = median(measured.map((c) => c.perTabBps));
  const startupS = median(measured.map((c) => c.startupS));

  const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
  const simAt = async (joinMs: number): Promise<SimSwarmRun[]> => {
    const runs: SimSwarmRun[] = [];
    for (const seed of seeds) runs.push(await runSimSwarm({ peers: o.peers, fileMiB, perTabBps, cdnRate: o.cdnRate, httpDelayMs: o.httpDelayMs, joinMs, seed }));
    return runs;
  };
  note(`simulating ${o.seeds} seed(s) at ${fmt(perTabBps / 1e6)} MB/s per tab, joining at 0, then at ${fmt(startupS)} s`);
  const sim = await simAt(0);
  const simStartup = await simAt(Math.round(startupS * 1000));

  const r = mediansOf(real);
  const s = mediansOf(sim);
  const su = mediansOf(simStartup);
  const completionRatio = s.meanCompletionS / r.meanCompletionS;
  const cdnRatio = s.cdnBytes / r.cdnBytes;
  const within = (x: number) => Math.abs(x - 1) <= TOLERANCE;

  say(`simulator against Chromium: ${o.peers} tabs, ${fileMiB} MiB, CDN ${fmt(o.cdnRate / 1e6)} MB/s per connection, httpDelayMs ${o.httpDelayMs}; commit ${commit()}`);
  say(`Chromium: ${o.runs} run(s) of the swarm demo, load average ${fmt(load0)} → ${fmt(load1)}; simulator: seeds ${seeds.join(', ')}`);
  say(`link: ${fmt(perTabBps / 1e6)} MB/s per tab up and down, the median tab-to-tab rate of the Chromium runs (${calibrations.map((c) => (c ? fmt(c.perTabBps / 1e6) : 'none')).join(', ')}); pages' start-up ~${fmt(startupS)} s`);
  say('');
  say(
    table([
      ['Chromium run', 'mean completion, s', 'last, s', 'CDN MiB', 'peer share', 'first link, s', 'tab to tab, MB/s per tab'],
      ...real.map((x, i) => [String(i + 1), fmt(x.meanCompletionS), fmt(x.lastCompletionS), fmt(x.cdnBytes / MiB), fmt(peerShareOf(x)), fmt(median(x.firstLinkMs.filter(Number.isFinite)) / 1000), calibrations[i] ? fmt(calibrations[i].perTabBps / 1e6) : '—']),
    ]),
  );
  say('');
  const row = (name: string, rv: number, sv: number, suv: number, digits = (x: number) => fmt(x)) => [name, digits(rv), digits(sv), fmt(sv / rv), digits(suv), fmt(suv / rv)];
  say(
    table([
      ['figure (medians)', 'Chromium', 'simulator', 'sim ÷ Chromium', 'sim + start-up', 'ratio'],
      row('mean completion, s', r.meanCompletionS, s.meanCompletionS, su.meanCompletionS),
      row('last completion, s', r.lastCompletionS, s.lastCompletionS, su.lastCompletionS),
      row('CDN bytes, MiB', r.cdnBytes / MiB, s.cdnBytes / MiB, su.cdnBytes / MiB),
      row('peer share', r.peerShare, s.peerShare, su.peerShare),
    ]),
  );
  say('');
  say(`sim_vs_chromium_completion ${fmt(completionRatio)} (${within(completionRatio) ? 'within' : 'NOT within'} 15%), sim_vs_chromium_cdn_bytes ${fmt(cdnRatio)} (${within(cdnRatio) ? 'within' : 'NOT within'} 15%)`);
  if (o.json) {
    const realRun = (x: RealSwarmRun, i: number) => ({
      mean_completion_s: round(x.meanCompletionS),
      last_completion_s: x.lastCompletionS,
      peer_seconds: x.peerSeconds,
      cdn_bytes: x.cdnBytes,
      bytes_from_peers: x.bytesFromPeers,
      bytes_from_cdn: x.bytesFromCdn,
      first_link_ms_median: median(x.firstLinkMs.filter(Number.isFinite)),
      ...(calibrations[i] ? { tab_to_tab_bps_per_tab: Math.round(calibrations[i].perTabBps), trading_window_s: calibrations[i].windowS.map((t) => round(t, 2)), first_bytes_s: round(calibrations[i].firstBytesS, 2) } : { tab_to_tab_bps_per_tab: null }),
    });
    const simRun = (x: SimSwarmRun) => ({ seed: x.seed, mean_completion_s: round(x.meanCompletionS), last_completion_s: round(x.lastCompletionS), cdn_bytes: x.cdnBytes, bytes_from_peers: x.bytesFromPeers, bytes_from_cdn: x.bytesFromCdn, ended: x.ended, wall_s: round(x.wallS, 2) });
    const side = (x: Side) => ({ mean_completion_s: round(x.meanCompletionS), last_completion_s: round(x.lastCompletionS), cdn_bytes: x.cdnBytes, peer_share: round(x.peerShare) });
    say(
      JSON.stringify({
        sim_vs_chromium_completion: round(completionRatio),
        sim_vs_chromium_cdn_bytes: round(cdnRatio),
        within_15pct: { completion: within(completionRatio), cdn_bytes: within(cdnRatio) },
        sim_with_startup_vs_chromium_completion: round(su.meanCompletionS / r.meanCompletionS),
        sim_with_startup_vs_chromium_cdn_bytes: round(su.cdnBytes / r.cdnBytes),
        options: { peers: o.peers, file_mib: fileMiB, cdn_rate_bps_per_connection: o.cdnRate, http_delay_ms: o.httpDelayMs, runs: o.runs, seeds },
        link: { per_tab_bps: Math.round(perTabBps), latency_ms: 1, from: 'median over the Chromium runs of the tab-to-tab rate: middle 80% of the bytes from peers / their time, per tab', startup_s: round(startupS, 2) },
        chromium: { ...side(r), runs: real.map(realRun) },
        sim: { ...side(s), runs: sim.map(simRun) },
        sim_with_startup: { ...side(su), join_s: round(startupS, 2), runs: simStartup.map(simRun) },
        app_older_than_src: stale,
        machine: { load_avg_start: round(load0, 2), load_avg_end: round(load1, 2), commit: commit(), seconds: round((Date.now() - started) / 1000, 1) },
      }),
    );
  }
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (e) {
  note(`sim-cross-check: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}
main(options).then(
  () => process.exit(0),
  (e: unknown) => {
    const kind = e instanceof CrossCheckError ? ` (${e.kind})` : '';
    note(`sim-cross-check${kind}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(e instanceof CrossCheckError && e.kind === 'args' ? 2 : 1);
  },
);
