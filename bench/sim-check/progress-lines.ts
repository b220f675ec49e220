/**
 * The swarm demo's progress as it prints it when its stdout is not a terminal (swarm/live-view.ts,
 * lineView): about one line per second,
 *
 *   [  12.4 s]  30.3%   16.4 MB/s  0/8 complete  58.7% from peers  CDN served 64.0 MiB (1.00x the file)  …
 *
 * where the time counts from the first page opening, the percentage is every peer's verified
 * bytes over peers × file size, and the share is of those bytes that came from peers. Read back
 * here into points, so that the cross-check can see when the swarm's bytes moved without
 * changing the demo. The line's text is the demo's contract with this file: if it changes, the
 * parse finds no points and the cross-check says so (CrossCheckError 'demo-output').
 */

export interface ProgressPoint {
  /** Seconds since the first page opening. */
  t: number;
  /** Verified bytes over every peer, as a share of peers × file size (0-1). */
  done: number;
  /** Of those, the share that came from peers (0-1). */
  peerShare: number;
  /** Bytes the CDN origin had served (its log), MiB. */
  cdnMiB: number;
}

const LINE = /^\[\s*(\d+(?:\.\d+)?) s\]\s+(\d+(?:\.\d+)?)%\s.*?\scomplete.*?\s(\d+(?:\.\d+)?)% from peers\s+CDN served (\d+(?:\.\d+)?) MiB/;

/** The point of one progress line, or undefined for any other line. */
export function parseProgressLine(line: string): ProgressPoint | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { t: Number(m[1]), done: Number(m[2]) / 100, peerShare: Number(m[3]) / 100, cdnMiB: Number(m[4]) };
}

/** Every progress point of the demo's stdout, in order. */
export function progressPoints(stdout: string): ProgressPoint[] {
  const points: ProgressPoint[] = [];
  for (const line of stdout.split('\n')) {
    const p = parseProgressLine(line);
    if (p) points.push(p);
  }
  return points;
}
