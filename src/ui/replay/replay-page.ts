/**
 * The replay page (replay.html): opens a recorded simulation (issue 18) from a file the user
 * picks or drops, or from `?src=<path>` on this origin, and shows it (replay-view.ts). Bad
 * input of any kind ends as a message on the page, never as an unhandled error.
 */
import { recordingFromFile, recordingFromUrl } from './recording-source.js';
import { ReplayView } from './replay-view.js';
import type { SimRecording } from '../../protocol/sim-recording.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const status = $('replay-status');
const error = $('replay-error');
let view: ReplayView | undefined;

function say(el: HTMLElement, text: string | undefined): void {
  el.textContent = text ?? '';
  el.hidden = text === undefined;
}

/** Opens what `load` gives; a failure keeps the recording already open, if any. */
async function open(what: string, load: () => Promise<SimRecording>): Promise<void> {
  say(error, undefined);
  say(status, `Opening ${what}…`);
  try {
    const rec = await load();
    view?.dispose();
    view = new ReplayView(rec);
    $('replay-open').classList.add('loaded');
    say(status, undefined);
    document.title = `${rec.scenario} · Simulation replay · tabswarm`;
  } catch (e) {
    say(status, undefined);
    // Errors of ours (recording-source, sim-recording, replay) say what is wrong; others are unexpected.
    const known = e instanceof Error && 'kind' in e;
    say(error, `Could not open ${what}: ${known || e instanceof Error ? (e as Error).message : String(e)}`);
    if (!known) console.error(e);
  }
}

function openFile(file: File | undefined): void {
  if (file) void open(file.name, () => recordingFromFile(file));
}

const input = $<HTMLInputElement>('replay-file');
input.addEventListener('change', () => {
  openFile(input.files?.[0]);
  input.value = ''; // the same file again is a change too
});

// A file dropped anywhere on the page opens; the drop zone lights up while one is dragged.
let depth = 0;
document.addEventListener('dragenter', (e) => {
  if (!e.dataTransfer?.types.includes('Files')) return;
  depth++;
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  depth = Math.max(0, depth - 1);
  if (depth === 0) document.body.classList.remove('dragging');
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  depth = 0;
  document.body.classList.remove('dragging');
  openFile(e.dataTransfer?.files[0]);
});

// Space plays and pauses, except where Space already means something (a button, a list, text).
document.addEventListener('keydown', (e) => {
  if (e.code !== 'Space' || !view || e.repeat || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target as HTMLElement | null;
  if (t?.closest('button, select, textarea, a[href], summary, [contenteditable]')) return;
  if (t instanceof HTMLInputElement && t.type !== 'range') return;
  e.preventDefault();
  view.playback.toggle();
});

const src = new URLSearchParams(location.search).get('src');
if (src !== null) void open(src, () => recordingFromUrl(src, location.href));
