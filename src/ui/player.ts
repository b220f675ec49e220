/**
 * The app's player: a content whose type is audio or video plays while it downloads, from
 * `download.url()` (the Service Worker streams this tab's verified pieces, the ones the player
 * needs first). Where the page has no Service Worker (plain HTTP off localhost), it says so
 * and plays the file once it is complete.
 */
import type { ClientDownload } from '../client/create-client.js';
import { isTabswarmError } from '../core/errors.js';

/** Stops the last player's watch (ClientDownload.watch). */
let unwatch: (() => void) | undefined;

/**
 * Shows a player in `host` for `d` if it is audio or video; returns the element (the swarm view
 * marks its playhead). `straightFrom`: play from this URL instead (the CDN's, for comparison:
 * `?playFrom=cdn`, which the stream benchmark uses as its reference).
 */
export function showPlayer(d: ClientDownload, host: HTMLElement, note: HTMLElement, straightFrom?: () => Promise<string>): HTMLMediaElement | undefined {
  // The player before it (another content opened in this page) is forgotten, so that nothing keeps its removed element.
  unwatch?.();
  unwatch = undefined;
  const type = d.content.metadata.mimeType.toLowerCase();
  const kind = type.startsWith('video/') ? 'video' : type.startsWith('audio/') ? 'audio' : undefined;
  host.querySelector('video, audio')?.remove();
  note.hidden = true;
  host.hidden = kind === undefined;
  if (kind === undefined) return undefined;
  const media = document.createElement(kind);
  media.id = 'dl-media';
  media.controls = true;
  // Muted, so that the browser lets it start by itself; the controls unmute it.
  media.muted = true;
  media.autoplay = true;
  media.preload = 'auto';
  if (media instanceof HTMLVideoElement) media.playsInline = true;
  media.setAttribute('aria-label', `Play ${d.content.metadata.name}`);
  host.prepend(media);
  // Chromium does not start a muted autoplay that is off screen: with a long list of contents
  // above, the player would wait, unseen, for the user to scroll to it. Once it knows its size
  // (the video's height, laid out by the next frame), it is brought into view.
  media.addEventListener('loadedmetadata', () => requestAnimationFrame(() => media.scrollIntoView({ block: 'center' })), { once: true });
  // Its rate spaces the deadlines of the pieces ahead of the playhead.
  unwatch = d.watch(media);
  (straightFrom ? straightFrom() : d.url()).then(
    (url) => {
      media.src = url;
    },
    (e: unknown) => {
      note.hidden = false;
      note.textContent = isTabswarmError(e) && e.kind === 'no-service-worker'
        ? 'Playing while it downloads needs HTTPS or localhost (a Service Worker); it plays here once the whole file is in and verified.'
        : `Cannot play while it downloads: ${e instanceof Error ? e.message : String(e)}. It plays here once the whole file is in and verified.`;
      void d.done.then(async () => {
        media.src = URL.createObjectURL(await d.file());
        // A source set after the element was made does not always start it by itself.
        await media.play().catch(() => undefined);
      }, () => undefined);
    },
  );
  return media;
}
