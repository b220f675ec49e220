/**
 * The piece map: one cell per piece on a canvas, coloured by where the piece came from (the
 * CDN, the cache, or which peer), in flight, missing, or rejected (its last copy failed
 * verification and it is wanted again). It keeps its own record from the download's events,
 * so it shows history the download does not keep (who delivered each piece).
 */
export type CellState = { kind: 'missing' } | { kind: 'cdn' } | { kind: 'store' } | { kind: 'peer'; peerId: string };

/** Colours for peers, in the order they first deliver a piece; reused round-robin. */
const PEER_COLOURS = ['#16a34a', '#0891b2', '#7c3aed', '#db2777', '#65a30d', '#0d9488', '#9333ea', '#e11d48'];

/** A player over the map: the piece under its playhead, and the pieces it has buffered (index ranges, inclusive). */
export interface PlayerOverlay {
  playhead: number | undefined;
  buffered: ReadonlyArray<readonly [number, number]>;
}

export interface PieceCounts {
  missing: number;
  inFlight: number;
  rejected: number;
  cdn: number;
  store: number;
  /** Pieces per peer ID. */
  peers: Record<string, number>;
}

export class PieceMap {
  private readonly cells: CellState[];
  private readonly rejected = new Set<number>();
  private readonly peerColour = new Map<string, string>();

  constructor(readonly pieceCount: number) {
    this.cells = Array.from({ length: pieceCount }, () => ({ kind: 'missing' }) as CellState);
  }

  /** Goes up at every change of a cell (got, reject): what a redraw needs to know. */
  version = 0;

  got(index: number, kind: 'peer' | 'cdn' | 'store', sourceId: string): void {
    if (index < 0 || index >= this.pieceCount) return;
    this.version++;
    this.rejected.delete(index);
    if (kind === 'peer') {
      if (!this.peerColour.has(sourceId)) this.peerColour.set(sourceId, PEER_COLOURS[this.peerColour.size % PEER_COLOURS.length]!);
      this.cells[index] = { kind: 'peer', peerId: sourceId };
    } else {
      this.cells[index] = { kind };
    }
  }

  reject(index: number): void {
    if (index >= 0 && index < this.pieceCount && this.cells[index]!.kind === 'missing') this.rejected.add(index);
    this.version++;
  }

  colourOf(peerId: string): string | undefined {
    return this.peerColour.get(peerId);
  }

  counts(inFlight: ReadonlySet<number>): PieceCounts {
    const c: PieceCounts = { missing: 0, inFlight: 0, rejected: 0, cdn: 0, store: 0, peers: {} };
    this.cells.forEach((cell, i) => {
      if (cell.kind === 'missing') {
        if (inFlight.has(i)) c.inFlight++;
        else if (this.rejected.has(i)) c.rejected++;
        else c.missing++;
      } else if (cell.kind === 'peer') c.peers[cell.peerId] = (c.peers[cell.peerId] ?? 0) + 1;
      else c[cell.kind]++;
    });
    return c;
  }

  /** Draws every cell into `canvas`, sized to its CSS width (square cells, 1 px gaps). */
  draw(
    canvas: HTMLCanvasElement,
    inFlight: ReadonlySet<number>,
    colours: { cdn: string; store: string; missing: string; inFlight: string; rejected: string; player?: string },
    player?: PlayerOverlay,
  ): void {
    const ratio = globalThis.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    const n = Math.max(1, this.pieceCount);
    // The largest cell (4-18 px) that fits every piece in at most ~12 rows, else as many rows as needed.
    const cell = Math.max(4, Math.min(18, Math.floor(Math.sqrt((width * 160) / n))));
    const perRow = Math.max(1, Math.floor(width / cell));
    const rows = Math.ceil(n / perRow);
    // Resized only when the size changes: setting a canvas's width or height allocates its
    // bitmap again, and this runs four times a second for the whole download.
    const pxWidth = Math.round(width * ratio);
    const pxHeight = Math.round(rows * cell * ratio);
    if (canvas.width !== pxWidth || canvas.height !== pxHeight) {
      canvas.style.height = `${rows * cell}px`;
      canvas.width = pxWidth;
      canvas.height = pxHeight;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, rows * cell);
    this.cells.forEach((state, i) => {
      const x = (i % perRow) * cell;
      const y = Math.floor(i / perRow) * cell;
      ctx.fillStyle =
        state.kind === 'peer'
          ? this.peerColour.get(state.peerId)!
          : state.kind === 'cdn'
            ? colours.cdn
            : state.kind === 'store'
              ? colours.store
              : inFlight.has(i)
                ? colours.inFlight
                : this.rejected.has(i)
                  ? colours.rejected
                  : colours.missing;
      ctx.fillRect(x, y, cell - 1, cell - 1);
    });
    if (player) this.drawPlayer(ctx, player, cell, perRow, colours.player ?? '#111');
  }

  /** The player's buffered pieces underlined, and its playhead's piece outlined. */
  private drawPlayer(ctx: CanvasRenderingContext2D, player: PlayerOverlay, cell: number, perRow: number, colour: string): void {
    ctx.fillStyle = colour;
    for (const [from, to] of player.buffered) {
      for (let i = Math.max(0, from); i <= Math.min(to, this.pieceCount - 1); i++) {
        ctx.fillRect((i % perRow) * cell, Math.floor(i / perRow) * cell + cell - 3, cell - 1, 2);
      }
    }
    const i = player.playhead;
    if (i === undefined || i < 0 || i >= this.pieceCount) return;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.strokeRect((i % perRow) * cell + 1, Math.floor(i / perRow) * cell + 1, cell - 3, cell - 3);
  }
}
