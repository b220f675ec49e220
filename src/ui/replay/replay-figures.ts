/** The replay's two panels of figures: the current frame's and the whole run's (replay-model.ts). */
import type { SimRecording } from '../../protocol/sim-recording.js';
import { renderFigures } from '../dom-update.js';
import { formatRate } from '../format.js';
import { formatSimTime } from './format-sim-time.js';
import type { FrameSummary, RunSummary } from './replay-model.js';

const render = renderFigures;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const times = (x: number | undefined) => (x === undefined ? '–' : `${x.toFixed(2)}× bound`);

export function renderFrameFigures(dl: HTMLElement, now: FrameSummary, peers: number): void {
  render(dl, [
    ['in-swarm', 'Peers in the swarm', `${now.inSwarm} of ${peers}`],
    ['complete', 'Holding every piece', String(now.complete)],
    ['progress', 'Mean progress (in the swarm)', pct(now.meanProgress)],
    ['cdn-share', 'Pieces held that came from the CDN', pct(now.cdnShare)],
    ['cdn-rate', 'CDN rate', formatRate(now.cdnBps)],
    ['peer-rate', 'Peers’ rate', formatRate(now.peerBps)],
  ]);
}

export function renderRunSummary(dl: HTMLElement, rec: SimRecording, run: RunSummary): void {
  const odd = [run.liars ? `${run.liars} liars` : '', run.stallers ? `${run.stallers} stallers` : ''].filter(Boolean).join(', ');
  render(dl, [
    ['peers', 'Peers', odd ? `${run.peers} (${odd})` : String(run.peers)],
    ['completed', 'Completed', `${run.completed} of ${run.peers}`],
    ['bound', 'Bound (fluid model)', formatSimTime(rec.boundS)],
    ['mean', 'Mean completion time', times(run.meanOverBound)],
    ['p95', '95th percentile completion', times(run.p95OverBound)],
    ['cdn-copies', 'Sent by the CDN (approx., from piece counts)', `≈ ${run.cdnFileCopies.toFixed(2)}× the file`],
  ]);
}
