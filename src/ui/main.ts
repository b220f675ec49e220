/**
 * The page: the server's catalog, then one download with its progress, where its bytes came
 * from, and a save button once the whole file is verified. It reads the client's events and
 * stats only.
 */
import { createClient, type ClientDownload } from '../client/create-client.js';
import { isTabswarmError } from '../core/errors.js';
import { catalogSchema } from '../protocol/content-policy.js';
import { ActivityMonitor } from './activity-monitor.js';
import { formatBytes, formatRate, percent } from './format.js';
import { setText } from './dom-update.js';
import { serviceWorkerScope } from '../client/swarm-url.js';
import { showPlayer } from './player.js';
import { saveToAvailable, saveToPickedFile } from './save-to-button.js';
import { showSecureContextNotice } from './secure-context.js';
import { waitingForPeersNote } from './share/receiver-notice.js';
import { SwarmView } from './swarm-view.js';
import { configFromQuery, storeFromQuery } from './url-config.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

// Without a secure context there is no crypto.subtle: the workers hash in WebAssembly instead,
// and the note says what plain HTTP leaves unprotected. Only a browser with neither goes no further.
if (!showSecureContextNotice()) throw new Error('tabswarm needs WebCrypto or WebAssembly to check pieces: see the notice on the page');

// URL parameters override every other setting (src/client/settings.ts), for demos and tests.
const client = createClient({ query: configFromQuery(location.search), store: storeFromQuery(location.search) });
let current: ClientDownload | undefined;
let swarmView: SwarmView | undefined;
const activity = new ActivityMonitor({ chart: $('activity-chart'), bar: $('activity-bar'), legend: $('activity-legend'), figures: $('activity-figures') });
declare global {
  interface Window {
    /** For tests and the curious: the client, the current download and its swarm view. */
    tabswarm: { client: typeof client; current(): ClientDownload | undefined; swarmView(): SwarmView | undefined };
  }
}
window.tabswarm = { client, current: () => current, swarmView: () => swarmView };
setInterval(() => activity.update(client.status()), 1000);
activity.update(client.status());

async function showCatalog(): Promise<void> {
  const list = $('catalog-list');
  try {
    const res = await fetch('/api/catalog');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const catalog = catalogSchema.parse(await res.json());
    list.replaceChildren();
    if (catalog.contents.length === 0) list.append(item('Nothing published yet: tabswarm publish <file> (from a clone: npm run publish-content -- <file>)'));
    for (const c of catalog.contents) {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = `${c.name} (${formatBytes(c.fileSize)})`;
      const a = document.createElement('a');
      a.className = 'button';
      a.href = `#c=${c.contentId}`;
      a.textContent = 'Download';
      li.append(label, a);
      list.append(li);
    }
  } catch (e) {
    list.replaceChildren(item(`Cannot reach the tabswarm server: ${e instanceof Error ? e.message : String(e)}`));
  }
}

function item(text: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'muted';
  li.textContent = text;
  return li;
}

function contentIdFromHash(): string | undefined {
  const m = /[#&]c=([0-9a-f]{64})/.exec(location.hash);
  return m?.[1];
}

async function startDownload(contentId: string): Promise<void> {
  // The Service Worker that plays media while it downloads installs while the content opens
  // (a player asks for it as soon as the type is known). It wakes only for `/swarm/` URLs.
  if (isSecureContext && 'serviceWorker' in navigator) void serviceWorkerScope().catch(() => undefined);
  current?.stop();
  current = undefined;
  $('download').hidden = false;
  $('dl-name').textContent = contentId;
  $('dl-state').textContent = 'Fetching the content policy and metadata…';
  $('dl-error').hidden = true;
  const save = $<HTMLButtonElement>('dl-save');
  save.disabled = true;
  $<HTMLButtonElement>('dl-save-to').disabled = true;
  $<HTMLButtonElement>('dl-save-to').hidden = !saveToAvailable();
  $('dl-save-state').hidden = true;
  try {
    current = await client.download(contentId);
  } catch (e) {
    if (isTabswarmError(e, 'bypassed')) return showBypass(contentId);
    showError(e);
    return;
  }
  const d = current;
  swarmView?.close();
  swarmView = new SwarmView(d, { canvas: $<HTMLCanvasElement>('piece-map'), mapLegend: $('piece-legend'), peers: $<HTMLTableSectionElement>('peer-rows'), log: $<HTMLOListElement>('event-log') });
  // `?playFrom=cdn`: the player plays the CDN's copy (the stream benchmark's reference).
  const fromCdn = new URLSearchParams(location.search).get('playFrom') === 'cdn' ? () => client.bypassUrl(d.content.contentId) : undefined;
  swarmView.setPlayer(showPlayer(d, $('dl-player'), $('dl-player-note'), fromCdn));
  $('swarm').hidden = false;
  $('dl-name').textContent = `${d.content.metadata.name} (${formatBytes(d.content.metadata.fileSize)})`;
  const simple = $('dl-simple');
  simple.hidden = d.download.simpleReason === undefined;
  simple.textContent =
    d.download.simpleReason === undefined
      ? ''
      : `Simple mode: ${d.download.simpleReason}. Downloading from the CDN only, with no peers; without metadata the pieces cannot be verified.`;
  d.download.events.on('error', showError);
  d.download.events.on('state', () => render(d));
  // A few times a second, while the page is seen (a tab in the background draws nothing).
  const timer = setInterval(() => {
    if (current !== d) clearInterval(timer);
    else if (!document.hidden) render(d);
  }, 250);
  render(d);
}

function render(d: ClientDownload): void {
  swarmView?.render();
  if (d.download.simpleReason === undefined) {
    // A classroom share has no CDN copy: say that it waits for the sharer, not that it stalls.
    // A browser without WebRTC downloads from the CDN only: say why no peer shows up.
    const note = waitingForPeersNote(d) ?? (d.peeringOff === undefined ? undefined : `No peers: ${d.peeringOff}.`);
    $('dl-simple').hidden = note === undefined;
    setText($('dl-simple'), note ?? '');
  }
  const s = d.download.snapshot();
  const size = d.content.metadata.fileSize;
  const received = size - d.download.bytesLeft;
  const progress = $<HTMLProgressElement>('dl-progress');
  const fraction = size > 0 ? received / size : 1;
  if (progress.value !== fraction) progress.value = fraction;
  setText($('dl-received'), `${formatBytes(received)} of ${formatBytes(size)}`);
  setText($('dl-peers-bytes'), `${formatBytes(s.bytesFromPeers)} (${percent(s.bytesFromPeers, s.bytesFromPeers + s.bytesFromCdn)})`);
  setText($('dl-cdn-bytes'), formatBytes(s.bytesFromCdn));
  setText($('dl-uploaded'), formatBytes(s.bytesUploaded));
  setText($('dl-peer-count'), String(d.download.connectedPeers));
  setText($('dl-rate'), `↓ ${formatRate(s.downloadBps)} · ↑ ${formatRate(s.uploadBps)}`);
  setText($('dl-rejected'), String(s.piecesRejected));
  const state = d.download.state;
  const simple = d.download.simpleReason !== undefined;
  const peering = simple ? 'simple mode (HTTP only, unverified)' : d.download.peering ? 'peering on' : 'HTTP only, verified';
  const kept = STORE_NAMES[d.download.storeKind ?? ''];
  setText(
    $('dl-state'),
    state === 'complete'
      ? simple
        ? `Complete, not verified (simple mode). SHA-256 ${d.download.fileSha256 ?? ''}`
        : `Complete and verified (whole-file SHA-256 matches).${d.download.peering ? ' Sharing with peers while this page is open.' : ''}`
      : state === 'verifying'
        ? 'Checking the whole file…'
        : `${state[0]!.toUpperCase()}${state.slice(1)} · ${peering}${kept ? ` · pieces kept in ${kept}` : ''}`,
  );
  $<HTMLButtonElement>('dl-save').disabled = state !== 'complete';
  $<HTMLButtonElement>('dl-save-to').disabled = state !== 'complete';
}

/** How the status line names the store a download's pieces are kept in. */
const STORE_NAMES: Record<string, string> = { opfs: 'the browser\'s file system (OPFS)', indexeddb: 'IndexedDB' };

/** Download mode Bypass: tabswarm steps aside and offers the file's own URL to the browser. */
async function showBypass(contentId: string): Promise<void> {
  const url = await client.bypassUrl(contentId);
  $('dl-state').textContent = 'Bypass mode: tabswarm does not download this file; your browser does.';
  const note = $('dl-simple');
  note.hidden = false;
  note.textContent = 'Download mode Bypass (100): no pieces, no peers, no checks by tabswarm. ';
  const link = document.createElement('a');
  link.id = 'dl-bypass';
  link.href = url;
  link.download = '';
  link.textContent = 'Download it with the browser';
  note.append(link);
}

/** A failed save is said where errors are, but the download itself stays complete. */
function showSaveError(e: unknown): void {
  const el = $('dl-error');
  el.hidden = false;
  el.textContent = e instanceof Error ? e.message : String(e);
}

function showError(e: unknown): void {
  showSaveError(e);
  $('dl-state').textContent = 'Failed';
}

$('dl-save').addEventListener('click', async () => {
  if (!current) return;
  const blob = await current.file();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = current.content.metadata.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
});

$('dl-save-to').addEventListener('click', () => {
  if (!current) return;
  $('dl-error').hidden = true;
  void saveToPickedFile(current, $('dl-save-state'), showSaveError);
});

// DO's Get-DeliveryOptimizationPerfSnap with every download's status, as a JSON file.
$('dl-status').addEventListener('click', () => {
  const blob = new Blob([JSON.stringify(client.status(), null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `tabswarm-status-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && current) render(current);
});

window.addEventListener('hashchange', () => {
  const id = contentIdFromHash();
  if (id && id !== current?.download.contentId) void startDownload(id);
});
window.addEventListener('pagehide', () => client.close());

void showCatalog();
const initial = contentIdFromHash();
if (initial) void startDownload(initial);
