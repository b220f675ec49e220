/**
 * `tabswarm cache --server <url> [--flags]`: runs a cache node (src/node/cache-node.ts) until
 * SIGINT or SIGTERM. Every flag has a variable (TABSWARM_CACHE_*; a flag wins) and a default,
 * listed by `--help` from the one table below. Exit codes: 0 after a clean stop, 1 when it
 * cannot start (the reason on stderr), 2 for a wrong command line.
 */
import { parseArgs } from 'node:util';
import { CACHE_KEY_RE, GROUP_ID_RE, type WatchScope } from '../../protocol/arrays-messages.js';
import { SHA256_HEX } from '../../protocol/hex.js';
import { startCacheNode, type CacheContents } from '../cache-node.js';
import { serveCacheReport } from '../cache-metrics.js';
import { parseBytes, parseCount } from './units.js';

interface Setting {
  flag: string;
  env: string;
  value: string;
  default: string;
  help: string;
  multiple?: boolean;
  kind?: 'switch';
}

/** Every setting of `tabswarm cache`: its flag, variable, default and meaning. */
export const CACHE_SETTINGS: readonly Setting[] = [
  { flag: 'server', env: 'TABSWARM_SERVER', value: 'url', default: '(required)', help: 'the tabswarm server whose swarms the node serves' },
  { flag: 'dir', env: 'TABSWARM_CACHE_DIR', value: 'dir', default: './tabswarm-cache', help: 'the store: one file and records per content; kept across restarts' },
  { flag: 'key', env: 'TABSWARM_CACHE_NODE_KEY', value: 'key', default: '(none)', help: 'a key of the server\'s TABSWARM_CACHE_NODE_KEYS: listed as a cache node and told of wanted contents; without it the node only pre-fills' },
  { flag: 'scope', env: 'TABSWARM_CACHE_SCOPES', value: 'lan|internet|group:<id>', default: 'lan', help: 'scopes watched for wanted contents (repeat, or comma-separated)', multiple: true },
  { flag: 'contents', env: 'TABSWARM_CACHE_CONTENTS', value: 'all|listed', default: 'all', help: 'serve every content the server publishes, or only --content ones' },
  { flag: 'content', env: 'TABSWARM_CACHE_CONTENT_IDS', value: 'id', default: '(none)', help: 'a content ID it may serve (repeat, or comma-separated)', multiple: true },
  { flag: 'prefill', env: 'TABSWARM_CACHE_PREFILL', value: '', default: 'off', help: 'fill the --content contents at start, before any tab asks', kind: 'switch' },
  { flag: 'max-disk', env: 'TABSWARM_CACHE_MAX_DISK', value: 'size', default: '0 (a share of the disk: --max-disk-share)', help: 'most bytes the store keeps; least used contents go first' },
  { flag: 'max-disk-share', env: 'TABSWARM_CACHE_MAX_DISK_SHARE', value: '0-1', default: '0.5', help: 'share of the free disk the store may use when --max-disk is 0' },
  { flag: 'max-age', env: 'TABSWARM_CACHE_MAX_AGE_DAYS', value: 'days', default: '30', help: 'contents unused this long are evicted' },
  { flag: 'max-upload', env: 'TABSWARM_CACHE_MAX_UPLOAD', value: 'bytes/s', default: '0 (no limit)', help: 'upload rate over all peers' },
  { flag: 'max-connections', env: 'TABSWARM_CACHE_MAX_CONNECTIONS', value: 'n', default: '64', help: 'peer links per content' },
  { flag: 'max-contents', env: 'TABSWARM_CACHE_MAX_CONTENTS', value: 'n', default: '64', help: 'contents offered to peers at once' },
  { flag: 'max-fills', env: 'TABSWARM_CACHE_MAX_FILLS', value: 'n', default: '4', help: 'contents filling at once' },
  { flag: 'bind', env: 'TABSWARM_CACHE_BIND', value: 'address', default: '(every address)', help: 'the one address offered to peers and used for the server' },
  { flag: 'listen', env: 'TABSWARM_CACHE_LISTEN', value: 'host:port', default: '(none)', help: "an Arrays service of the node's own, for the server's TABSWARM_CACHE_NODES to name (ws://host:port/arrays)" },
  { flag: 'metrics', env: 'TABSWARM_CACHE_METRICS', value: 'host:port', default: '127.0.0.1:9464', help: 'where GET /metrics and /status answer ("off": nowhere)' },
];

const USAGE = `usage: tabswarm cache --server <url> [--flags]

${CACHE_SETTINGS.map((s) => `  --${s.flag}${s.value ? ` <${s.value}>` : ''}\n      ${s.help}\n      ${s.env}; default ${s.default}`).join('\n')}`;

/** A wrong command line (exit 2). */
export class UsageError extends Error {}

/** Runs `tabswarm cache` with `args`; resolves to the exit code once the node stops (or 1/2 if it cannot start). */
export async function runCache(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let settings;
  try {
    settings = readSettings(args, env);
  } catch (e) {
    process.stderr.write(`tabswarm cache: ${(e as Error).message}\n${e instanceof UsageError ? `${USAGE}\n` : ''}`);
    return 2;
  }
  if (settings === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let node;
  let report;
  try {
    node = await startCacheNode({ ...settings.node, log: (m, ...a) => process.stderr.write(`${format(m, a)}\n`) });
    if (settings.metrics) report = await serveCacheReport(node, settings.metrics.host, settings.metrics.port);
  } catch (e) {
    await node?.close().catch(() => undefined);
    process.stderr.write(`tabswarm cache: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const parts = [`tabswarm cache node ${node.client.peerId} serving ${settings.node.serverUrl} from ${settings.node.directory}`];
  if (node.arraysUrl) parts.push(`its Arrays service at ${node.arraysUrl}`);
  if (report) parts.push(`report at ${report.url}/metrics`);
  process.stdout.write(`${parts.join('; ')}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await report?.close();
  await node.close();
  return 0;
}

function format(message: string, args: unknown[]): string {
  let i = 0;
  return message.replace(/%[sdoO]/g, () => String(args[i++]));
}

/** `host:port` or `[v6]:port`. */
function hostPort(text: string, what: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`${what} must be host:port${what === '--metrics' ? ' or off' : ''}, got "${text}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** The command line and variables read into the node's options; throws UsageError (or a unit's Error) for a wrong one. */
export function readSettings(args: string[], env: NodeJS.ProcessEnv) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const s of CACHE_SETTINGS) options[s.flag] = { type: s.kind === 'switch' ? 'boolean' : 'string', ...(s.multiple ? { multiple: true } : {}) };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    const parsed = parseArgs({ args, options, allowPositionals: false, strict: true });
    values = parsed.values as typeof values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help' as const;
  const get = (flag: string): string | undefined => {
    const s = CACHE_SETTINGS.find((x) => x.flag === flag)!;
    const v = values[flag];
    if (Array.isArray(v)) return v.join(',');
    if (typeof v === 'boolean') return v ? 'true' : undefined;
    return v ?? (env[s.env] !== undefined && env[s.env] !== '' ? env[s.env] : undefined);
  };
  const list = (flag: string) => (get(flag) ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');

  const server = get('server');
  if (server === undefined) throw new UsageError('--server (or TABSWARM_SERVER) is required');
  let serverUrl: string;
  try {
    const u = new URL(server);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    serverUrl = u.origin;
  } catch {
    throw new UsageError(`--server must be an http(s) URL, got "${server}"`);
  }
  const key = get('key');
  if (key !== undefined && !CACHE_KEY_RE.test(key)) throw new UsageError('--key must be 16 to 128 of A-Z a-z 0-9 _ -');
  const scopes: WatchScope[] = list('scope').map((s) => {
    if (s === 'lan' || s === 'internet') return { mode: s };
    const group = /^group:(.+)$/.exec(s)?.[1];
    if (group !== undefined && GROUP_ID_RE.test(group)) return { mode: 'group', group };
    throw new UsageError(`--scope must be lan, internet or group:<id>, got "${s}"`);
  });
  const contents = get('contents') ?? 'all';
  if (contents !== 'all' && contents !== 'listed') throw new UsageError(`--contents must be all or listed, got "${contents}"`);
  const listed = list('content').map((id) => id.toLowerCase());
  for (const id of listed) if (!SHA256_HEX.test(id)) throw new UsageError(`--content must be a content ID (64 hex), got "${id}"`);
  const share = Number(get('max-disk-share') ?? '0.5');
  if (!(share > 0 && share <= 1)) throw new UsageError('--max-disk-share must be in (0, 1]');
  const ageDays = Number(get('max-age') ?? '30');
  if (!(ageDays > 0)) throw new UsageError('--max-age must be a positive number of days');
  const metricsText = get('metrics') ?? '127.0.0.1:9464';
  const metrics = metricsText === 'off' ? undefined : hostPort(metricsText, '--metrics');
  const listenText = get('listen');
  const listen = listenText === undefined ? undefined : hostPort(listenText, '--listen');
  const bind = get('bind');
  return {
    metrics,
    node: {
      serverUrl,
      directory: get('dir') ?? './tabswarm-cache',
      ...(key !== undefined ? { cacheKey: key } : {}),
      ...(scopes.length > 0 ? { scopes } : {}),
      contents: contents as CacheContents,
      listed,
      prefill: get('prefill') === 'true',
      maxFills: parseCount(get('max-fills') ?? '4', '--max-fills'),
      ...(bind !== undefined ? { bindAddress: bind } : {}),
      ...(listen !== undefined ? { listen } : {}),
      config: {
        maxCacheBytes: parseBytes(get('max-disk') ?? '0', '--max-disk'),
        maxCacheShareOfQuota: share,
        maxCacheAgeMs: ageDays * 24 * 3600 * 1000,
        maxUploadBytesPerSec: parseBytes(get('max-upload') ?? '0', '--max-upload'),
        maxPeers: parseCount(get('max-connections') ?? '64', '--max-connections'),
        maxSeededContents: parseCount(get('max-contents') ?? '64', '--max-contents'),
        // An always-on server on mains power and a wired network: DO's battery and metering rules do not apply.
        noUploadsOnBattery: false,
        noUploadsOnMetered: false,
      },
    },
  };
}
