/**
 * The replay's chart (uPlot): the CDN's and the peers' delivery rates over simulated time,
 * a vertical line at the bound (the fluid model's lower bound on completion) and one at the
 * current time. The lines are drawn by a draw hook, so moving the current time redraws the
 * chart without rebuilding its paths.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SimRecording } from '../../protocol/sim-recording.js';
import { cssColour } from '../dom-update.js';
import { formatRate } from '../format.js';
import { formatSimTicks, formatSimTime } from './format-sim-time.js';
import { frameIndexAt } from './replay-model.js';

const HEIGHT = 200;

/** Rate ticks at binary steps (512 MiB/s, 1 GiB/s, ...), which formatRate prints round. */
const RATE_STEPS = Array.from({ length: 41 }, (_, i) => 2 ** i);

export class RateChart {
  private plot: uPlot | undefined;
  private t = 0;

  constructor(
    private readonly el: HTMLElement,
    private readonly rec: SimRecording,
  ) {
    new ResizeObserver(() => {
      const width = this.width();
      if (this.plot && Math.abs(this.plot.width - width) > 8) this.plot.setSize({ width, height: HEIGHT });
    }).observe(el);
    this.build();
  }

  /** Moves the current-time line; the legend shows that frame's rates unless the pointer is on the chart. */
  setTime(t: number): void {
    if (t === this.t) return;
    this.t = t;
    this.showFrameInLegend();
    this.plot?.redraw(false, false);
  }

  private showFrameInLegend(): void {
    const u = this.plot;
    if (u && !(u.cursor.left !== undefined && u.cursor.left >= 0)) u.setLegend({ idx: frameIndexAt(this.rec.frames, this.t) });
  }

  /** Builds the chart again, in the colours of the current scheme. */
  build(): void {
    this.plot?.destroy();
    const frames = this.rec.frames;
    const data: uPlot.AlignedData = [frames.map((f) => f.t), frames.map((f) => f.cdnBps), frames.map((f) => f.peerBps)];
    const axis = { stroke: cssColour('--muted'), grid: { stroke: 'rgba(128,128,128,0.2)' }, ticks: { stroke: 'rgba(128,128,128,0.2)' } };
    const end = Math.max(frames.at(-1)?.t ?? 0, this.rec.boundS * 1.05, 1);
    const rate = (_u: uPlot, v: number | null) => (v === null ? '–' : formatRate(v));
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        // Room above the lines for the labels.
        scales: { x: { time: false, range: () => [0, end] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
        axes: [
          { ...axis, space: 60, values: (_u, ticks) => formatSimTicks(ticks, end) },
          { ...axis, size: 84, incrs: RATE_STEPS, values: (_u, ticks) => ticks.map((t) => formatRate(t)) },
        ],
        series: [
          { label: 'Time', value: (_u, v) => (v === null ? '–' : formatSimTime(v)) },
          { label: 'CDN', stroke: cssColour('--cdn'), width: 2, value: rate },
          { label: 'Peers', stroke: cssColour('--peer'), width: 2, value: rate },
        ],
        hooks: {
          draw: [(u) => this.drawLines(u)],
          // The pointer left the chart: back to the current frame's rates.
          setCursor: [(u) => (u.cursor.left !== undefined && u.cursor.left < 0 ? this.showFrameInLegend() : undefined)],
        },
      },
      data,
      this.el,
    );
    this.showFrameInLegend();
  }

  private width(): number {
    return Math.max(240, this.el.clientWidth);
  }

  private drawLines(u: uPlot): void {
    const ctx = u.ctx;
    const ratio = globalThis.devicePixelRatio || 1;
    const top = u.bbox.top;
    const bottom = u.bbox.top + u.bbox.height;
    const line = (t: number, colour: string, dash: number[], label: string) => {
      const x = Math.round(u.valToPos(t, 'x', true));
      ctx.save();
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = 2 * ratio;
      ctx.setLineDash(dash.map((d) => d * ratio));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      ctx.font = `${12 * ratio}px system-ui, sans-serif`;
      ctx.textBaseline = 'top';
      // The label on the side with room: left of a line near the right edge.
      const w = ctx.measureText(label).width;
      const right = x + 4 * ratio + w > u.bbox.left + u.bbox.width;
      ctx.fillText(label, right ? x - 4 * ratio - w : x + 4 * ratio, top + 2 * ratio);
      ctx.restore();
    };
    if (this.rec.boundS > 0) line(this.rec.boundS, cssColour('--muted'), [6, 4], `bound ${formatSimTime(this.rec.boundS)}`);
    line(this.t, cssColour('--playhead'), [], '');
  }
}
