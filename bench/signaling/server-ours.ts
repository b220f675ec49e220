/**
 * Child process of the signaling load benchmark: tabswarm's real server (`createServer` of
 * signaling/server.ts: HTTP API, CDN origin and the Arrays service on /arrays), alone in its
 * process so that its memory and CPU can be read from /proc.
 *
 * argv[2]: the content directory (published by the runner); argv[3]: the Arrays transport,
 * `uws` (its own port, `arraysPort`: the set-up for many peers) or `ws` (on the HTTP port, the
 * default of `npm start`). Configuration: the `TABSWARM_*`
 * variables as `npm run serve` reads them (signaling/config.ts), then the benchmark's own
 * settings: 127.0.0.1 port 0, no demo file, log level `error`, and every per-socket or
 * per-address limit of the current config raised (all the load comes from 127.0.0.1, and
 * each simulated peer announces as fast as it is answered). What was changed is reported to
 * the runner, which prints it.
 */
import { DEFAULT_SERVER_CONFIG, resolveConfig, type ServerConfig } from '../../signaling/config.js';
import { configFromEnv } from '../../signaling/config-env.js';
import { createServer } from '../../signaling/server.js';
import { exitWithParent, toParent, type ServerCommand } from './common.js';

const contentDir = process.argv[2];
const transport = process.argv[3];
if (!contentDir || (transport !== 'uws' && transport !== 'ws')) throw new Error('usage: server-ours.ts <contentDir> uws|ws');

/**
 * Config keys that cap what one socket or one address may do (announces per second per
 * socket, sockets per address, bursts). Found by name, so the benchmark keeps lifting them as
 * they are added or renamed; the CDN's byte rate and the reply size are not limits of this kind.
 */
const LIMIT_KEY = /(per_?socket|per_?address|per_?ip|per_?conn|per_?sec|per_?minute|burst|rate_?limit|announce_?rate|socket_?rate)/i;
const NOT_LIMITS = new Set(['cdnRateBytesPerSec', 'maxPeersPerReply', 'announceIntervalMs', 'peerExpiryMs']);
/** Tried in turn until the config accepts it: far above what the benchmark sends. */
const RAISED_VALUES = [1_000_000_000, 1_000_000, 100_000];

function benchOverrides(): Record<string, unknown> {
  const base: Record<string, unknown> = { port: 0, host: '127.0.0.1', contentDir, demoSize: 0, logLevel: 'error', ...(transport === 'uws' ? { arraysPort: 0 } : {}) };
  const limitKeys = Object.entries(DEFAULT_SERVER_CONFIG as unknown as Record<string, unknown>)
    .filter(([key, value]) => typeof value === 'number' && LIMIT_KEY.test(key) && !NOT_LIMITS.has(key))
    .map(([key]) => key);
  const env = configFromEnv() as Record<string, unknown>;
  for (const value of RAISED_VALUES) {
    const raised = Object.fromEntries(limitKeys.filter((k) => env[k] === undefined).map((k) => [k, value]));
    const overrides = { ...base, ...raised };
    try {
      resolveConfig({ ...env, ...overrides } as Partial<ServerConfig>);
      return overrides;
    } catch {
      // too large for this key's check: try the next value
    }
  }
  throw new Error(`cannot raise the limits ${limitKeys.join(', ')}: the config refuses every value tried`);
}

const overrides = benchOverrides();
const server = await createServer({ ...configFromEnv(), ...overrides } as Partial<ServerConfig>);
const effective = server.config as unknown as Record<string, unknown>;
const shown: Record<string, unknown> = {};
for (const key of Object.keys(effective)) {
  const fromEnv = (configFromEnv() as Record<string, unknown>)[key] !== undefined;
  if (key in overrides || fromEnv || (LIMIT_KEY.test(key) && !NOT_LIMITS.has(key))) shown[key] = effective[key];
}
delete shown.contentDir;

process.on('message', (msg: ServerCommand) => {
  if (msg.cmd === 'gc') {
    globalThis.gc?.();
    toParent({ ev: 'gc-done' });
  }
});
exitWithParent();
toParent({ ev: 'ready', port: server.port, url: server.arraysUrl, overrides: shown });
