/**
 * The live view while the swarm downloads. On a terminal: one progress bar per peer (percent,
 * rate, MiB from peers and from the CDN, links, strikes given, bans) and a footer bar with the
 * totals and what the CDN origin served (cli-progress redraws them in place). Elsewhere (a
 * pipe, a CI log): one summary line per second.
 */
import cliProgress from 'cli-progress';
import type { PeerSample } from './peers.js';
import { formatMBps, formatMiB } from './units.js';

export interface LiveFrame {
  elapsedSec: number;
  fileSize: number;
  /** Per browser peer, in order; undefined until its first sample. */
  samples: Array<PeerSample | undefined>;
  /** Body bytes the CDN origin served for this content so far (server.cdnLog). */
  cdnBytes: number;
}

export interface LiveView {
  update(frame: LiveFrame): void;
  /** Leaves the last frame on screen. */
  stop(): void;
}

const pct = (done: number, total: number): string => `${total > 0 ? ((100 * done) / total).toFixed(1) : '0.0'}%`.padStart(6);

function strikesGiven(s: PeerSample | undefined): number {
  return s ? Object.values(s.strikes).reduce((a, b) => a + b, 0) : 0;
}

function peerInfo(s: PeerSample | undefined, fileSize: number): string {
  if (!s) return 'opening…';
  const state = s.state === 'downloading' ? '' : `  ${s.state}${s.error ? `: ${s.error}` : ''}`;
  return (
    `${pct(s.bytesDone, fileSize)} ${formatMBps(s.downloadBps).padStart(10)}` +
    `  peers ${formatMiB(s.bytesFromPeers).padStart(10)}  CDN ${formatMiB(s.bytesFromCdn).padStart(10)}` +
    `  links ${String(s.links).padStart(2)}  strikes ${String(strikesGiven(s)).padStart(2)}  bans ${s.banned.length}${state}`
  );
}

function totals(frame: LiveFrame) {
  const done = frame.samples.reduce((a, s) => a + (s?.bytesDone ?? 0), 0);
  const fromPeers = frame.samples.reduce((a, s) => a + (s?.bytesFromPeers ?? 0), 0);
  const fromCdn = frame.samples.reduce((a, s) => a + (s?.bytesFromCdn ?? 0), 0);
  const complete = frame.samples.filter((s) => s?.state === 'complete').length;
  const verifying = frame.samples.filter((s) => s?.state === 'verifying').length;
  const strikes = frame.samples.reduce((a, s) => a + strikesGiven(s), 0);
  const bans = frame.samples.reduce((a, s) => a + (s?.banned.length ?? 0), 0);
  const rate = frame.samples.reduce((a, s) => a + (s?.downloadBps ?? 0), 0);
  return { done, fromPeers, fromCdn, complete, verifying, strikes, bans, rate, all: frame.samples.length * frame.fileSize };
}

function footerInfo(frame: LiveFrame, withTime: boolean): string {
  const t = totals(frame);
  const share = t.fromPeers + t.fromCdn > 0 ? ((100 * t.fromPeers) / (t.fromPeers + t.fromCdn)).toFixed(1) : '0.0';
  return (
    `${pct(t.done, t.all)} ${formatMBps(t.rate).padStart(10)}  ${t.complete}/${frame.samples.length} complete${t.verifying ? ` (${t.verifying} verifying the whole file)` : ''}  ${share}% from peers` +
    `  CDN served ${formatMiB(frame.cdnBytes)} (${(frame.cdnBytes / frame.fileSize).toFixed(2)}x the file)  strikes ${t.strikes}  bans ${t.bans}${withTime ? `  ${frame.elapsedSec.toFixed(0)} s` : ''}`
  );
}

function ttyView(peerCount: number, fileSize: number, out: NodeJS.WriteStream): LiveView {
  const multi = new cliProgress.MultiBar(
    {
      format: '{label} {bar} {info}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 5,
      stream: out,
      barCompleteChar: '█',
      barIncompleteChar: '░',
    },
    cliProgress.Presets.shades_classic,
  );
  const width = String(peerCount).length;
  const bars = Array.from({ length: peerCount }, (_, i) => multi.create(fileSize, 0, { label: `peer ${String(i + 1).padStart(width)}`, info: 'opening…' }));
  const footer = multi.create(peerCount * fileSize, 0, { label: 'swarm'.padEnd(5 + width), info: '' });
  return {
    update(frame) {
      frame.samples.forEach((s, i) => bars[i]!.update(s?.bytesDone ?? 0, { info: peerInfo(s, fileSize) }));
      footer.update(totals(frame).done, { info: footerInfo(frame, true) });
    },
    stop() {
      multi.stop();
    },
  };
}

function lineView(out: NodeJS.WritableStream): LiveView {
  let lastAt = -Infinity;
  return {
    update(frame) {
      if (frame.elapsedSec - lastAt < 1) return;
      lastAt = frame.elapsedSec;
      out.write(`[${frame.elapsedSec.toFixed(1).padStart(6)} s] ${footerInfo(frame, false)}\n`);
    },
    stop() {},
  };
}

export function createLiveView(peerCount: number, fileSize: number, out: NodeJS.WriteStream = process.stdout): LiveView {
  return out.isTTY ? ttyView(peerCount, fileSize, out) : lineView(out);
}
