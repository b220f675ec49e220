/**
 * The sharer's page (share.html): a teacher drops or picks a file; it is hashed piece by piece
 * in the worker pool, its metadata (built as signaling/publish.ts builds it) is published to
 * the server (POST /api/share), and the page shows the link, a QR code and a join code. Then
 * the tab seeds: the pieces are written to the same piece store the client uses, and a client
 * download of the content finds them all (store.list), checks the whole file and serves it to
 * the receivers, who download from this tab and from each other (download mode Group, the
 * share's own group). No copy of the file goes to the server.
 *
 * The page shows how many receivers have finished (the Arrays service's swarm report) and
 * warns before it is closed while nobody else holds every piece. Without a secure context
 * (plain HTTP on a LAN address) it works the same, hashing in WebAssembly, and says what plain
 * HTTP leaves unprotected (secure-context.ts).
 */
import QRCode from 'qrcode';
import { createClient, type ClientDownload, type TabswarmClient } from '../client/create-client.js';
import { LIMITS } from '../protocol/limits.js';
import { displayJoinCode, shareReplySchema, type ShareReply } from '../protocol/share.js';
import { formatBytes, formatRate } from './format.js';
import { showSecureContextNotice } from './secure-context.js';
import { configFromQuery, storeFromQuery } from './url-config.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

type Phase = 'idle' | 'hashing' | 'publishing' | 'storing' | 'seeding' | 'failed';


interface ShareState {
  phase: Phase;
  fileName: string | undefined;
  contentId: string | undefined;
  joinCode: string | undefined;
  link: string | undefined;
  shortLink: string | undefined;
  groupId: string | undefined;
  /** Receivers with the whole file (in the swarm now). */
  finished: number;
  /** Receivers still downloading. */
  downloading: number;
  /** Whether this tab's own copy is verified and being served. */
  seeding: boolean;
  error: string | undefined;
}

const state: ShareState = {
  phase: 'idle',
  fileName: undefined,
  contentId: undefined,
  joinCode: undefined,
  link: undefined,
  shortLink: undefined,
  groupId: undefined,
  finished: 0,
  downloading: 0,
  seeding: false,
  error: undefined,
};
let client: TabswarmClient | undefined;
let seed: ClientDownload | undefined;

declare global {
  interface Window {
    /** For tests and the curious: the share's state, the seeding client and its download. */
    tabswarmShare: { state(): ShareState; client(): TabswarmClient | undefined; download(): ClientDownload | undefined };
  }
}
window.tabswarmShare = { state: () => ({ ...state }), client: () => client, download: () => seed };

const secure = showSecureContextNotice();

function showError(message: string): void {
  state.error = message;
  state.phase = 'failed';
  const el = $('share-error');
  el.hidden = false;
  el.textContent = message;
}

function setProgress(label: string, done: number, total: number, startedAt: number): void {
  const progress = $<HTMLProgressElement>('share-progress');
  progress.value = total > 0 ? done / total : 1;
  const seconds = (performance.now() - startedAt) / 1000;
  const rate = seconds > 0.2 ? ` · ${formatRate(done / seconds)}` : '';
  $('share-hash-state').textContent = `${label}: ${formatBytes(done)} of ${formatBytes(total)} (${Math.floor((100 * done) / Math.max(1, total))} %)${rate}`;
}

/** The name and type as metadata allows them. */
function nameOf(file: File): { name: string; mimeType: string } {
  const name = (file.name || 'shared-file.bin').slice(0, LIMITS.maxNameLength);
  const mimeType = (file.type || 'application/octet-stream').slice(0, LIMITS.maxMimeLength);
  return { name, mimeType };
}

async function share(file: File): Promise<void> {
  if (state.phase !== 'idle' && state.phase !== 'failed') return;
  $('share-error').hidden = true;
  state.error = undefined;
  if (file.size === 0) return showError(`"${file.name}" is empty: there is nothing to share.`);
  if (file.size > LIMITS.maxFileSize) return showError(`"${file.name}" is ${formatBytes(file.size)}, over the ${formatBytes(LIMITS.maxFileSize)} limit.`);
  const { name, mimeType } = nameOf(file);
  state.fileName = name;
  $('share-pick').hidden = true;
  $('share-hashing').hidden = false;
  $('share-file-name').textContent = `${name} (${formatBytes(file.size)})`;

  // The teacher chose to share: upload even on battery or a metered network. The tab seeds
  // this file only (not what the origin's cache holds), in the share's own group.
  client ??= createClient({
    seedCache: false,
    store: storeFromQuery(location.search),
    query: { ...configFromQuery(location.search), uploadsEnabled: true, noUploadsOnBattery: false, noUploadsOnMetered: false },
  });
  const labels = { hashing: 'Hashing', publishing: 'Publishing', storing: 'Getting the pieces ready to send' } as const;
  let phaseStartedAt = performance.now();
  try {
    state.phase = 'hashing';
    const { seed: download } = await client.share(file, {
      name,
      mimeType,
      onProgress(phase, done, total) {
        if (phase !== state.phase) {
          state.phase = phase;
          phaseStartedAt = performance.now();
          // The file description goes to the server (not the file).
          if (phase === 'publishing') $('share-hash-state').textContent = 'Publishing the file description (not the file) to the server…';
        }
        if (phase !== 'publishing') setProgress(labels[phase], done, total, phaseStartedAt);
      },
      onPublished(reply) {
        Object.assign(state, { contentId: reply.contentId, joinCode: reply.joinCode, link: reply.link, shortLink: reply.shortLink, groupId: reply.groupId });
        void showShare(reply);
      },
    });
    $('share-hashing').hidden = true;
    startSeeding(download);
  } catch (e) {
    showError(`Sharing failed: ${e instanceof Error ? e.message : String(e)}`);
    $('share-pick').hidden = false;
  }
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}

async function showShare(reply: ShareReply): Promise<void> {
  $('share-ready').hidden = false;
  $('share-join').hidden = true;
  // What other devices can open: from localhost, the same link on a LAN address.
  const loopback = isLoopbackHost(location.hostname);
  const forOthers = loopback && reply.lanLinks.length > 0 ? reply.lanLinks[0]! : reply.shortLink;
  $('share-code').textContent = displayJoinCode(reply.joinCode);
  $('share-join-page').textContent = forOthers;
  $<HTMLInputElement>('share-link').value = reply.link;
  const note = $('share-lan-note');
  if (loopback) {
    note.hidden = false;
    note.textContent =
      reply.lanLinks.length > 0
        ? `This page is open at ${location.host}, which only this computer reaches. Other devices use ${reply.lanLinks.join(' or ')}.`
        : `This page is open at ${location.host}, which only this computer reaches. For other devices, open this page at the https:// LAN address the server printed.`;
  }
  $('share-expiry').textContent = `The join code works until ${new Date(reply.expiresAt).toLocaleString()}; the link works as long as this file is shared.`;
  await QRCode.toCanvas($<HTMLCanvasElement>('share-qr'), forOthers, { width: 220, margin: 2, errorCorrectionLevel: 'M' });
}

function startSeeding(download: ClientDownload): void {
  state.phase = 'seeding';
  $('share-seeding').hidden = false;
  $('share-seed-state').textContent = 'Checking the stored file…';
  seed = download;
  seed.on('error', (e) => showError(`This tab cannot share the file: ${e.message}`));
  void seed.done.then(
    () => {
      state.seeding = true;
      render();
    },
    () => undefined,
  );
  setInterval(() => void poll(), 2000);
  setInterval(render, 500);
  render();
}

/** Swarm members of this content from the Arrays service's report: who has finished. */
async function poll(): Promise<void> {
  if (state.contentId === undefined) return;
  try {
    // Its own content's swarm only: the list of every swarm is the operator's (/api/swarms).
    const res = await fetch(`/api/swarm/${state.contentId}`, { cache: 'no-store' });
    if (!res.ok) return;
    const mine = (await res.json()) as { peers?: unknown; seeders?: unknown };
    if (typeof mine.peers !== 'number' || typeof mine.seeders !== 'number') return;
    const self = state.seeding ? 1 : 0;
    state.finished = Math.max(0, mine.seeders - self);
    state.downloading = Math.max(0, mine.peers - mine.seeders - (state.seeding ? 0 : 1));
    render();
  } catch {
    // The next poll tries again.
  }
}

function render(): void {
  if (seed === undefined) return;
  const s = seed.download.snapshot();
  const dlState = seed.download.state;
  $('share-seed-state').textContent = state.seeding
    ? `Sharing ${state.fileName ?? ''} with ${seed.download.connectedPeers} connected device${seed.download.connectedPeers === 1 ? '' : 's'}.`
    : dlState === 'failed'
      ? 'This tab cannot share the file (see the error below).'
      : 'Checking the stored file…';
  $('share-finished').textContent = String(state.finished);
  $('share-downloading').textContent = String(state.downloading);
  $('share-uploaded').textContent = formatBytes(s.bytesUploaded);
  $('share-rate').textContent = formatRate(s.uploadBps);
  const keep = $('share-keep-open');
  if (state.finished > 0) {
    keep.className = 'ok';
    keep.textContent = `${state.finished} device${state.finished === 1 ? ' has' : 's have'} the whole file and share${state.finished === 1 ? 's' : ''} it while ${state.finished === 1 ? 'its' : 'their'} page stays open. Keep this tab open for the others if you can.`;
  } else {
    keep.className = 'warning';
    keep.textContent = 'Keep this tab open: nobody else has the whole file yet.';
  }
}

// Warn before closing while this tab is the only full copy.
window.addEventListener('beforeunload', (event) => {
  const sharing = state.phase === 'storing' || state.phase === 'seeding' || state.phase === 'publishing';
  if (sharing && state.finished < 1) {
    event.preventDefault();
    event.returnValue = '';
  }
});
window.addEventListener('pagehide', () => client?.close());

// Picking and dropping.
const input = $<HTMLInputElement>('share-file');
const drop = $('share-drop');
input.addEventListener('change', () => {
  const file = input.files?.[0];
  if (file) void share(file);
});
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void share(file);
});

$('share-copy').addEventListener('click', () => {
  const field = $<HTMLInputElement>('share-link');
  const button = $<HTMLButtonElement>('share-copy');
  const copied = () => {
    button.textContent = 'Copied';
    setTimeout(() => (button.textContent = 'Copy link'), 2000);
  };
  // The Clipboard API needs a secure context and permission; selecting the text is the fallback.
  const fallback = () => {
    field.select();
    button.textContent = 'Press Ctrl+C';
  };
  if (navigator.clipboard === undefined) fallback();
  else navigator.clipboard.writeText(field.value).then(copied, fallback);
});

// Receivers who have a code.
$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void (async () => {
    const code = $<HTMLInputElement>('join-code').value.replace(/[\s-]/g, '').toUpperCase();
    const error = $('join-error');
    error.hidden = true;
    try {
      const res = await fetch(`/api/join/${encodeURIComponent(code)}`, { cache: 'no-store' });
      if (res.status === 404) throw new Error(`No share has the code "${code}" (codes expire after a day). Check it with the person sharing.`);
      if (!res.ok) throw new Error(`The server answered HTTP ${res.status}.`);
      const parsed = shareReplySchema.safeParse(await res.json());
      if (!parsed.success) throw new Error('The server answered with something that is not a join reply.');
      location.href = parsed.data.link; // the server builds links; the page does not build them again
    } catch (err) {
      error.hidden = false;
      error.textContent = err instanceof Error ? err.message : String(err);
    }
  })();
});

if (!secure) {
  input.disabled = true;
  $('share-pick').hidden = true;
  $('share-join').hidden = true;
}
