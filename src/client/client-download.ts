/**
 * What `client.download()` hands back: one download seen from the page or the embedding site.
 * Progress events (at each stored piece, and every 250 ms), `done`, DO's status, the verified
 * file as a Blob or a stream read one piece at a time from storage, and abort. The client
 * (create-client.ts) ties it to its cache and seeding limit through the hooks of
 * `ClientDownloadHooks`; this file knows nothing of either.
 */
import type { Download, DownloadEvents, DownloadState } from '../core/download.js';
import { Emitter } from '../core/emitter.js';
import { TabswarmError } from '../core/errors.js';
import type { OpenedContent } from '../core/open-content.js';
import type { Signaling } from '../core/ports.js';
import type { DownloadStatus } from '../core/status.js';
import { blobSlices, saveTo, type SaveProgress, type SaveTarget } from './save-to.js';

/** What `on('progress')` reports, at most every 250 ms and at each stored piece. */
export interface Progress {
  fileSize: number;
  /** Bytes stored so far (from peers, the CDN or the cache). */
  bytesDone: number;
  bytesFromPeers: number;
  bytesFromCdn: number;
  downloadBps: number;
  uploadBps: number;
  state: DownloadState;
}

export interface ClientDownloadEvents extends DownloadEvents {
  progress: Progress;
  /** The connection to this download's Arrays service: lost (retried in `retryInMs`) or back. */
  arrays: { event: 'connected' | 'disconnected'; retryInMs?: number };
}

export interface ClientDownload {
  readonly download: Download;
  readonly content: OpenedContent;
  /** Why this download does not peer although its mode and policy would (no WebRTC in this browser), if so. */
  readonly peeringOff: string | undefined;
  /** Subscribes to 'progress', 'state', 'piece', 'rejected', 'peer', 'complete', 'error' or 'arrays'; returns the unsubscribe function. */
  on<K extends keyof ClientDownloadEvents>(event: K, listener: (payload: ClientDownloadEvents[K]) => void): () => void;
  /** Resolves when the file is complete and verified; rejects with a TabswarmError if it fails or is aborted. */
  readonly done: Promise<void>;
  /** DO's status record of this download (Get-DeliveryOptimizationStatus). */
  status(): DownloadStatus;
  /** The verified file as a Blob (disk-backed pieces), once complete. */
  blob(): Promise<Blob>;
  /** The verified file as a stream of its pieces in order, read one at a time from storage, once complete. */
  stream(): ReadableStream<Uint8Array>;
  /** The verified file, now; rejects unless complete. */
  file(): Promise<Blob>;
  /**
   * Writes the verified file into `target` (a `FileSystemWritableFileStream` from
   * `showSaveFilePicker`) a part at a time, then closes it; rejects unless complete. On failure
   * the target is aborted (left as it was) and the rejection has kind 'save-failed'.
   */
  saveTo(target: SaveTarget, options?: { onProgress?: SaveProgress; signal?: AbortSignal }): Promise<void>;
  /**
   * A URL that plays the file while it downloads (`<video src>`, `<audio src>`, `<img src>`, a
   * link), served by tabswarm's Service Worker from this tab's verified pieces, the ones a
   * player needs first. Registers the worker the first time; rejects with kind
   * 'no-service-worker' where there is none (a page not on HTTPS or localhost). The URL is
   * answered while a page of the origin has this download open: a link followed in this same
   * tab unloads the page that answers it (open it in a new tab instead).
   */
  url(): Promise<string>;
  /**
   * Tells the player's deadlines the media's rate: `media` (playing `url()`) gives the file's
   * bytes per second of playback (its size over its duration, times the playback rate), so
   * the pieces ahead of the playhead are due when playback will reach them. Without it they
   * are spaced at `streamFallbackBytesPerSec`. Returns the function that stops watching.
   */
  watch(media: HTMLMediaElement): () => void;
  /** Stops the download and its seeding; `done` rejects with kind 'aborted' if it was not complete. */
  abort(): void;
  /** The same as abort(). */
  stop(): void;
}

/** What a player tells of itself (undefined: not known yet). */
export interface MediaPlayer {
  bytesPerSec(): number | undefined;
  playhead(): number | undefined;
}

/** What a ClientDownload needs of its client. */
export interface ClientDownloadHooks {
  store: {
    get(storageId: string, index: number): Promise<Uint8Array | undefined>;
    assemble(storageId: string, pieceCount: number, mimeType: string): Promise<Blob>;
  };
  /** Aborts the download, as `abort()`. */
  signal: AbortSignal | undefined;
  /** The download's Arrays connection, for the 'arrays' events. */
  signaling: Signaling | undefined;
  peeringOff: string | undefined;
  status(): DownloadStatus;
  /** The download completed, failed or stopped (once). */
  ended(): void;
  /** A piece was stored; `bytesDone` of the file are now. */
  stored(bytesDone: number): void;
  completed(): void;
  /** The caller aborted it. */
  aborted(): void;
  /** The URL its Service Worker plays it at (ClientDownload.url). */
  url(): Promise<string>;
  /** A player of it (ClientDownload.watch): its rate in bytes per second of playback and its playhead as a byte offset; undefined: none. */
  setPlayer(player: MediaPlayer | undefined): void;
}

/** Wraps `download` (not started) and starts it. */
export function createClientDownload(download: Download, content: OpenedContent, hooks: ClientDownloadHooks): ClientDownload {
  const events = new Emitter<ClientDownloadEvents>();
  const unsubscribe = [
    hooks.signaling?.on('open', () => events.emit('arrays', { event: 'connected' })),
    hooks.signaling?.on('closed', ({ retryInMs }) => events.emit('arrays', { event: 'disconnected', retryInMs })),
  ];
  const forward = <K extends keyof DownloadEvents>(name: K) => download.events.on(name, (p) => events.emit(name, p as ClientDownloadEvents[K]));
  (['state', 'piece', 'rejected', 'peer', 'complete', 'error'] as const).forEach(forward);
  const fileSize = content.metadata.fileSize;
  const progress = (): Progress => {
    const s = download.snapshot();
    return {
      fileSize,
      bytesDone: fileSize - download.bytesLeft,
      bytesFromPeers: s.bytesFromPeers,
      bytesFromCdn: s.bytesFromCdn,
      downloadBps: s.downloadBps,
      uploadBps: s.uploadBps,
      state: download.state,
    };
  };
  let lastProgressAt = 0;
  download.events.on('piece', () => {
    lastProgressAt = Date.now();
    const p = progress();
    events.emit('progress', p);
    hooks.stored(p.bytesDone);
  });
  download.events.on('complete', () => hooks.completed());
  const ticker = setInterval(() => {
    if (Date.now() - lastProgressAt >= 250) events.emit('progress', progress());
  }, 250);
  const done = new Promise<void>((resolve, reject) => {
    download.events.on('state', (state) => {
      if (state === 'complete' || state === 'failed' || state === 'stopped') {
        hooks.ended();
        clearInterval(ticker);
        events.emit('progress', progress());
      }
      if (state === 'complete') resolve();
      else if (state === 'failed') reject(download.error ?? new TabswarmError('aborted', 'the download failed'));
      else if (state === 'stopped') reject(new TabswarmError('aborted', 'the download was stopped'));
    });
  });
  done.catch(() => undefined); // a caller that never awaits `done` must not see an unhandled rejection
  const abort = () => {
    for (const u of unsubscribe) u?.();
    download.stop();
    hooks.aborted();
  };
  hooks.signal?.addEventListener('abort', abort, { once: true });
  void download.start();
  const assemble = () => hooks.store.assemble(download.storageId, download.pieceCount, content.metadata.mimeType);
  const requireComplete = () => {
    if (download.state !== 'complete') throw new TabswarmError('aborted', `the download is ${download.state}, not complete`);
  };
  /** The stored pieces in order, one read at a time. */
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < download.pieceCount; i++) {
      const piece = await hooks.store.get(download.storageId, i);
      if (!piece) throw new TabswarmError('storage-error', `piece ${i} of ${download.contentId} is missing from storage`);
      yield piece;
    }
  }
  return {
    download,
    content,
    peeringOff: hooks.peeringOff,
    done,
    on: (event, listener) => events.on(event, listener),
    status: hooks.status,
    async blob() {
      await done;
      return assemble();
    },
    stream() {
      const it = pieces();
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            await done;
            const next = await it.next();
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          },
        },
        { highWaterMark: 1 },
      );
    },
    async file() {
      requireComplete();
      return assemble();
    },
    async saveTo(target, options) {
      requireComplete();
      // OPFS: slices of the disk-backed file, copied by the browser file to file. IndexedDB
      // (and memory): its pieces, one at a time (a Blob of them would be built on disk first).
      const parts = download.storeKind === 'opfs' ? blobSlices(await assemble()) : pieces();
      await saveTo(target, parts, content.metadata.fileSize, options);
    },
    url: () => hooks.url(),
    watch(media) {
      // Bytes per second of playback: the file over its duration (a constant-rate file), times the playback rate.
      const perSecond = () => {
        const seconds = media.duration;
        return Number.isFinite(seconds) && seconds > 0 ? fileSize / seconds : undefined;
      };
      hooks.setPlayer({
        bytesPerSec: () => {
          const rate = perSecond();
          return rate === undefined ? undefined : rate * (media.playbackRate > 0 ? media.playbackRate : 1);
        },
        playhead: () => {
          const rate = perSecond();
          return rate === undefined ? undefined : Math.min(fileSize, media.currentTime * rate);
        },
      });
      return () => hooks.setPlayer(undefined);
    },
    abort,
    stop: abort,
  };
}
