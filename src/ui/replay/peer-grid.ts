/**
 * The replay's grid: one square cell per peer, peer i at row i / perRow, column i % perRow,
 * drawn into an ImageData in device pixels (20,000 peers redraw in a few milliseconds; no DOM
 * node per peer). The canvas's data-cell-px and data-per-row say where each peer is, for tests
 * and for the tooltip.
 */
import type { SimRecording } from '../../protocol/sim-recording.js';
import { peerFill, peerMark, type ReplayPalette } from './peer-colour.js';
import type { Frame } from './replay-model.js';

export interface GridLayout {
  /** Side of a cell, gap included, in canvas pixels. */
  cellPx: number;
  perRow: number;
  rows: number;
}

/** The largest cell, within [minPx, maxPx], that fits `n` cells in `widthPx` by about `heightPx`. */
export function gridLayout(n: number, widthPx: number, heightPx: number, minPx: number, maxPx: number): GridLayout {
  const count = Math.max(1, n);
  const cellPx = Math.max(minPx, Math.min(maxPx, Math.floor(Math.sqrt((widthPx * heightPx) / count))));
  const perRow = Math.max(1, Math.floor(widthPx / cellPx));
  return { cellPx, perRow, rows: Math.ceil(count / perRow) };
}

/** Little-endian RGBA packed into one word of a Uint32Array over ImageData. */
const word = (c: readonly [number, number, number]): number => ((255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0;

export class PeerGrid {
  private image: ImageData | undefined;
  layout: GridLayout = { cellPx: 1, perRow: 1, rows: 1 };

  constructor(private readonly canvas: HTMLCanvasElement) {}

  /** Sizes the canvas to its CSS width for `n` peers; call on load and on resize. */
  resize(n: number): void {
    const ratio = globalThis.devicePixelRatio || 1;
    const widthPx = Math.round((this.canvas.clientWidth || 600) * ratio);
    this.layout = gridLayout(n, widthPx, 420 * ratio, Math.ceil(3 * ratio), Math.round(28 * ratio));
    const heightPx = this.layout.rows * this.layout.cellPx;
    if (this.canvas.width !== widthPx || this.canvas.height !== heightPx) {
      this.canvas.width = widthPx;
      this.canvas.height = heightPx;
      this.canvas.style.height = `${heightPx / ratio}px`;
    }
    this.canvas.dataset.cellPx = String(this.layout.cellPx);
    this.canvas.dataset.perRow = String(this.layout.perRow);
    const ctx = this.canvas.getContext('2d');
    this.image = ctx ? ctx.createImageData(widthPx, heightPx) : undefined;
  }

  /** The peer under a point in CSS pixels of the canvas, if any. */
  peerAt(x: number, y: number, n: number): number | undefined {
    const ratio = globalThis.devicePixelRatio || 1;
    const col = Math.floor((x * ratio) / this.layout.cellPx);
    const row = Math.floor((y * ratio) / this.layout.cellPx);
    const i = row * this.layout.perRow + col;
    return col < this.layout.perRow && i >= 0 && i < n ? i : undefined;
  }

  draw(rec: SimRecording, frame: Frame, palette: ReplayPalette): void {
    const image = this.image;
    const ctx = this.canvas.getContext('2d');
    if (!image || !ctx) return;
    const px = new Uint32Array(image.data.buffer);
    px.fill(0);
    const { cellPx, perRow } = this.layout;
    const gap = cellPx >= 4 ? 1 : 0;
    const inner = cellPx - gap;
    // A frame a fifth of the cell wide (at least 1 px); a cell too small for one is all frame.
    const border = inner >= 5 ? Math.max(1, Math.floor(inner / 5)) : inner;
    const marks = new Map<string, number>();
    for (let i = 0; i < rec.peers.length; i++) {
      const fill = word(peerFill(palette, frame.have[i]!, frame.fromCdn[i]!, rec.pieceCount));
      const kind = rec.peers[i]!.kind;
      let mark = marks.get(kind);
      if (mark === undefined) {
        const c = peerMark(palette, kind);
        mark = c ? word(c) : 0;
        marks.set(kind, mark);
      }
      const x0 = (i % perRow) * cellPx;
      const y0 = Math.floor(i / perRow) * cellPx;
      for (let dy = 0; dy < inner; dy++) {
        const row = (y0 + dy) * image.width + x0;
        const edgeRow = dy < border || dy >= inner - border;
        for (let dx = 0; dx < inner; dx++) {
          px[row + dx] = mark !== 0 && (edgeRow || dx < border || dx >= inner - border) ? mark : fill;
        }
      }
    }
    ctx.putImageData(image, 0, 0);
  }
}
