/**
 * The body of the answer to `<video src="/swarm/<contentId>/<name>">` (the page streams it to
 * its Service Worker, client/stream-host.ts): bytes
 * [start, end) of a content, read piece by piece while the content downloads. DOM-free: the
 * pieces come through a `StreamPieceSource` (the page's store, asked over messages) and the
 * SHA-256 through `digest`, so Node tests run it as it is.
 *
 * The rule: only verified pieces are ever handed to the player. A piece read from the source
 * is copied into a buffer of the stream's own, that copy is hashed against the metadata, and
 * only that copy is enqueued: whatever the source does with its buffer afterwards (a cache
 * that reuses it, a late write), the player gets exactly the bytes that were hashed.
 */
import { systemClock } from './clock.js';
import { TabswarmError } from './errors.js';
import { toHex } from '../protocol/hex.js';
import { pieceCountOf, pieceLength } from '../protocol/metadata.js';

export interface StreamPieceSource {
  /** The stored bytes of piece `index`, or undefined while it is not stored. May be unverified (the stream checks them). */
  read(index: number): Promise<Uint8Array | undefined>;
  /**
   * Bytes of piece `index` that just came from a peer or the CDN and are not stored yet (each
   * handed out once), if the source kept any: the stream hashes them and uses them if they
   * match, so a player need not wait for the store; if they do not, they are dropped without a
   * word (the download's own check rejects them and blames their source) and the stream waits
   * for the stored piece.
   */
  fresh?(index: number): Uint8Array | undefined;
  /** Resolves when piece `index` may have been stored (or have arrived) since (a notice, or a poll inside the source); rejects when `signal` aborts. */
  waitFor(index: number, signal: AbortSignal): Promise<void>;
  /** The reader now needs bytes from `position` (inclusive) to `end` (exclusive): the page turns this into deadlines. Called at start, on each piece the stream moves to, and throttled otherwise. */
  want(position: number, end: number): void;
  /** A stored piece failed its SHA-256: the owner must drop and fetch it again. */
  corrupt(index: number): void;
  /** The stream ended (done, cancelled or failed). */
  release(): void;
}

export interface PieceStreamOptions {
  layout: { pieceSize: number; fileSize: number };
  /** The metadata's SHA-256 of every piece, lower-case hex. */
  pieceSha256: readonly string[];
  /** First byte of the range. */
  start: number;
  /** End of the range, exclusive (at most the file's size). */
  end: number;
  source: StreamPieceSource;
  /** SHA-256 of `bytes`. Must not detach or change `bytes` (WebCrypto's digest copies them). */
  digest(bytes: Uint8Array): Promise<Uint8Array>;
  /** Bytes the stream may hold that the reader has not taken (default 2 MiB). */
  highWaterMark?: number;
  /** Failed SHA-256 checks of one piece (without a good read between) before the stream fails (default 3). */
  maxCorruptRetries?: number;
  /** Failed reads of one piece (source.read rejecting, without a good read between) before the stream fails (default 3). */
  maxReadErrors?: number;
  /** The clock for throttling `want` (ms; systemClock's by default). */
  now?: () => number;
}

export const DEFAULT_STREAM_HIGH_WATER_MARK = 2 * 1024 * 1024;
/**
 * While the stream waits for a piece, `want` is repeated at most this often. The page's
 * deadlines lapse 10 s after they were set (streamDeadlineTtlMs): a player that still waits
 * renews them well before that; one that went away stops renewing them.
 */
export const WANT_REPEAT_MS = 2000;

/**
 * The stream of bytes [start, end): exactly end - start bytes, then it closes. It errors with
 * a TabswarmError of kind 'stream-failed' when a piece keeps failing its SHA-256 or its reads,
 * or at once when `digest` or `waitFor` fails (other than by cancel()). Throws a RangeError
 * for a range outside the file or hashes that do not fit the layout.
 *
 * A default stream whose queue counts bytes, not a 'bytes' (byte) stream: a byte stream's
 * enqueue transfers the chunk's whole ArrayBuffer (a subarray detaches the piece under it, and
 * a Node Buffer from its shared pool cannot be transferred at all), and its BYOB readers would
 * buy nothing here: the consumer, the browser's Response body, reads with a default reader,
 * and every byte is copied once anyway (see above). Both behave alike in Node 20 and Chromium.
 *
 * Pull-based, one piece per pull: the stream asks for the next piece only while its queue
 * holds less than `highWaterMark` bytes, so at most highWaterMark + one piece are ever read
 * ahead of the reader. When the player's buffer is full the browser stops reading the
 * Response, the queue fills, and the source is asked for nothing more.
 */
export function createPieceStream(o: PieceStreamOptions): ReadableStream<Uint8Array> {
  checkOptions(o);
  const { source, end } = o;
  const { pieceSize } = o.layout;
  const now = o.now ?? (() => systemClock.now());
  const cancelled = new AbortController();
  let position = o.start;
  let wantedIndex = -1;
  let wantedAt = 0;
  let ended = false;

  const finish = () => {
    if (ended) return;
    ended = true;
    source.release();
  };
  const want = (index: number) => {
    wantedIndex = index;
    wantedAt = now();
    source.want(position, end);
  };
  const reader: PieceReader = {
    options: o,
    signal: cancelled.signal,
    wantAgain: (index) => {
      if (now() - wantedAt >= WANT_REPEAT_MS) want(index);
    },
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (position === end) {
          controller.close();
          finish();
          return;
        }
        want(Math.floor(position / pieceSize));
      },
      async pull(controller) {
        const index = Math.floor(position / pieceSize);
        try {
          if (index !== wantedIndex) want(index);
          const piece = await verifiedPiece(reader, index);
          // Only the part inside [start, end): the first and last pieces are trimmed.
          const base = index * pieceSize;
          const chunk = piece.subarray(position - base, Math.min(end, base + piece.byteLength) - base);
          controller.enqueue(chunk);
          position += chunk.byteLength;
          if (position === end) {
            controller.close();
            finish();
          }
        } catch (e) {
          // After cancel() the stream is gone: nothing to report, release() was called.
          if (cancelled.signal.aborted) return;
          controller.error(e instanceof TabswarmError ? e : new TabswarmError('stream-failed', `piece ${index}: ${describe(e)}`, { cause: e }));
          finish();
        }
      },
      cancel() {
        cancelled.abort(new TabswarmError('aborted', 'the player cancelled the stream'));
        finish();
      },
    },
    { highWaterMark: o.highWaterMark ?? DEFAULT_STREAM_HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
}

/** What `verifiedPiece` needs of its stream. */
interface PieceReader {
  options: PieceStreamOptions;
  /** Aborts on cancel(): stops the wait, and every step after an await. */
  signal: AbortSignal;
  /** Renews `want` while waiting, throttled. */
  wantAgain(index: number): void;
}

/**
 * Piece `index`, verified: a copy of the fresh or stored bytes whose SHA-256 matches the metadata's.
 * Waits while it is missing, corrupt (reported to the owner) or unreadable; throws a
 * TabswarmError 'stream-failed' after too many failures, or the abort reason once cancelled.
 */
async function verifiedPiece(r: PieceReader, index: number): Promise<Uint8Array> {
  const { source, layout } = r.options;
  const maxCorrupt = r.options.maxCorruptRetries ?? 3;
  const maxReadErrors = r.options.maxReadErrors ?? 3;
  const length = pieceLength(layout, index);
  let corrupt = 0;
  let readErrors = 0;
  for (;;) {
    const fresh = source.fresh?.(index);
    if (fresh !== undefined && fresh.byteLength === length) {
      const copy = fresh.slice();
      const good = toHex(await r.options.digest(copy)) === r.options.pieceSha256[index];
      r.signal.throwIfAborted();
      if (good) return copy;
    }
    let stored: Uint8Array | undefined;
    try {
      stored = await source.read(index);
    } catch (e) {
      if (++readErrors >= maxReadErrors) throw new TabswarmError('stream-failed', `piece ${index} could not be read (${readErrors} times): ${describe(e)}`, { cause: e });
    }
    r.signal.throwIfAborted();
    if (stored !== undefined) {
      // The copy is what is hashed and what is enqueued: ours alone (see the file's comment).
      const copy = stored.byteLength === length ? stored.slice() : undefined;
      const expected = r.options.pieceSha256[index];
      const good = copy !== undefined && toHex(await r.options.digest(copy)) === expected;
      r.signal.throwIfAborted();
      if (good) return copy;
      source.corrupt(index);
      if (++corrupt >= maxCorrupt) throw new TabswarmError('stream-failed', `piece ${index} failed its SHA-256 check ${corrupt} times in a row`);
    }
    r.wantAgain(index);
    await source.waitFor(index, r.signal);
    r.signal.throwIfAborted();
  }
}

/** The range and layout must make sense: the Service Worker answers 416 before calling this. */
function checkOptions(o: PieceStreamOptions): void {
  const { pieceSize, fileSize } = o.layout;
  if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0 || !Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new RangeError(`invalid layout: pieceSize ${pieceSize}, fileSize ${fileSize}`);
  }
  if (o.pieceSha256.length !== pieceCountOf(fileSize, pieceSize)) {
    throw new RangeError(`${o.pieceSha256.length} piece hashes for ${pieceCountOf(fileSize, pieceSize)} pieces`);
  }
  if (!Number.isSafeInteger(o.start) || !Number.isSafeInteger(o.end) || o.start < 0 || o.start > o.end || o.end > fileSize) {
    throw new RangeError(`invalid range [${o.start}, ${o.end}) of a ${fileSize}-byte file`);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
