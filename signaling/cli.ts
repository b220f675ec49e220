/**
 * The `tabswarm` command: `serve [content dir]`, `publish <file>`, `--help`, `--version`.
 * `serve` takes every `TABSWARM_*` setting as a flag as well (cli-settings.ts); a flag wins
 * over its variable, and both go through config-env.ts and config.ts's checks, so the two
 * cannot disagree. Logs are readable on a terminal and JSON lines otherwise, or as asked with
 * --log-format. Exit codes: 0, 1 (could not start or publish: the reason on stderr), 2 (a wrong
 * command line, with the usage).
 */
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runPublish } from './cli-publish.js';
import { runServe } from './cli-serve.js';
import { flagOf, SERVER_SETTINGS, type ServerSetting } from './cli-settings.js';
import { ConfigError, DEFAULT_SERVER_CONFIG, resolveConfig } from './config.js';
import { configFromEnv } from './config-env.js';
import { createLogger } from './logger.js';
import { packageRoot } from './package-root.js';
import { TlsError } from './tls.js';
import { UwsUnavailableError } from './uws-loader.js';

const USAGE = `usage: tabswarm <command>

  tabswarm serve [content dir] [--flags]   the server: the app, the API, the CDN origin, the Arrays service
  tabswarm publish <file> [--flags]        publish a file into the content dir (a running server shows it at once)
  tabswarm cache --server <url> [--flags]  a cache node: fills from the swarm and the CDN, serves every tab near it
  tabswarm get <link | content ID> [--flags]  download a file, every piece verified; resumable; --seed to keep seeding
  tabswarm <command> --help                every setting of a command, with its default
  tabswarm --version`;

/**
 * The commands that run a Node peer (src/node/cli), handed in by the entry (bin.ts): the
 * server's code does not import the peer's.
 */
export type PeerCommands = Partial<Record<'cache' | 'get', (args: string[], env: NodeJS.ProcessEnv) => Promise<number>>>;

/** Runs the command line `args` (without node and the script); resolves to the exit code (serve and cache: once they run). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = process.env, peers: PeerCommands = {}): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'cache':
    case 'get': {
      const run = peers[command];
      if (run) return run(rest, env);
      process.stderr.write(`tabswarm: "${command}" is not available in this entry\n`);
      return 2;
    }
    case 'serve':
      return serve(rest, env);
    case 'publish':
      return runPublish(rest);
    case '--version':
    case '-v':
      process.stdout.write(`tabswarm ${packageRoot().version}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`tabswarm: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const setting of SERVER_SETTINGS) options[flagOf(setting)] = { type: setting.kind === 'switch' ? 'boolean' : 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`tabswarm serve: ${(err as Error).message}\n(tabswarm serve --help lists the settings)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(serveHelp());
    return 0;
  }
  if (positionals.length > 1) {
    process.stderr.write(`tabswarm serve: one content dir at most, got ${positionals.length}\n`);
    return 2;
  }
  // Flags over variables, then the package's own app, library and examples unless told otherwise.
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const setting of SERVER_SETTINGS) {
    const value = values[flagOf(setting)];
    if (value !== undefined) merged[`TABSWARM_${setting.name}`] = String(value);
  }
  if (positionals[0] !== undefined) merged.TABSWARM_CONTENT_DIR = positionals[0];
  const root = packageRoot().dir;
  merged.TABSWARM_APP_DIR ||= join(root, 'dist/app');
  merged.TABSWARM_LIB_DIR ||= join(root, 'dist/lib');
  merged.TABSWARM_EXAMPLES_DIR ||= join(root, 'examples');
  const format = merged.TABSWARM_LOG_FORMAT?.trim().toLowerCase() || undefined;
  if (format !== undefined && format !== 'pretty' && format !== 'json') {
    process.stderr.write(`tabswarm: TABSWARM_LOG_FORMAT (--log-format) must be pretty or json, got "${format}"\n`);
    return 1;
  }
  try {
    const config = resolveConfig(configFromEnv(merged));
    await runServe(config, createLogger(config.logLevel, format === undefined ? process.stdout.isTTY === true : format === 'pretty'));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TlsError || err instanceof UwsUnavailableError) {
      process.stderr.write(`tabswarm: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `tabswarm serve --help`: each setting's flag, variable, default and meaning. */
export function serveHelp(): string {
  const lines = ['usage: tabswarm serve [content dir] [--flags]', '', 'Every flag can be set as its TABSWARM_* variable instead; a flag wins.', ''];
  for (const setting of SERVER_SETTINGS) {
    const value = setting.kind === 'switch' ? '' : setting.kind === 'int' ? ' <n>' : setting.kind === 'json' ? ' <json>' : ' <value>';
    lines.push(`  --${flagOf(setting)}${value}`, `      ${setting.help}`, `      TABSWARM_${setting.name}, default: ${defaultOf(setting)}`);
  }
  return `${lines.join('\n')}\n`;
}

function defaultOf(setting: ServerSetting): string {
  if (setting.name === 'LOG_FORMAT') return 'pretty on a terminal, else json';
  if (setting.name === 'INSTANCE_ID') return 'random';
  if (setting.name === 'APP_DIR' || setting.name === 'LIB_DIR') return `this package's dist/${setting.name === 'APP_DIR' ? 'app' : 'lib'}`;
  if (setting.name === 'EXAMPLES_DIR') return "this package's examples";
  const value = setting.key === undefined ? undefined : DEFAULT_SERVER_CONFIG[setting.key];
  if (setting.name === 'TLS') return value ? 'auto' : 'off';
  if (value === undefined) return 'unset';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
