/**
 * The command line of `npm run sim` (node:util parseArgs), checked into SimArgs with messages
 * that say what was wrong and what would do.
 */
import { parseArgs } from 'node:util';
import { parseWhole, UnitError } from '../swarm/units.js';
import { SCENARIOS, type ScenarioName } from './scenarios.js';

export interface SimArgs {
  peers: number;
  scenario: ScenarioName;
  fileMiB: number;
  /** The CDN's rate, bytes per second. */
  cdnBps: number;
  seed: number;
  json: boolean;
  /** Write the recording for the replay view here. */
  record: string | undefined;
  help: boolean;
}

export const USAGE = `usage: npm run sim -- [options]

Simulates a swarm with the real core (Download, scheduler, peer sessions, wire codec, CDN
source) and the server's real swarm registry, over simulated links on simulated time, and
compares each peer's completion with the fluid bound T_min.

  --peers N          peers, 1-20000                                  (default 1000)
  --scenario NAME    ${SCENARIOS.join(', ')}  (default flash)
  --file-mib N       the file, MiB (1 MiB pieces), 1-4096             (default 256)
  --cdn-mbit N       the CDN's rate, Mbit/s                          (default 400)
  --seed N           the run's seed: same seed, same run             (default 1)
  --record FILE      write the recording the app's replay view plays (/replay.html)
  --json             end with one JSON line: the figures and each peer
  -h, --help         this text`;

export class SimArgsError extends Error {
  readonly kind = 'sim-args';
}

export function parseSimArgs(argv: string[]): SimArgs {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        peers: { type: 'string', default: '1000' },
        scenario: { type: 'string', default: 'flash' },
        'file-mib': { type: 'string', default: '256' },
        'cdn-mbit': { type: 'string', default: '400' },
        seed: { type: 'string', default: '1' },
        record: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    throw new SimArgsError((e as Error).message);
  }
  const scenario = v.scenario as ScenarioName;
  if (!SCENARIOS.includes(scenario)) throw new SimArgsError(`--scenario: "${v.scenario}" is not one of ${SCENARIOS.join(', ')}`);
  try {
    return {
      peers: parseWhole(v.peers, 'peers', 1, 20_000),
      scenario,
      fileMiB: parseWhole(v['file-mib'], 'file-mib', 1, 4096),
      cdnBps: (parseWhole(v['cdn-mbit'], 'cdn-mbit', 1, 1_000_000) * 1_000_000) / 8,
      seed: parseWhole(v.seed, 'seed', 0, 2 ** 31 - 1),
      json: v.json,
      record: v.record,
      help: v.help,
    };
  } catch (e) {
    if (e instanceof UnitError) throw new SimArgsError(e.message);
    throw e;
  }
}
