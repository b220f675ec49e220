/**
 * `tabswarm get`'s command line: what it accepts, read into typed options, and its errors.
 * Everything wrong with the command line itself is a GetError of kind 'usage' (exit 2, with the
 * usage); what is wrong with the things it names (a link that names no content, a server that
 * does not know it) is found later and exits 1.
 */
import { parseArgs } from 'node:util';
import type { ClientConfig } from '../../core/config.js';
import { GROUP_ID_RE } from '../../protocol/arrays-messages.js';

export const GET_USAGE = `usage: tabswarm get <app link | content ID> [options]

  Downloads a file from a tabswarm server's swarm: every piece is checked against its SHA-256
  before it is written, the whole file against its own at the end. Pieces are stored as they
  come in a directory beside the output; the same command run again resumes from them. While
  it downloads it is a peer: it serves the pieces it has to the others.

  <app link>     http(s)://host:port/#c=<content ID> (or /?c=…), a share link
                 (/?downloadMode=group&groupId=…#c=…) or a join link (/j/<code>); the link's
                 engine settings (?httpDelayMs=0, …) apply as they do in the app
  <content ID>   64 hex characters, with --server (or TABSWARM_SERVER)

  --server URL            the tabswarm server (default: the link's)
  -o, --output FILE       where the file goes (default: ./<its name>; a directory: <dir>/<its name>)
  --dir DIR               the store of pieces (default: <output>.tabswarm, removed when done)
  --force                 overwrite an existing different file at the output
  --seed                  once complete, keep seeding until Ctrl-C (SIGINT) or SIGTERM, then move the file out
  --mode MODE             lan (default) | group | internet | http (no peers) | simple (CDN only, unverified)
  --group ID              the group of --mode group (implies it)
  --max-download RATE     most bytes per second from the CDN, e.g. 500k, 2M, 1.5MiB (peers are not throttled)
  --stall-timeout SECONDS give up when no piece came for this long (default 60; 0: wait forever)
  -q, --quiet             no progress and no summary, only errors
  -h, --help              this text

  Exit codes: 0 done (the file is verified and in place), 1 failed (the reason on stderr),
  2 wrong command line, 130 interrupted (SIGINT; 143 for SIGTERM): the pieces stay, run the
  same command again to resume.`;

export type GetErrorKind =
  /** The command line itself (exit 2). */
  | 'usage'
  /** The target names no content, or the server does not know it. */
  | 'bad-target'
  /** The content cannot be verified (its metadata is missing, malformed or not the content ID's). */
  | 'unverifiable'
  /** A different file is at the output already (and no --force). */
  | 'output-exists'
  /** No piece came for the stall timeout: no source can deliver. */
  | 'stalled'
  /** Reading or writing the disk failed outside the download's own store. */
  | 'disk';

/** A failure of the command (the download's own failures are TabswarmErrors). */
export class GetError extends Error {
  readonly kind: GetErrorKind;

  constructor(kind: GetErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'GetError';
  }
}

export type GetMode = Exclude<ClientConfig['downloadMode'], 'bypass'>;
const MODES: readonly GetMode[] = ['lan', 'group', 'internet', 'http', 'simple'];

export interface GetOptions {
  target: string;
  server: string | undefined;
  output: string | undefined;
  dir: string | undefined;
  force: boolean;
  seed: boolean;
  /** Undefined: the link's, else lan. */
  mode: GetMode | undefined;
  group: string | undefined;
  /** Bytes per second from the CDN; undefined: the link's, else unlimited. */
  maxDownload: number | undefined;
  stallTimeoutMs: number;
  quiet: boolean;
  help: boolean;
}

const usage = (message: string): GetError => new GetError('usage', message);

/** Reads `args` (after the word `get`) and the environment; throws GetError 'usage'. */
export function parseGetArgs(args: string[], env: NodeJS.ProcessEnv): GetOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        output: { type: 'string', short: 'o' },
        dir: { type: 'string' },
        force: { type: 'boolean' },
        seed: { type: 'boolean' },
        mode: { type: 'string' },
        group: { type: 'string' },
        'max-download': { type: 'string' },
        'stall-timeout': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  if (!help && positionals.length !== 1) throw usage(positionals.length === 0 ? 'which file? give an app link or a content ID' : `one link or content ID at a time, got ${positionals.length}`);
  const mode = values.mode?.trim().toLowerCase();
  if (mode !== undefined && !(MODES as readonly string[]).includes(mode)) throw usage(`--mode must be one of ${MODES.join(', ')}, got "${values.mode}"`);
  if (values.group !== undefined && mode !== undefined && mode !== 'group') throw usage(`--group goes with --mode group, not --mode ${mode}`);
  if (values.group !== undefined && !GROUP_ID_RE.test(values.group)) throw usage(`--group must be 1 to 64 of A-Z a-z 0-9 _ -, got "${values.group}"`);
  const server = values.server ?? (env.TABSWARM_SERVER?.trim() || undefined);
  for (const [flag, value] of [['--output', values.output], ['--dir', values.dir], ['--server', values.server]] as const) {
    if (value !== undefined && value.trim() === '') throw usage(`${flag} needs a value`);
  }
  return {
    target: positionals[0] ?? '',
    server,
    output: values.output,
    dir: values.dir,
    force: values.force === true,
    seed: values.seed === true,
    mode: (values.group !== undefined && mode === undefined ? 'group' : mode) as GetMode | undefined,
    group: values.group,
    maxDownload: values['max-download'] === undefined ? undefined : parseRate(values['max-download']),
    stallTimeoutMs: values['stall-timeout'] === undefined ? 60_000 : parseSeconds(values['stall-timeout'], '--stall-timeout'),
    quiet: values.quiet === true,
    help,
  };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** A rate in bytes per second: `500000`, `500k`, `2M`, `2MB/s`, `1.5MiB` (k, M, G: powers of 1000; KiB, MiB, GiB: of 1024). */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*(?:\/s)?\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const rate = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(rate) || rate < 1) throw usage(`--max-download must be a rate in bytes per second such as 500k, 2M or 1.5MiB, got "${text}"`);
  return rate;
}

function parseSeconds(text: string, flag: string): number {
  const seconds = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400 * 365) throw usage(`${flag} must be a number of seconds, got "${text}"`);
  return Math.round(seconds * 1000);
}
