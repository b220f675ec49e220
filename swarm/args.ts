/**
 * The command line of `npm run swarm` (node:util parseArgs), checked into SwarmOptions with
 * messages that say what was wrong and what would do.
 */
import { parseArgs } from 'node:util';
import { parseRate, parseSize, parseWhole, UnitError } from './units.js';

export interface SwarmOptions {
  /** Browser peers (one headless Chromium context each). */
  peers: number;
  /** The file's size in bytes. */
  size: number;
  /** The CDN origin's cap per connection, bytes per second; 0 for none. */
  cdnRate: number;
  /** Lying Node WebRTC peers (the core, serving corrupted pieces). */
  liars: number;
  /** The page's httpDelayMs: how long a peer looks for peers before it asks the CDN. */
  httpDelayMs: number;
  /** Give up after this many seconds (exit code 1). */
  timeoutSec: number;
  /** The deterministic file's seed. */
  seed: number;
  /** Print one JSON object as the last line. */
  json: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run swarm -- [options]

Starts a tabswarm server and N headless Chromium peers on this machine (real server, real web
app, real WebRTC), shows their progress live, and ends with a table per peer.

  --peers N          browser peers, 1-32                         (default 8)
  --size SIZE        the file's size, e.g. 256MiB, 64MB, 1GiB    (default 256MiB)
  --cdn-rate RATE    CDN cap per connection, e.g. 8MB/s          (default unlimited)
  --liars K          lying Node WebRTC peers, 0-8                (default 0)
  --http-delay-ms MS how long a peer looks for peers before the CDN (default 4000)
  --timeout SEC      give up after SEC seconds, exit code 1      (default 600)
  --seed N           the deterministic file's seed               (default 7)
  --json             end with one JSON line: per peer and totals
  -h, --help         this text`;

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export function parseSwarmArgs(argv: string[]): SwarmOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        peers: { type: 'string', default: '8' },
        size: { type: 'string', default: '256MiB' },
        'cdn-rate': { type: 'string', default: 'unlimited' },
        liars: { type: 'string', default: '0' },
        'http-delay-ms': { type: 'string', default: '4000' },
        timeout: { type: 'string', default: '600' },
        seed: { type: 'string', default: '7' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    // parseArgs's own messages name the option (unknown option, missing value).
    throw new ArgsError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  try {
    return {
      peers: parseWhole(v.peers, 'peers', 1, 32),
      size: parseSize(v.size, '--size'),
      cdnRate: parseRate(v['cdn-rate'], '--cdn-rate'),
      liars: parseWhole(v.liars, 'liars', 0, 8),
      httpDelayMs: parseWhole(v['http-delay-ms'], 'http-delay-ms', 0, 600_000),
      timeoutSec: parseWhole(v.timeout, 'timeout', 1, 86_400),
      seed: parseWhole(v.seed, 'seed', 0, 2 ** 31 - 1),
      json: v.json,
      help: v.help,
    };
  } catch (e) {
    if (e instanceof UnitError) throw new ArgsError(e.message);
    throw e;
  }
}
