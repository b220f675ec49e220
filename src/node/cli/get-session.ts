/**
 * One run of `tabswarm get` once the content is known and the output is free: a Node client
 * (node-client.ts) on the store beside the output, the download with its progress, and the end.
 *
 *   - Complete: the core completes a download only once the whole file's SHA-256 matches the
 *     metadata's (core/download.ts `finish`); then the client closes (the store's records are
 *     flushed and its lock released), the content file is moved to the output and the store
 *     is removed. With --seed it first seeds until SIGINT or SIGTERM.
 *   - SIGINT or SIGTERM while downloading: the download stops, the store is closed cleanly and
 *     kept (exit 130 or 143); the same command resumes from the pieces it holds. A second
 *     signal exits at once (the store's record names only pieces already on disk, so even
 *     that loses nothing but the pieces in flight).
 *   - No piece for the stall timeout while downloading: the CDN is asked once more, by hand,
 *     so that the message can say what it answers, and the run fails (exit 1), store kept.
 *   - Any other failure (a disk error, a whole-file mismatch the core could not repair): the
 *     core's TabswarmError, store kept.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import createDebug from 'debug';
import type { ClientDownload } from '../../client/client-download.js';
import type { ClientConfig } from '../../core/config.js';
import { TabswarmError } from '../../core/errors.js';
import { pieceCountOf, type Metadata } from '../../protocol/metadata.js';
import { createNodeClient, type NodeClient } from '../node-client.js';
import { contentNameOf } from '../storage-id.js';
import { GetError, type GetOptions } from './get-args.js';
import { moveIntoPlace, removeStore } from './get-output.js';
import { formatBytes, formatRate, type ProgressView } from './get-progress.js';
import type { GetTarget } from './get-target.js';

const debug = createDebug('tabswarm:get');

/** What the command found before it stored anything (get.ts `preflight`). */
export interface Preflight {
  metadata: Metadata;
  /** The metadata matched the content ID (false only in --mode simple). */
  verified: boolean;
}

export interface SessionInput {
  options: GetOptions;
  target: GetTarget;
  config: Partial<ClientConfig>;
  content: Preflight;
  output: string;
  view: ProgressView;
}

type Outcome = { end: 'complete' } | { end: 'signal'; signal: NodeJS.Signals } | { end: 'stalled'; why: string };

const EXIT_OF_SIGNAL: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

export async function runSession(input: SessionInput): Promise<number> {
  const { options, target, config, content, output, view } = input;
  const ownStore = options.dir === undefined;
  const storeDir = ownStore ? `${output}.tabswarm` : resolve(options.dir!);
  await mkdir(storeDir, { recursive: true }).catch((e: Error) => {
    throw new GetError('disk', `cannot create the store ${storeDir}: ${e.message}`, { cause: e });
  });
  const signals = signalWatch();
  let client: NodeClient | undefined;
  let download: ClientDownload | undefined;
  let done = false;
  try {
    client = await createNodeClient({ serverUrl: target.serverUrl, directory: storeDir, config, seedCache: false, log: debug });
    const { metadata } = content;
    view.say(`${metadata.name}: ${formatBytes(metadata.fileSize)} in ${pieceCountOf(metadata.fileSize, metadata.pieceSize)} pieces, from ${target.serverUrl} (mode ${config.downloadMode}) into ${output}`);
    download = await client.download(target.contentId, { signal: signals.abort, background: false }).catch((e: unknown) => {
      if (signals.received() !== undefined) return undefined; // interrupted while it opened
      throw e;
    });
    const startedAt = Date.now();
    const outcome: Outcome = download
      ? await follow(download, input, signals).catch((e: unknown) => {
          // The core's failure (a disk error, say), with what is left for a resume.
          throw e instanceof TabswarmError ? new TabswarmError(e.kind, `${e.message}; ${leftover(download, storeDir, ownStore)}`, { cause: e }) : e;
        })
      : { end: 'signal', signal: signals.received()! };
    view.stop();
    if (outcome.end === 'signal' && download?.download.state !== 'complete') {
      view.say(`interrupted (${outcome.signal}): ${leftover(download, storeDir, ownStore)}`);
      return EXIT_OF_SIGNAL[outcome.signal] ?? 1;
    }
    if (outcome.end === 'stalled') throw new GetError('stalled', `${outcome.why}; ${leftover(download, storeDir, ownStore)}`);
    const d = download!;
    const storageId = d.download.storageId;
    const from = client.pathOf(storageId);
    view.say(summaryLine(d, output, Date.now() - startedAt));
    if (options.seed && outcome.end === 'complete') {
      view.say(`seeding ${metadata.name} to the swarm until Ctrl-C (SIGINT) or SIGTERM`);
      await signals.next();
      view.say(`stopped seeding: uploaded ${formatBytes(d.download.snapshot().bytesUploaded)}`);
    }
    await client.close();
    await moveIntoPlace(from, output, options.force);
    done = true;
    const prefix = contentNameOf(storageId).replace(/content$/, '');
    await removeStore(storeDir, ownStore, (await readdir(storeDir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix)));
    return 0;
  } finally {
    view.stop();
    signals.dispose();
    await client?.close();
    // A store of the command's own that holds nothing is no use to a resume.
    if (!done && ownStore && download?.download.have.cardinality === 0) await rm(storeDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** What a failed or interrupted run leaves for the next: the pieces kept, or nothing (then the command's own store goes). */
function leftover(d: ClientDownload | undefined, storeDir: string, ownStore: boolean): string {
  if (!d) return `the store ${storeDir} is kept: run the same command again to resume`;
  const have = d.download.have.cardinality;
  if (have === 0 && ownStore) return 'nothing was stored';
  return `${have} of ${d.download.pieceCount} pieces (${formatBytes(d.content.metadata.fileSize - d.download.bytesLeft)}) are kept in ${storeDir}: run the same command again to resume`;
}

/** Follows a download to its end: complete, a signal, or a stall. Fails with its error. */
async function follow(d: ClientDownload, input: SessionInput, signals: SignalWatch): Promise<Outcome> {
  const { content, view, options } = input;
  if (content.verified && d.content.mode !== 'verified') {
    // The server answered the preflight with verifiable metadata, and the download's own open with something else.
    d.abort();
    throw new GetError('unverifiable', `content ${d.content.contentId} cannot be verified: ${d.content.mode === 'simple' ? d.content.reason : 'unknown'}; nothing more is downloaded`);
  }
  const figures = () => {
    const s = d.download.snapshot();
    return { fileSize: content.metadata.fileSize, bytesDone: content.metadata.fileSize - d.download.bytesLeft, bytesFromPeers: s.bytesFromPeers, bytesFromCdn: s.bytesFromCdn, downloadBps: s.downloadBps, peers: d.download.connectedPeers };
  };
  const offProgress = d.on('progress', () => view.update(figures()));
  const stall = stallWatch(d, stallTimeoutOf(options, content));
  try {
    const ended = await Promise.race([
      // A signal stops the download, so `done` rejects too: the signal is the outcome then.
      d.done.then(
        (): Outcome => ({ end: 'complete' }),
        (e: unknown): Outcome => {
          const signal = signals.received();
          if (signal === undefined) throw e;
          return { end: 'signal', signal };
        },
      ),
      signals.next().then((signal): Outcome => ({ end: 'signal', signal })),
      stall.stalled.then((why): Outcome => ({ end: 'stalled', why })),
    ]);
    if (ended.end === 'complete') view.update(figures());
    return ended;
  } finally {
    offProgress();
    stall.stop();
  }
}

/** The stall timeout, long enough for one piece at the --max-download rate (three times over). */
function stallTimeoutOf(options: GetOptions, content: Preflight): number {
  if (options.stallTimeoutMs === 0) return 0;
  const rate = options.maxDownload;
  return rate === undefined ? options.stallTimeoutMs : Math.max(options.stallTimeoutMs, Math.ceil((3 * content.metadata.pieceSize * 1000) / rate));
}

/** Resolves with the reason when no piece was stored for `timeoutMs` while downloading (never with 0). */
function stallWatch(d: ClientDownload, timeoutMs: number): { stalled: Promise<string>; stop(): void } {
  let lastAt = Date.now();
  const offs = [d.on('piece', () => (lastAt = Date.now())), d.on('state', () => (lastAt = Date.now()))];
  let timer: ReturnType<typeof setInterval> | undefined;
  const stalled = new Promise<string>((resolveStall) => {
    if (timeoutMs === 0) return;
    timer = setInterval(() => {
      if (d.download.state !== 'downloading' || Date.now() - lastAt < timeoutMs) return;
      clearInterval(timer);
      void stallReason(d, timeoutMs).then(resolveStall);
    }, Math.min(1000, timeoutMs));
  });
  return {
    stalled,
    stop() {
      clearInterval(timer);
      for (const off of offs) off();
    },
  };
}

/** Why nothing comes: what the CDN answers now (asked once, one byte), and the peers. */
async function stallReason(d: ClientDownload, timeoutMs: number): Promise<string> {
  const s = d.download.snapshot();
  const peers = d.download.connectedPeers;
  const peering = d.download.peering ? `${peers} peer${peers === 1 ? '' : 's'} connected` : 'no peers in this mode';
  const url = d.content.cdnUrls[0];
  let cdn: string;
  if (url === undefined) cdn = 'the content has no CDN copy (peers only)';
  else {
    const answer = await fetch(url, { headers: { Range: 'bytes=0-0' }, signal: AbortSignal.timeout(10_000) }).then(
      async (res) => {
        await res.body?.cancel().catch(() => undefined);
        return `answers HTTP ${res.status}`;
      },
      (e: unknown) => `cannot be reached (${e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e)})`,
    );
    cdn = `the CDN (${url}) ${answer}${s.cdnErrors > 0 ? ` and failed ${s.cdnErrors} request${s.cdnErrors === 1 ? '' : 's'}` : ''}`;
  }
  // A CDN that answers but is not asked yet: the HTTP delay (a link's httpDelayMs) still waits for peers.
  const delay = d.download.limits().httpDelayMs;
  const waiting = url !== undefined && s.cdnErrors === 0 && delay > timeoutMs ? `, but the download waits ${Math.round(delay / 1000)} s for peers before it asks the CDN (httpDelayMs)` : '';
  return `no piece came for ${Math.round(timeoutMs / 1000)} s: ${cdn}${waiting}; ${peering}`;
}

const pieces = (n: number) => `${n} piece${n === 1 ? '' : 's'}`;

function summaryLine(d: ClientDownload, output: string, ms: number): string {
  const s = d.download.snapshot();
  const { fileSize } = d.content.metadata;
  const fetched = s.bytesFromPeers + s.bytesFromCdn;
  const check = d.content.mode === 'verified' ? 'verified' : 'NOT verified (simple mode)';
  return (
    `done: ${output}, ${formatBytes(fileSize)} in ${(ms / 1000).toFixed(1)} s (${formatRate(fetched / Math.max(ms / 1000, 0.001))}): ` +
    `from peers ${formatBytes(s.bytesFromPeers)} (${pieces(s.piecesFromPeers)}), from the CDN ${formatBytes(s.bytesFromCdn)} (${pieces(s.piecesFromCdn)}), ` +
    `${s.piecesFromStore} of ${d.download.pieceCount} pieces already stored; ` +
    `SHA-256 ${d.download.fileSha256 ?? '?'} ${check}`
  );
}

interface SignalWatch {
  /** Aborted at the first SIGINT or SIGTERM. */
  abort: AbortSignal;
  received(): NodeJS.Signals | undefined;
  /** The first signal (now, if one came already). */
  next(): Promise<NodeJS.Signals>;
  dispose(): void;
}

/** SIGINT and SIGTERM end the run cleanly; a second one exits at once. */
function signalWatch(): SignalWatch {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let wake: (s: NodeJS.Signals) => void = () => undefined;
  const first = new Promise<NodeJS.Signals>((r) => (wake = r));
  const on = (signal: NodeJS.Signals) => {
    if (received !== undefined) process.exit(EXIT_OF_SIGNAL[signal] ?? 1);
    received = signal;
    controller.abort(new TabswarmError('aborted', `interrupted by ${signal}`));
    wake(signal);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    abort: controller.signal,
    received: () => received,
    next: () => first,
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}
