/**
 * `tabswarm get <app link | content ID>`: downloads one file as a peer of the swarm, with the
 * same core a browser tab runs (src/node/node-client.ts), and puts it where the user asked.
 *
 * The steps, each with its failure named on stderr:
 *   1. the command line (exit 2 with the usage when it is wrong);
 *   2. the target: a content ID and its server (get-target.ts);
 *   3. before anything is stored, the content's metadata is fetched and checked against the
 *      content ID. The core falls back to simple mode (the CDN only, unverified) when it
 *      cannot verify a content, as Delivery Optimization does; the command does not: it
 *      refuses (exit 1) unless --mode simple asks for an unverified download;
 *   4. the output: a safe name, and no existing different file replaced without --force
 *      (get-output.ts); the same file there already is success with nothing fetched;
 *   5. the download into the store beside the output (get-session.ts): resumable, verified
 *      piece by piece and whole, then moved into place.
 * Exit codes: 0 done, 1 failed, 2 wrong command line, 130/143 interrupted by SIGINT/SIGTERM
 * (the store is kept: the same command resumes).
 */
import { TabswarmError } from '../../core/errors.js';
import type { ClientConfig } from '../../core/config.js';
import { openContent, openPolicy } from '../../core/open-content.js';
import { toHex } from '../../protocol/hex.js';
import { LIMITS } from '../../protocol/limits.js';
import { parseMetadata } from '../../protocol/metadata.js';
import { createFetchBytes } from '../../transport/fetch-bytes.js';
import { createFetchHttpRange } from '../../transport/fetch-http-range.js';
import { createNodeHasher } from '../node-hasher.js';
import { GET_USAGE, GetError, parseGetArgs, type GetMode, type GetOptions } from './get-args.js';
import { outputPathOf, outputState } from './get-output.js';
import { createProgressView } from './get-progress.js';
import { runSession, type Preflight } from './get-session.js';
import { resolveTarget } from './get-target.js';

/** Runs `tabswarm get` with `args` (after the word `get`); resolves to the exit code. */
export async function runGet(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const options = parseGetArgs(args, env);
    if (options.help) {
      process.stdout.write(`${GET_USAGE}\n`);
      return 0;
    }
    return await get(options);
  } catch (e) {
    return report(e);
  }
}

/** Prints a failure as one line (the usage after a command-line error) and gives its exit code. */
function report(e: unknown): number {
  const write = (line: string) => process.stderr.write(`tabswarm get: ${line}\n`);
  if (e instanceof GetError) {
    write(e.message);
    if (e.kind === 'usage') process.stderr.write(`${GET_USAGE}\n`);
    return e.kind === 'usage' ? 2 : 1;
  }
  if (e instanceof TabswarmError) write(`${e.message} [${e.kind}]`);
  else if (e instanceof Error && 'code' in e) write(e.message); // a file system error: its message names the path and the cause
  else write(`unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return 1;
}

async function get(options: GetOptions): Promise<number> {
  const target = await resolveTarget(options.target, options.server);
  const config = settingsOf(options, target.linkConfig);
  const mode = config.downloadMode as GetMode;
  if (options.seed && (mode === 'http' || mode === 'simple')) throw new GetError('usage', `--seed needs a mode that peers (lan, group, internet), not ${mode}`);
  const content = await preflight(target.serverUrl, target.contentId, mode);
  const { metadata } = content;
  const output = await outputPathOf(options.output, metadata.name, target.contentId);
  const view = createProgressView(options.quiet ? 'quiet' : process.stderr.isTTY ? 'bar' : 'lines');
  const state = await outputState(output, metadata.fileSize, content.verified ? metadata.fileSha256 : undefined);
  if (state === 'same') {
    view.say(`${output} is this file already (SHA-256 ${metadata.fileSha256} verified): nothing to download`);
    return 0;
  }
  if (state === 'different' && !options.force) {
    throw new GetError('output-exists', `${output} exists and is a different file: use --force to replace it, or -o to put this one elsewhere`);
  }
  return runSession({ options, target, config, content, output, view });
}

/** The download's settings: the link's, then the flags'. */
function settingsOf(options: GetOptions, linkConfig: Partial<ClientConfig>): Partial<ClientConfig> {
  const config: Partial<ClientConfig> = { ...linkConfig };
  if (options.mode !== undefined) config.downloadMode = options.mode;
  if (options.group !== undefined) config.groupId = options.group;
  if (options.maxDownload !== undefined) config.maxForegroundCdnBytesPerSec = options.maxDownload;
  config.downloadMode ??= 'lan';
  if (config.downloadMode === 'bypass') throw new GetError('usage', 'the link says downloadMode=bypass (the browser fetches the file itself): give --mode to download it here');
  if (config.downloadMode === 'group' && !config.groupId) throw new GetError('usage', '--mode group needs --group ID (or a share link, which carries its group)');
  return config;
}

/**
 * Opens the content before anything is stored: its policy (so that an unknown content or an
 * unreachable server says so plainly), then its metadata, hashed against the content ID and
 * parsed, as core/open-content.ts does. Not through openContent itself: where it cannot verify
 * it falls back to simple mode and probes the CDN, and the command refuses unverifiable
 * content before it touches the CDN (unless --mode simple asks for an unverified download).
 */
async function preflight(serverUrl: string, contentId: string, mode: GetMode): Promise<Preflight> {
  const fetcher = createFetchBytes();
  const hasher = createNodeHasher();
  if (mode === 'simple') {
    const content = await openContent(serverUrl, contentId, { fetcher, hasher, http: createFetchHttpRange(fetch), noServices: true });
    return { metadata: content.metadata, verified: false };
  }
  let policy;
  try {
    policy = await openPolicy(serverUrl, contentId, fetcher);
  } catch (e) {
    throw new GetError('bad-target', `${serverUrl} does not serve content ${contentId}: ${causeOf(e)}`, { cause: e });
  }
  const unverifiable = (why: string, cause?: unknown) =>
    new GetError('unverifiable', `content ${contentId} cannot be verified: ${why}. Nothing was downloaded (--mode simple would fetch it from the CDN unverified)`, { cause });
  const url = new URL(policy.metadataUrl, new URL(`/api/content/${contentId}`, serverUrl)).href;
  let bytes: Uint8Array;
  try {
    bytes = await fetcher.getBytes(url, LIMITS.maxMetadataBytes);
  } catch (e) {
    throw unverifiable(`the metadata is unavailable (${causeOf(e)})`, e);
  }
  const { digest, data } = await hasher.digest(bytes);
  const actual = toHex(digest);
  if (actual !== contentId || actual !== policy.metadataSha256) throw unverifiable(`the metadata's SHA-256 (${actual.slice(0, 12)}…) is not the content ID (${contentId.slice(0, 12)}…)`);
  const parsed = parseMetadata(data);
  if (!parsed.ok) throw unverifiable(`the metadata is malformed (${parsed.reason})`);
  if (parsed.metadata.fileSize !== policy.fileSize) throw unverifiable('the metadata and the policy disagree on the file size');
  return { metadata: parsed.metadata, verified: true };
}

/** An error's message, with what lies under a failed fetch ("fetch failed") named: the system error's code, else its message. */
export function causeOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  let inner: unknown = e instanceof Error ? e.cause : undefined;
  let deepest: string | undefined;
  for (let depth = 0; depth < 4 && inner instanceof Error; depth++) {
    const code = (inner as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `${message} (${inner.message.includes(code) ? inner.message : `${code}: ${inner.message}`})`;
    deepest = inner.message;
    inner = inner.cause;
  }
  return deepest !== undefined && !message.includes(deepest) ? `${message} (${deepest})` : message;
}
