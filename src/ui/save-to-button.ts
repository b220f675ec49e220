/**
 * "Save to…": where the browser has the File System Access API (`showSaveFilePicker`: Chromium
 * on desktop, in a secure context), the user picks a file and the verified download is written
 * straight into it (ClientDownload.saveTo), with its progress on the page. Elsewhere the button
 * stays hidden and "Save file" (the browser's own download of the stored file) is the way.
 */
import type { ClientDownload } from '../client/create-client.js';
import { isTabswarmError } from '../core/errors.js';
import type { SaveTarget } from '../client/save-to.js';
import { formatBytes } from './format.js';

type ShowSaveFilePicker = (options?: { suggestedName?: string }) => Promise<{ name: string; createWritable(): Promise<SaveTarget> }>;

function picker(): ShowSaveFilePicker | undefined {
  const f = (window as unknown as { showSaveFilePicker?: ShowSaveFilePicker }).showSaveFilePicker;
  return typeof f === 'function' ? f.bind(window) : undefined;
}

export function saveToAvailable(): boolean {
  return picker() !== undefined;
}

/** Asks where to save `d`'s file and writes it there; reports on `state`, failures through `fail` (the caller clears old ones). */
export async function saveToPickedFile(d: ClientDownload, state: HTMLElement, fail: (e: unknown) => void): Promise<void> {
  const pick = picker();
  if (!pick) return;
  const name = d.content.metadata.name;
  let handle;
  try {
    handle = await pick({ suggestedName: name });
  } catch (e) {
    // The user closed the picker: nothing to say.
    if (e instanceof DOMException && e.name === 'AbortError') return;
    return fail(e);
  }
  state.hidden = false;
  state.textContent = `Saving to ${handle.name}…`;
  const started = performance.now();
  try {
    const writable = await handle.createWritable();
    await d.saveTo(writable, {
      onProgress: (written, size) => {
        state.textContent = `Saving to ${handle.name}: ${formatBytes(written)} of ${formatBytes(size)}`;
      },
    });
    const seconds = (performance.now() - started) / 1000;
    state.textContent = `Saved to ${handle.name} (${formatBytes(d.content.metadata.fileSize)} in ${seconds.toFixed(1)} s).`;
  } catch (e) {
    state.hidden = true;
    if (!isTabswarmError(e, 'save-failed')) return fail(e);
    const cause = e.cause instanceof Error ? e.cause.message : e.message;
    fail(new Error(`Not saved to ${handle.name}, which was left as it was: ${cause}`));
  }
}
