/**
 * The activity monitor, after Windows' Delivery Optimization activity monitor: what this tab
 * downloaded by source (peers on the LAN, in the group, on the internet; the CDN), average
 * speeds, what it uploaded, and the history of rates over the last five minutes (uPlot).
 * It reads only `client.status()` (the PerfSnapshot), once a second.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { PerfSnapshot } from '../core/status.js';
import { cssColour, renderFigures, replaceIfChanged, type Figure } from './dom-update.js';
import { formatBytes, formatRate } from './format.js';

const HISTORY_SECONDS = 300;

export interface ActivityElements {
  /** Where the chart goes. */
  chart: HTMLElement;
  /** The stacked bar of bytes by source, and its legend. */
  bar: HTMLElement;
  legend: HTMLElement;
  /** Average speeds and uploads. */
  figures: HTMLElement;
}

interface Sample {
  at: number;
  lan: number;
  group: number;
  internet: number;
  cdn: number;
  up: number;
}

const SOURCES = [
  { key: 'lan', label: 'Peers on your LAN', css: '--peer' },
  { key: 'group', label: 'Peers in your group', css: '--group' },
  { key: 'internet', label: 'Peers on the internet', css: '--internet' },
  { key: 'cdn', label: 'CDN (HTTP)', css: '--cdn' },
] as const;

export class ActivityMonitor {
  private readonly times: number[] = [];
  private readonly series: Record<'lan' | 'group' | 'internet' | 'cdn' | 'up', number[]> = { lan: [], group: [], internet: [], cdn: [], up: [] };
  private last: Sample | undefined;
  private plot: uPlot | undefined;
  private firstActiveAt: number | undefined;
  private activeSeconds = 0;

  constructor(private readonly el: ActivityElements) {
    // Follow the card's width (a phone turned, a window resized) without waiting for a sample.
    new ResizeObserver(() => {
      const width = Math.max(240, this.el.chart.clientWidth);
      if (this.plot && Math.abs(this.plot.width - width) > 8) this.plot.setSize({ width, height: 180 });
    }).observe(this.el.chart);
  }

  /** Adds one sample from the tab's status; call about once a second. */
  update(snap: PerfSnapshot, now = Date.now()): void {
    const s: Sample = {
      at: now,
      lan: snap.TotalBytesFromLanPeers,
      group: snap.TotalBytesFromGroupPeers,
      internet: snap.TotalBytesFromInternetPeers,
      cdn: snap.TotalBytesFromHTTP,
      up: snap.TotalBytesToPeers,
    };
    if (this.last) {
      const dt = Math.max(0.001, (now - this.last.at) / 1000);
      this.times.push(now / 1000);
      for (const k of ['lan', 'group', 'internet', 'cdn', 'up'] as const) this.series[k].push(Math.max(0, (s[k] - this.last[k]) / dt));
      if (this.times.length > HISTORY_SECONDS) {
        this.times.shift();
        for (const k of Object.keys(this.series) as Array<keyof typeof this.series>) this.series[k].shift();
      }
      if (snap.FilesDownloading > 0) this.activeSeconds += dt;
    }
    if (snap.FilesDownloading > 0) this.firstActiveAt ??= now;
    this.last = s;
    // Sampled always (the history has no gaps), drawn only while the page is seen.
    if (typeof document === 'undefined' || !document.hidden) this.render(snap);
  }

  private render(snap: PerfSnapshot): void {
    const total = snap.TotalBytesFromLanPeers + snap.TotalBytesFromGroupPeers + snap.TotalBytesFromInternetPeers + snap.TotalBytesFromHTTP;
    const bytes = { lan: snap.TotalBytesFromLanPeers, group: snap.TotalBytesFromGroupPeers, internet: snap.TotalBytesFromInternetPeers, cdn: snap.TotalBytesFromHTTP };
    replaceIfChanged(this.el.bar, JSON.stringify(bytes), () =>
      SOURCES.filter((src) => bytes[src.key] > 0).map((src) => {
        const part = document.createElement('span');
        part.style.flexGrow = String(bytes[src.key]);
        part.style.background = `var(${src.css})`;
        part.title = `${src.label}: ${formatBytes(bytes[src.key])}`;
        return part;
      }),
    );
    replaceIfChanged(this.el.legend, JSON.stringify(bytes), () =>
      SOURCES.map((src) => {
        const li = document.createElement('li');
        li.dataset.source = src.key;
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = `var(${src.css})`;
        const pct = total > 0 ? ` (${((100 * bytes[src.key]) / total).toFixed(1)}%)` : '';
        li.append(swatch, `${src.label}: ${formatBytes(bytes[src.key])}${pct}`);
        return li;
      }),
    );
    const avg = this.activeSeconds > 0 ? total / this.activeSeconds : 0;
    const figures: Figure[] = [
      ['total', 'Downloaded', formatBytes(total)],
      ['peer-share', 'From peers', `${snap.PercentPeerCaching.toFixed(1)}%`],
      ['avg', 'Average download speed', formatRate(avg)],
      ['now', 'Now', `↓ ${formatRate(snap.DownloadBps)} · ↑ ${formatRate(snap.UploadBps)}`],
      ['uploaded', 'Uploaded to peers', formatBytes(snap.TotalBytesToPeers)],
      ['peers', 'Connected peers', String(snap.NumPeers)],
    ];
    renderFigures(this.el.figures, figures);
    this.drawChart();
  }

  private drawChart(): void {
    if (this.times.length < 2) return;
    const data: uPlot.AlignedData = [this.times, this.series.lan, this.series.group, this.series.internet, this.series.cdn, this.series.up];
    const width = Math.max(240, this.el.chart.clientWidth);
    if (!this.plot) {
      const axis = { stroke: cssColour('--muted'), grid: { stroke: 'rgba(128,128,128,0.2)' }, ticks: { stroke: 'rgba(128,128,128,0.2)' } };
      this.plot = new uPlot(
        {
          width,
          height: 180,
          scales: { x: { time: true } },
          axes: [
            { ...axis, space: 80, values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })) },
            { ...axis, size: 84, values: (_u, ticks) => ticks.map((t) => formatRate(t)) },
          ],
          series: [
            {},
            ...SOURCES.map((src) => ({ label: src.label, stroke: cssColour(src.css), width: 2, value: (_u: uPlot, v: number | null) => formatRate(v ?? 0) })),
            { label: 'Upload', stroke: cssColour('--upload'), width: 2, dash: [6, 4], value: (_u: uPlot, v: number | null) => formatRate(v ?? 0) },
          ],
        },
        data,
        this.el.chart,
      );
    } else {
      if (Math.abs(this.plot.width - width) > 8) this.plot.setSize({ width, height: 180 });
      this.plot.setData(data);
    }
  }
}
