/**
 * The live swarm view of one download: the piece map, the peer list (per-peer rates, bytes
 * each way, strikes, bans) and an event log (peers joining and leaving, strikes, bans,
 * rejected pieces, simple mode and why, completion). It subscribes to the download's events
 * and reads its status; `render()` redraws (the page calls it a few times a second).
 */
import type { ClientDownload } from '../client/create-client.js';
import { PieceMap, type PlayerOverlay } from './piece-map.js';
import { cssColour, replaceIfChanged } from './dom-update.js';
import { formatBytes, formatRate } from './format.js';

export interface SwarmViewElements {
  canvas: HTMLCanvasElement;
  mapLegend: HTMLElement;
  peers: HTMLTableSectionElement;
  log: HTMLOListElement;
}

const MAX_LOG = 200;

export class SwarmView {
  readonly map: PieceMap;
  private readonly unsubscribe: Array<() => void> = [];
  private mapKey = '';
  /** A player of this download, whose playhead and buffered pieces the map shows. */
  private media: HTMLMediaElement | undefined;

  constructor(
    private readonly d: ClientDownload,
    private readonly el: SwarmViewElements,
  ) {
    this.map = new PieceMap(d.download.pieceCount);
    el.log.replaceChildren();
    const short = (id: string) => (id === 'cdn' ? 'the CDN' : id === 'store' ? 'this tab\'s cache' : `peer ${id.slice(0, 8)}`);
    this.unsubscribe.push(
      d.on('piece', (p) => this.map.got(p.index, p.kind, p.source)),
      d.on('rejected', (r) => {
        this.map.reject(r.index);
        this.log('rejected', `Piece ${r.index} from ${short(r.source)} rejected: ${r.reason}`);
      }),
      d.on('peer', (p) => {
        const text =
          p.event === 'connected'
            ? `${short(p.peerId)} joined`
            : p.event === 'disconnected'
              ? `${short(p.peerId)} left`
              : p.event === 'strike'
                ? `Strike against ${short(p.peerId)}: ${p.reason ?? ''}`
                : p.event === 'dropped'
                  ? `${short(p.peerId)} dropped, not waited for (no strike): ${p.reason ?? ''}`
                  : `${short(p.peerId)} banned: ${p.reason ?? ''}`;
        this.log(p.event, text);
      }),
      d.on('arrays', (a) =>
        this.log(
          'reconnect',
          a.event === 'connected' ? 'Connected to the Arrays service (peer lists and signaling)' : `Lost the Arrays service; reconnecting in ${(Math.max(0, a.retryInMs ?? 0) / 1000).toFixed(1)} s (data channels already open keep going)`,
        ),
      ),
      d.on('complete', (c) => this.log('complete', c.verified ? 'Complete: the whole file matches its SHA-256' : 'Complete, unverified (simple mode)')),
      d.on('error', (e) => this.log('error', `Failed: ${e.message}`)),
    );
    // Pieces that were already stored (a resumed download) are in `have` before any event.
    for (let i = 0; i < d.download.pieceCount; i++) if (d.download.have.has(i)) this.map.got(i, 'store', 'store');
    if (d.download.simpleReason !== undefined) this.log('simple', `Simple mode (HTTP only, no peers, unverified): ${d.download.simpleReason}`);
    else if (!d.download.peering) this.log('http-only', 'HTTP only: this download does not peer (download mode, policy or file size)');
    else this.log('start', 'Looking for peers…');
  }

  close(): void {
    for (const u of this.unsubscribe) u();
  }

  /** Shows `media`'s playhead and buffered pieces on the map (undefined: none). */
  setPlayer(media: HTMLMediaElement | undefined): void {
    this.media = media;
  }

  /** Where the player is, in pieces (bytes taken as proportional to time: a constant-rate file). */
  private playerOverlay(): PlayerOverlay | undefined {
    const m = this.media;
    if (!m || !(m.duration > 0) || !Number.isFinite(m.duration)) return undefined;
    const pieces = this.d.download.pieceCount;
    const at = (t: number) => Math.min(pieces - 1, Math.floor((t / m.duration) * pieces));
    const buffered: Array<[number, number]> = [];
    for (let r = 0; r < m.buffered.length; r++) buffered.push([at(m.buffered.start(r)), at(m.buffered.end(r))]);
    return { playhead: at(m.currentTime), buffered };
  }

  log(kind: string, text: string): void {
    const li = document.createElement('li');
    li.dataset.kind = kind;
    const time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString();
    li.append(time, ` ${text}`);
    this.el.log.prepend(li);
    while (this.el.log.children.length > MAX_LOG) this.el.log.lastElementChild?.remove();
  }

  render(): void {
    const inFlightList = this.d.download.inFlightPieces();
    const inFlight = new Set(inFlightList);
    const player = this.playerOverlay();
    // Redrawn only when a cell, the pieces in flight, the player, the width or the colours changed.
    const mapKey = `${this.map.version}|${inFlightList.join(',')}|${JSON.stringify(player)}|${this.el.canvas.clientWidth}|${cssColour('--cdn')}`;
    if (mapKey !== this.mapKey) {
      this.mapKey = mapKey;
      this.map.draw(
        this.el.canvas,
        inFlight,
        {
          cdn: cssColour('--cdn'),
          store: cssColour('--store'),
          missing: cssColour('--missing'),
          inFlight: cssColour('--inflight'),
          rejected: cssColour('--error'),
          player: cssColour('--playhead'),
        },
        player,
      );
    }
    const c = this.map.counts(inFlight);
    const legend: Array<[string, string, number]> = [
      ['cdn', 'var(--cdn)', c.cdn],
      ['store', 'var(--store)', c.store],
      ...Object.entries(c.peers).map(([id, n]): [string, string, number] => [`peer ${id.slice(0, 8)}`, this.map.colourOf(id) ?? '#888', n]),
      ['in flight', 'var(--inflight)', c.inFlight],
      ['rejected', 'var(--error)', c.rejected],
      ['missing', 'var(--missing)', c.missing],
    ];
    replaceIfChanged(this.el.mapLegend, JSON.stringify(legend), () =>
      legend.map(([label, colour, n]) => {
        const li = document.createElement('li');
        li.dataset.cell = label;
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = colour;
        li.append(swatch, `${label === 'cdn' ? 'CDN' : label === 'store' ? 'cache' : label}: ${n}`);
        return li;
      }),
    );
    const status = this.d.status();
    const peers = status.Peers.filter((p) => p.Connected || p.BytesFrom > 0 || p.BytesTo > 0 || p.Strikes > 0).map((p) => ({
      id: p.PeerId,
      banned: p.Banned,
      cells: [
        // A cache node (DO's Connected Cache) says so: tabs prefer it, and a user sees why.
        p.CacheNode ? `${p.PeerId.slice(0, 8)} · cache node` : p.PeerId.slice(0, 8),
        p.Banned ? 'banned' : p.Connected ? 'connected' : p.Drops > 0 ? 'dropped' : 'gone',
        formatBytes(p.BytesFrom),
        formatBytes(p.BytesTo),
        `↓ ${formatRate(p.DownloadBps)} · ↑ ${formatRate(p.UploadBps)}`,
        String(p.Strikes),
      ],
    }));
    const none = this.d.download.peering ? 'No peers yet.' : 'No peers: this download does not peer.';
    replaceIfChanged(this.el.peers, JSON.stringify([peers, none]), () => {
      const rows = peers.map((p) => {
        const tr = document.createElement('tr');
        if (p.banned) tr.className = 'banned';
        p.cells.forEach((text, i) => {
          const td = document.createElement(i === 0 ? 'th' : 'td');
          if (i === 0) {
            td.setAttribute('scope', 'row');
            const swatch = document.createElement('span');
            swatch.className = 'swatch';
            swatch.style.background = this.map.colourOf(p.id) ?? 'transparent';
            td.append(swatch);
          }
          td.append(text);
          tr.append(td);
        });
        return tr;
      });
      if (rows.length === 0) {
        const tr = document.createElement('tr');
        const td = document.createElement('td');
        td.colSpan = 6;
        td.className = 'muted';
        td.textContent = none;
        tr.append(td);
        rows.push(tr);
      }
      return rows;
    });
  }
}
