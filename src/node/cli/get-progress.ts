/**
 * What `tabswarm get` shows while it downloads, on stderr: a live bar on a terminal
 * (cli-progress: percent, rate, bytes from peers and from the CDN, peers), a plain line every
 * few seconds elsewhere (a log, a pipe, CI), nothing with --quiet. Lines the command prints
 * meanwhile (`say`) go above the bar.
 */
import cliProgress from 'cli-progress';

/** What one update shows. */
export interface ProgressFigures {
  fileSize: number;
  bytesDone: number;
  bytesFromPeers: number;
  bytesFromCdn: number;
  downloadBps: number;
  peers: number;
}

export interface ProgressView {
  update(f: ProgressFigures): void;
  /** A line for the user (not with --quiet). */
  say(line: string): void;
  /** Ends the bar (or the plain lines); `say` still works afterwards. */
  stop(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatRate(bytesPerSec: number): string {
  return `${(bytesPerSec / 1e6).toFixed(bytesPerSec < 1e7 ? 2 : 1)} MB/s`;
}

/** The time left at the current rate: `45s`, `3m05s`, `2h07m`; `--` while nothing comes. */
export function formatEta(bytesLeft: number, bytesPerSec: number): string {
  if (bytesLeft <= 0) return '0s';
  if (bytesPerSec <= 0) return '--';
  const s = Math.ceil(bytesLeft / bytesPerSec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return s < 100 * 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : '--';
}

function plainLine(f: ProgressFigures): string {
  const percent = f.fileSize === 0 ? 100 : Math.floor((f.bytesDone / f.fileSize) * 100);
  return `${percent}% of ${formatBytes(f.fileSize)}, ${formatRate(f.downloadBps)}; from peers ${formatBytes(f.bytesFromPeers)}, from the CDN ${formatBytes(f.bytesFromCdn)}; ${f.peers} peer${f.peers === 1 ? '' : 's'}`;
}

export type ProgressStyle = 'bar' | 'lines' | 'quiet';

/** The view for `stream` (stderr): a bar on a TTY, lines every `intervalMs` otherwise, or nothing. */
export function createProgressView(style: ProgressStyle, stream: NodeJS.WriteStream = process.stderr, intervalMs = 5000): ProgressView {
  if (style === 'quiet') return { update: () => undefined, say: () => undefined, stop: () => undefined };
  if (style === 'lines') {
    let last: ProgressFigures | undefined;
    let printedAt = Date.now();
    let stopped = false;
    return {
      update(f) {
        last = f;
        if (stopped || Date.now() - printedAt < intervalMs) return;
        printedAt = Date.now();
        stream.write(`tabswarm get: ${plainLine(f)}\n`);
      },
      say: (line) => void stream.write(`tabswarm get: ${line}\n`),
      stop() {
        if (!stopped && last && Date.now() - printedAt >= intervalMs) stream.write(`tabswarm get: ${plainLine(last)}\n`);
        stopped = true;
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {percentage}% of {size} | {rate} | peers {fromPeers} · CDN {fromCdn} | {peers} peer(s) | ETA {eta}',
      hideCursor: true,
      barsize: 30,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  const payload = (f: ProgressFigures) => ({
    size: formatBytes(f.fileSize),
    rate: formatRate(f.downloadBps),
    fromPeers: formatBytes(f.bytesFromPeers),
    fromCdn: formatBytes(f.bytesFromCdn),
    peers: f.peers,
    eta: formatEta(f.fileSize - f.bytesDone, f.downloadBps),
  });
  return {
    update(f) {
      if (stopped) return;
      if (!started) {
        started = true;
        bar.start(Math.max(1, f.fileSize), f.bytesDone, payload(f));
      } else bar.update(f.bytesDone, payload(f));
    },
    say(line) {
      // A line above the bar: clear the bar's line, write, and draw the bar again.
      if (started && !stopped) stream.write('\r\x1b[2K');
      stream.write(`tabswarm get: ${line}\n`);
      if (started && !stopped) bar.render();
    },
    stop() {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}
