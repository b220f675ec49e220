/**
 * `npm run swarm -- --peers 8 --size 256MiB [--cdn-rate 8MB/s] [--liars 1] [--json]`
 *
 * A swarm on this machine, nothing simulated: the tabswarm server (signaling/server.ts) with a
 * deterministic file, N headless Chromium contexts running the built web app over real WebRTC,
 * and K lying Node WebRTC peers. Shows live progress, then checks every copy's SHA-256 as
 * saved from its page and prints a table per peer; with --json the last line is one JSON
 * object (swarm/report.ts). Exit code 0 when every peer completed with the right bytes, 1
 * otherwise (timeout, failure, wrong hash), 2 for a bad command line.
 */
import type { NodePeer } from '../test/helpers/node-peer.js';
import { ArgsError, parseSwarmArgs, USAGE, type SwarmOptions } from './args.js';
import { Cleanup, cleanUpOnSignals } from './cleanup.js';
import { appIsBuilt, startSwarmContent } from './content.js';
import { LIAR_NOTE, startLiars } from './liars.js';
import { createLiveView } from './live-view.js';
import { launchBrowser, openBrowserPeers, samplePeer, savedFileSha256, type BrowserPeer, type PeerSample } from './peers.js';
import { honestBanLines, peerTable, summaryLines, totalsOf, type PeerResult, type SwarmReport } from './report.js';
import { formatMBps, formatSize } from './units.js';

const POLL_MS = 500;

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorText = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

async function run(opts: SwarmOptions, cleanup: Cleanup): Promise<SwarmReport> {
  say(`tabswarm swarm: ${opts.peers} browser peers, ${formatSize(opts.size)}, CDN ${opts.cdnRate ? `${formatMBps(opts.cdnRate)} per connection` : 'uncapped'}, ${opts.liars} liar(s), httpDelayMs ${opts.httpDelayMs}`);
  say(`writing and publishing a deterministic ${formatSize(opts.size)} file…`);
  const content = await startSwarmContent(opts.size, opts.seed, opts.cdnRate);
  cleanup.add('the server and its temp dir', () => content.close());
  say(`server ${content.server.url}, content ${content.contentId.slice(0, 16)}…`);

  const liars: NodePeer[] = [];
  if (opts.liars > 0) {
    say(`starting ${opts.liars} liar(s): ${LIAR_NOTE}`);
    await startLiars(content, opts.liars, (liar) => {
      liars.push(liar);
      cleanup.add(`liar ${liar.peerId.slice(0, 8)}`, () => liar.stop());
      say(`  liar ${liar.peerId.slice(0, 8)} in the swarm`);
    });
  }
  const liarIds = liars.map((l) => l.peerId);

  const browser = await launchBrowser();
  cleanup.add('the browser', () => browser.close());
  const link = content.link({ httpDelayMs: opts.httpDelayMs });
  say(`opening ${opts.peers} browser contexts on ${link.replace(/#c=.*/, '#c=…')}`);
  const peers = await openBrowserPeers(browser, link, opts.peers);
  const startedAt = Math.min(...peers.map((p) => p.openedAt));
  const deadline = startedAt + opts.timeoutSec * 1000;

  const view = createLiveView(opts.peers, opts.size);
  const samples: Array<PeerSample | undefined> = peers.map(() => undefined);
  const sampleAll = async (): Promise<void> => {
    await Promise.all(
      peers.map(async (p, i) => {
        try {
          samples[i] = await samplePeer(p, content.contentId);
        } catch (e) {
          if (cleanup.started) throw e;
          const last = samples[i];
          const none: PeerSample = { state: 'loading', fileSize: opts.size, bytesDone: 0, bytesFromPeers: 0, bytesFromCdn: 0, downloadBps: 0, links: 0, strikes: {}, banned: [], completeAt: 0, strikeLog: [], peerLog: [] };
          samples[i] = { ...(last ?? none), state: 'crashed', error: errorText(e) };
        }
      }),
    );
  };
  const ended = (s: PeerSample | undefined) => s !== undefined && ['complete', 'failed', 'stopped', 'crashed'].includes(s.state);
  let timedOut = false;
  try {
    for (;;) {
      const tick = Date.now();
      await sampleAll();
      view.update({ elapsedSec: (Date.now() - startedAt) / 1000, fileSize: opts.size, samples, cdnBytes: content.server.cdnLog.bytesFor(content.contentId) });
      if (samples.every(ended)) break;
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await sleep(Math.max(0, POLL_MS - (Date.now() - tick)));
    }
  } finally {
    view.stop();
  }
  const endedAt = Date.now();

  // A strike can land just after the last piece; give a ban in progress a moment.
  if (liars.length > 0) await sleep(1000);
  await sampleAll();
  await Promise.all(liars.map((l) => l.sync()));

  const problems: string[] = [];
  if (timedOut) problems.push(`timed out after ${opts.timeoutSec} s`);
  const results: PeerResult[] = [];
  if (peers.some((_, i) => samples[i]?.state === 'complete')) say('checking each copy: Save file, then SHA-256 of the saved file…');
  for (const [i, p] of peers.entries()) {
    const s = samples[i]!;
    let sha256Ok = false;
    if (s.state === 'complete') {
      try {
        const sha = await savedFileSha256(p.page);
        sha256Ok = sha === content.fileSha256;
        if (!sha256Ok) problems.push(`peer ${p.n}: saved file has SHA-256 ${sha}, the metadata says ${content.fileSha256}`);
      } catch (e) {
        problems.push(`peer ${p.n}: could not save and hash the file: ${errorText(e)}`);
      }
    } else {
      problems.push(missing(p, s, opts.size));
    }
    const result = resultOf(p, s, sha256Ok);
    result.liarContacts = liars.map((l) => ({ linkOpens: l.linkOpensWith(p.peerId).length, requests: l.requestsFrom(p.peerId) }));
    results.push(result);
  }
  const lastCompletion = Math.max(startedAt, ...peers.map((p, i) => samples[i]!.completeAt || 0));
  const seconds = ((timedOut || results.some((r) => r.seconds === null) ? endedAt : lastCompletion) - startedAt) / 1000;
  const totals = totalsOf(results, opts.size, content.server.cdnLog.bytesFor(content.contentId), seconds);
  const allSha256Match = results.every((r) => r.sha256Ok);
  const honestPeersBanned = results.reduce((a, r) => a + r.bannedPeers.filter((id) => !liarIds.includes(id)).length, 0);
  return { peers: results, totals, allSha256Match, liars: opts.liars, liarIds, honestPeersBanned, ok: allSha256Match && !timedOut && problems.length === 0, problems };
}

function missing(p: BrowserPeer, s: PeerSample, size: number): string {
  const done = ((100 * s.bytesDone) / size).toFixed(1);
  const errors = s.error ?? p.errors.at(-1);
  return `peer ${p.n} (${p.peerId.slice(0, 8)}): ${s.state}, ${done}% done (${size - s.bytesDone} bytes missing)${errors ? `: ${errors}` : ''}`;
}

function resultOf(p: BrowserPeer, s: PeerSample, sha256Ok: boolean): PeerResult {
  const result: PeerResult = {
    peer: p.n,
    peerId: p.peerId,
    state: s.state,
    bytesFromPeers: s.bytesFromPeers,
    bytesFromCdn: s.bytesFromCdn,
    seconds: s.completeAt > 0 ? Math.round(s.completeAt - p.openedAt) / 1000 : null,
    strikesGiven: Object.values(s.strikes).reduce((a, b) => a + b, 0),
    bansGiven: s.banned.length,
    banned: s.banned.length > 0,
    bannedPeers: s.banned,
    sha256Ok,
    strikeLog: s.strikeLog,
    peerLog: s.peerLog,
  };
  if (s.error) result.error = s.error;
  return result;
}

async function main(argv: string[]): Promise<number> {
  let opts: SwarmOptions;
  try {
    opts = parseSwarmArgs(argv);
  } catch (e) {
    if (!(e instanceof ArgsError)) throw e;
    process.stderr.write(`swarm: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    say(USAGE);
    return 0;
  }
  if (!appIsBuilt()) {
    process.stderr.write('swarm: the web app is not built (dist/app/index.html is missing): run `npm run build`, or use `npm run swarm`, which builds first\n');
    return 2;
  }
  const cleanup = new Cleanup();
  cleanUpOnSignals(cleanup, say);
  let report: SwarmReport;
  try {
    report = await run(opts, cleanup);
  } catch (e) {
    if (cleanup.started) return 1; // a signal is ending the run
    process.stderr.write(`swarm: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await cleanup.run();
    return 1;
  }
  await cleanup.run();

  say('');
  say(peerTable(report));
  say('');
  for (const line of summaryLines(report, opts.cdnRate)) say(line);
  if (report.liars > 0) say(`${report.liars} liar(s) (${report.liarIds.map((id) => id.slice(0, 8)).join(', ')}): ${LIAR_NOTE}; "strikes given" and "peers banned" count what each browser peer did to them`);
  // Not a failure of the run (every copy is checked whole), but worth seeing: honest peers should never strike each other.
  for (const line of honestBanLines(report)) say(`WARNING: ${line}`);
  for (const problem of report.problems) say(`MISSING/FAILED: ${problem}`);
  say(report.ok ? 'every copy matches the metadata\'s SHA-256' : 'the swarm did not finish cleanly (exit code 1)');
  if (opts.json) say(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`swarm: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
