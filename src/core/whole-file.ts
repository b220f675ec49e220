/**
 * The whole-file check, computed while the download runs: SHA-256 over the pieces in index
 * order, fed as pieces are stored.
 *
 * A piece stored when it is the next one in order is hashed from the bytes in hand, so a file
 * that arrives in order is never read back. A piece stored ahead of its turn is kept in a small
 * window while it is close to the front; further ahead it is read back from storage when its
 * turn comes (during the download if the gap before it fills, or at `finish()`). Memory stays
 * under `window + maxInHand` pieces plus two in the feed, whatever the file size.
 *
 * The bytes handed to `stored` belong to this object from then on: they go to the hasher,
 * which may transfer their buffer to a worker.
 */
import { TabswarmError } from './errors.js';
import type { Hasher, StreamingHash } from './ports.js';
import { toHex } from '../protocol/hex.js';

/** Pieces stored ahead of their turn kept in memory rather than read back (1 MiB each by default). */
const DEFAULT_WINDOW = 8;
/**
 * Pieces in hand queued for the hasher. On a busy machine the hash worker falls behind in
 * bursts; reading those pieces back later would cost more than holding them a moment.
 */
const MAX_IN_HAND = 32;

export class WholeFileHash {
  private readonly stream: StreamingHash;
  /** The next piece index to queue for hashing: [0, next) are queued or hashed. */
  private next = 0;
  /** Stored pieces ahead of `next`, kept to spare a read-back. */
  private readonly held = new Map<number, Uint8Array>();
  /** Queued for hashing, in order: bytes in hand, or the index of a piece to read back. */
  private readonly queue: Array<Uint8Array | number> = [];
  /** How many of `queue` are bytes in hand. */
  private inHand = 0;
  private draining: Promise<void> | undefined;
  private error: unknown;
  /** How many pieces were read back from storage rather than hashed from the bytes in hand. */
  readBacks = 0;

  constructor(
    hasher: Hasher,
    private readonly pieceCount: number,
    private readonly readPiece: (index: number) => Promise<Uint8Array | undefined>,
    private readonly isStored: (index: number) => boolean,
    private readonly window = DEFAULT_WINDOW,
    private readonly maxInHand = MAX_IN_HAND,
  ) {
    this.stream = hasher.createStream();
  }

  /** Piece `index` is in storage (and `isStored(index)` now says so); `data` is its bytes, given away. */
  stored(index: number, data: Uint8Array): void {
    if (index < this.next || this.error !== undefined) return;
    if (index === this.next) this.enqueue(this.next++, data);
    else if (index - this.next <= this.window && this.held.size < this.window) this.held.set(index, data);
    // Also picks up pieces stored before this hash existed (a resumed download).
    this.advance(true);
  }

  /** Hashes what is left (every piece must be stored by now) and returns the file's SHA-256 in hex. */
  async finish(): Promise<string> {
    this.advance(true);
    if (this.next < this.pieceCount) throw new TabswarmError('storage-error', `piece ${this.next} is not stored`);
    while (this.draining) await this.draining;
    if (this.error !== undefined) throw this.error;
    return toHex(await this.stream.digest());
  }

  /** Gives up: frees the held pieces and the hash state. */
  close(): void {
    this.error ??= new TabswarmError('aborted', 'the whole-file check was abandoned');
    this.held.clear();
    this.queue.length = 0;
    this.inHand = 0;
    this.stream.close();
  }

  /** Queues every piece from `next` on that is held or (if `readBack`) stored. */
  private advance(readBack: boolean): void {
    while (this.next < this.pieceCount) {
      const held = this.held.get(this.next);
      if (held) this.held.delete(this.next);
      else if (!readBack || !this.isStored(this.next)) return;
      this.enqueue(this.next++, held);
    }
  }

  /** Queues piece `index`: its bytes if given, else a read-back. */
  private enqueue(index: number, data?: Uint8Array): void {
    // Bytes in hand pile up only if the hasher falls far behind: then read them back instead.
    if (data && this.inHand < this.maxInHand) {
      this.inHand++;
      this.queue.push(data);
    } else {
      this.queue.push(index);
    }
    this.kick();
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // Items queued between the loop's last check and this callback.
      if (this.queue.length > 0 && this.error === undefined) this.kick();
    });
  }

  /** Hashes the queue in order, reading the next piece while the current one is hashed. */
  private async drain(): Promise<void> {
    let current: Promise<Uint8Array> | undefined;
    try {
      while (this.error === undefined && (current || this.queue.length > 0)) {
        current ??= this.load(this.queue.shift()!);
        const data = await current;
        current = this.queue.length > 0 ? this.load(this.queue.shift()!) : undefined;
        // If hashing fails, a read still in flight must not reject unobserved.
        current?.catch(() => undefined);
        await this.stream.update(data);
      }
    } catch (e) {
      this.error ??= e;
    }
  }

  private load(item: Uint8Array | number): Promise<Uint8Array> {
    if (typeof item !== 'number') {
      this.inHand--;
      return Promise.resolve(item);
    }
    this.readBacks++;
    return this.readPiece(item).then((data) => {
      if (!data) throw new TabswarmError('storage-error', `piece ${item} vanished from storage`);
      return data;
    });
  }
}
