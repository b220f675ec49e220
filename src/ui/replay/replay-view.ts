/**
 * One open recording on the page: the grid, the chart, the figures and the controls (play,
 * slider, speed), all following one Playback. Opening another recording disposes this one
 * (its listeners go with its AbortController).
 */
import type { SimRecording } from '../../protocol/sim-recording.js';
import { formatBytes, formatRate } from '../format.js';
import { formatSimTime } from './format-sim-time.js';
import { PeerGrid } from './peer-grid.js';
import { Playback } from './playback.js';
import { RateChart } from './rate-chart.js';
import { renderFrameFigures, renderRunSummary } from './replay-figures.js';
import { renderLegend } from './replay-legend.js';
import { defaultSpeed, durationS, frameIndexAt, frameSummary, runSummary } from './replay-model.js';
import { readPalette } from './replay-palette.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

export class ReplayView {
  readonly playback: Playback;
  private readonly grid: PeerGrid;
  private readonly chart: RateChart;
  private readonly abort = new AbortController();
  private palette = readPalette();
  private shownFrame = -1;
  private readonly el = {
    play: $<HTMLButtonElement>('replay-play'),
    time: $<HTMLInputElement>('replay-time'),
    clock: $('replay-clock'),
    speed: $<HTMLSelectElement>('replay-speed'),
    canvas: $<HTMLCanvasElement>('replay-grid'),
    hover: $('replay-hover'),
    now: $('replay-now'),
  };

  constructor(private readonly rec: SimRecording) {
    const duration = durationS(rec);
    this.playback = new Playback(duration, defaultSpeed(duration), () => this.render());
    $('replay-title').textContent = `${rec.scenario} · seed ${rec.seed}`;
    $('replay-meta').textContent =
      `${rec.peers.length} peers · ${formatBytes(rec.fileBytes)} in ${rec.pieceCount} pieces · CDN ${formatRate(rec.cdnBps)} · ` +
      `a frame every ${formatSimTime(rec.frameMs / 1000)} · ${rec.frames.length} frames`;
    const { time, speed, play, canvas } = this.el;
    time.max = String(duration);
    // The arrow keys move one frame, when the frames fall on a grid of frameMs (else any step).
    const frameS = rec.frameMs / 1000;
    time.step = rec.frames.every((f) => Math.abs(f.t / frameS - Math.round(f.t / frameS)) < 1e-6) ? String(frameS) : 'any';
    time.value = '0';
    speed.value = String(this.playback.speed);
    $('replay-view').hidden = false;
    this.grid = new PeerGrid(canvas);
    this.grid.resize(rec.peers.length);
    this.chart = new RateChart($('replay-chart'), rec);
    renderLegend($('replay-legend'), this.palette);
    renderRunSummary($('replay-summary'), rec, runSummary(rec));

    const signal = this.abort.signal;
    play.addEventListener('click', () => this.playback.toggle(), { signal });
    time.addEventListener('input', () => this.playback.seek(Number(time.value)), { signal });
    speed.addEventListener('change', () => (this.playback.speed = Number(speed.value)), { signal });
    canvas.addEventListener('mousemove', (e) => this.hover(e.offsetX, e.offsetY), { signal });
    canvas.addEventListener('mouseleave', () => (this.el.hover.textContent = 'Point at a cell to see its peer.'), { signal });
    const resize = new ResizeObserver(() => {
      this.grid.resize(rec.peers.length);
      this.redrawGrid();
    });
    resize.observe(canvas);
    signal.addEventListener('abort', () => resize.disconnect());
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.recolour(), { signal });
    this.render();
  }

  dispose(): void {
    this.playback.pause();
    this.abort.abort();
  }

  private render(): void {
    const p = this.playback;
    const { play, time, clock } = this.el;
    play.textContent = p.playing ? 'Pause' : p.t >= p.durationS ? 'Replay' : 'Play';
    play.setAttribute('aria-pressed', String(p.playing));
    // The slider is left alone while the user drags it; it follows playback otherwise.
    if (Number(time.value) !== p.t) time.value = String(p.t);
    time.setAttribute('aria-valuetext', formatSimTime(p.t));
    clock.textContent = `${formatSimTime(p.t)} / ${formatSimTime(p.durationS)}`;
    this.chart.setTime(p.t);
    const index = frameIndexAt(this.rec.frames, p.t);
    if (index !== this.shownFrame) {
      this.shownFrame = index;
      this.redrawGrid();
      renderFrameFigures(this.el.now, frameSummary(this.rec, this.rec.frames[index]!), this.rec.peers.length);
    }
  }

  private redrawGrid(): void {
    const frame = this.rec.frames[Math.max(0, this.shownFrame)]!;
    this.grid.draw(this.rec, frame, this.palette);
    this.el.canvas.dataset.frame = String(this.shownFrame);
  }

  private recolour(): void {
    this.palette = readPalette();
    renderLegend($('replay-legend'), this.palette);
    this.chart.build();
    this.redrawGrid();
  }

  private hover(x: number, y: number): void {
    const i = this.grid.peerAt(x, y, this.rec.peers.length);
    if (i === undefined) return;
    const peer = this.rec.peers[i]!;
    const frame = this.rec.frames[Math.max(0, this.shownFrame)]!;
    const have = frame.have[i]!;
    const where = peer.cluster >= 0 ? `LAN ${peer.cluster}` : 'internet';
    const holds = have < 0 ? 'not in the swarm' : `${have}/${this.rec.pieceCount} pieces, ${frame.fromCdn[i]} from the CDN`;
    const done = peer.doneS === undefined ? 'never completed' : `completed at ${formatSimTime(peer.doneS)}`;
    this.el.hover.textContent =
      `Peer ${i} (${peer.kind}, ${where}, ↑ ${formatRate(peer.uploadBps)} ↓ ${formatRate(peer.downloadBps)}): ` +
      `${holds}; joined at ${formatSimTime(peer.joinS)}, ${done}`;
  }
}
