/**
 * The page's half of playing while downloading: answers the Service Worker's `open` for a
 * content this tab downloads or seeds (src/sw/sw.ts, src/protocol/sw-messages.ts) with the
 * response head (src/protocol/swarm-response.ts) and then, one chunk per pull, the bytes of
 * the asked range from a piece stream (src/core/piece-stream.ts), which hashes every piece
 * it reads against the metadata before a byte of it leaves: the player never gets an
 * unverified byte, even from a store changed under us.
 *
 * While a range is read, its pieces get deadlines (Download.setDeadlines): the piece under the
 * read position now, each later one when playback at the media's rate reaches it, so the
 * scheduler fetches them first (from a peer in time, else the CDN). They lapse when the stream
 * ends, or by themselves if the page goes away.
 */
import type { Download } from '../core/download.js';
import { deadlinesFor } from '../core/download/deadlines.js';
import { createPieceStream, type StreamPieceSource } from '../core/piece-stream.js';
import { SW_KEEPALIVE, swOpenSchema, workerToPageSchema, type PageToWorker, type SwOpen } from '../protocol/sw-messages.js';
import { swarmResponseHead } from '../protocol/swarm-response.js';
import type { MediaPlayer } from './client-download.js';

export interface StreamHostDeps {
  /** This tab's verified download or seed of a content, if any. */
  find(contentId: string): Download | undefined;
  /** A player of `contentId` in this tab, if one told its rate and playhead (ClientDownload.watch). */
  player?(contentId: string): MediaPlayer | undefined;
  /** SHA-256 (WebCrypto in the page). */
  digest(bytes: Uint8Array): Promise<Uint8Array>;
  /**
   * Reads a stored piece straight from the store (a fresh OPFS File slice, or IndexedDB), not
   * through the content's worker, whose queue of pieces to hash and write would hold a player's
   * read back by a hundred milliseconds and more while the download runs.
   */
  readStored(storageId: string, index: number): Promise<Uint8Array | undefined>;
  log?(message: string): void;
}

/** How often the page tells the worker it is still needed while it streams (its idle limit is about 30 s). */
const KEEPALIVE_MS = 10_000;
/** A stream whose worker has not pulled for this long is ended (a paused player pulls nothing; the worker gives up on a chunk after 120 s too). */
const IDLE_STREAM_MS = 120_000;

let streams = 0;

/** Starts answering the worker; returns the function that stops it. A page without Service Workers gets a no-op. */
export function startStreamHost(deps: StreamHostDeps): () => void {
  const container = typeof navigator === 'undefined' ? undefined : navigator.serviceWorker;
  if (!container) return () => undefined;
  let open = 0;
  const keepalive = setInterval(() => {
    if (open > 0) container.controller?.postMessage({ type: SW_KEEPALIVE });
  }, KEEPALIVE_MS);
  const onMessage = (e: MessageEvent) => {
    const parsed = swOpenSchema.safeParse(e.data);
    const port = e.ports[0];
    if (!parsed.success || !port) return;
    open++;
    void serve(deps, parsed.data, port).finally(() => open--);
  };
  container.addEventListener('message', onMessage);
  // Messages to a page are queued until it starts them (a page that registers late still gets them).
  container.startMessages?.();
  return () => {
    clearInterval(keepalive);
    container.removeEventListener('message', onMessage);
  };
}

/** One request: the head, then chunks until the range is sent, the worker cancels or the download fails. */
async function serve(deps: StreamHostDeps, req: SwOpen, port: MessagePort): Promise<void> {
  const post = (m: PageToWorker, transfer: Transferable[] = []) => port.postMessage(m, transfer);
  const download = deps.find(req.contentId);
  if (!download) {
    post({ t: 'absent' });
    return port.close();
  }
  const { metadata } = download;
  const head = swarmResponseHead({ method: req.method, size: metadata.fileSize, mimeType: metadata.mimeType, name: metadata.name, contentId: req.contentId, range: req.range, ifRange: req.ifRange });
  post({ t: 'head', status: head.status, headers: head.headers });
  if (head.start >= head.end) {
    // No body (an empty file, HEAD, 416): a worker that pulls anyway is told the end.
    post({ t: 'end' });
    return port.close();
  }
  const key = `stream:${++streams}`;
  const stream = createPieceStream({
    layout: { pieceSize: metadata.pieceSize, fileSize: metadata.fileSize },
    pieceSha256: metadata.pieceSha256,
    start: head.start,
    end: head.end,
    digest: deps.digest,
    source: pieceSource(download, key, () => deps.player?.(req.contentId), deps.readStored),
  });
  const reader = stream.getReader();
  await new Promise<void>((resolve) => {
    // A port gives no sign when the worker at its other end is gone (stopped, or the player
    // dropped without a cancel): a stream not pulled for this long is ended here.
    let idle: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      clearTimeout(idle);
      void reader.cancel();
      port.close();
      resolve();
    };
    const rearm = () => {
      clearTimeout(idle);
      idle = setTimeout(stop, IDLE_STREAM_MS);
    };
    rearm();
    port.onmessage = (e: MessageEvent) => {
      const m = workerToPageSchema.safeParse(e.data);
      if (!m.success) return;
      if (m.data.t === 'cancel') return stop();
      rearm();
      reader.read().then(
        ({ value, done }) => {
          if (done) {
            clearTimeout(idle);
            post({ t: 'end' });
            port.close();
            return resolve();
          }
          // Each chunk is a buffer of the stream's own (piece-stream.ts), so it can be transferred.
          post({ t: 'chunk', bytes: value as Uint8Array<ArrayBuffer> }, [value.buffer as ArrayBuffer]);
        },
        (e: unknown) => {
          deps.log?.(`stream of ${req.contentId.slice(0, 12)}… failed: ${String(e)}`);
          clearTimeout(idle);
          post({ t: 'error', message: String(e instanceof Error ? e.message : e).slice(0, 500) });
          port.close();
          resolve();
        },
      );
    };
  });
}

/** Fresh pieces ('arrived') a stream keeps, from the one it reads on: a piece ahead of the one the player waits for may come first. */
const FRESH_PIECES = 4;

/** The piece stream's view of a download: its stored pieces, the bytes of those it wants as they come, its 'piece' events, its deadlines. */
function pieceSource(download: Download, key: string, player: () => MediaPlayer | undefined, readStored: StreamHostDeps['readStored']): StreamPieceSource {
  const { metadata } = download;
  const fresh = new Map<number, Uint8Array>();
  let readingIndex = 0;
  const offArrived = download.events.on('arrived', ({ index, bytes }) => {
    if (index >= readingIndex && index < readingIndex + FRESH_PIECES) fresh.set(index, bytes);
  });
  return {
    // Only what the download holds (verified when stored; the stream checks it again).
    read: async (index) => (download.have.has(index) ? readStored(download.storageId, index) : undefined),
    fresh(index) {
      const bytes = fresh.get(index);
      fresh.delete(index);
      return bytes;
    },
    waitFor(index, signal) {
      return new Promise<void>((resolve, reject) => {
        if (download.have.has(index)) return resolve();
        /** Ends the wait once: unsubscribes everything, then settles. */
        const finish = (settle: () => void) => {
          offPiece();
          offArrived();
          offState();
          signal.removeEventListener('abort', aborted);
          clearTimeout(timer);
          settle();
        };
        const offPiece = download.events.on('piece', (p) => {
          if (p.index === index) finish(resolve);
        });
        const offArrived = download.events.on('arrived', (p) => {
          if (p.index === index) finish(resolve);
        });
        // A download that fails or stops will not store it: the stream reads again and decides.
        const offState = download.events.on('state', () => finish(resolve));
        const aborted = () => finish(() => reject(signal.reason));
        signal.addEventListener('abort', aborted);
        // Also look again now and then: a piece stored by another tab of the origin raises no event here.
        const timer = setTimeout(() => finish(resolve), 1000);
      });
    },
    want(position, end) {
      readingIndex = Math.floor(position / metadata.pieceSize);
      for (const index of fresh.keys()) if (index < readingIndex || index >= readingIndex + FRESH_PIECES) fresh.delete(index);
      const config = download.streamConfig;
      const p = player();
      download.setDeadlines(
        key,
        deadlinesFor({
          position,
          end,
          fileSize: metadata.fileSize,
          pieceSize: metadata.pieceSize,
          bytesPerSec: p?.bytesPerSec() ?? config.streamFallbackBytesPerSec,
          playhead: p?.playhead(),
          now: Date.now(),
          readAhead: config.streamReadAheadPieces,
        }),
      );
    },
    corrupt: (index) => download.storedPieceCorrupt(index),
    release: () => {
      offArrived();
      fresh.clear();
      download.setDeadlines(key, []);
    },
  };
}
