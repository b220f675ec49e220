/**
 * Players' deadlines: for each player (a key: one stream of a service worker, say), the pieces
 * it needs and by when. The scheduler serves the earliest first (Scheduler.pumpDeadlines); what no
 * deadline names is traded rarest first as before. A player's set replaces its previous one
 * (a seek moves every deadline at once) and lapses `ttlMs` after it was set unless renewed,
 * so a player that went away holds no priority.
 */

/** A piece a player needs, and when (ms since the epoch). */
export interface PieceDeadline {
  index: number;
  at: number;
}

interface PlayerWant {
  pieces: PieceDeadline[];
  expiresAt: number;
}

export class Deadlines {
  private readonly players = new Map<string, PlayerWant>();

  constructor(private readonly pieceCount: number) {}

  /**
   * Sets what player `key` needs (replacing what it said before) until `now + ttlMs`. Indexes
   * outside the file and non-finite times are dropped: the set comes from a page's messages.
   */
  set(key: string, pieces: readonly PieceDeadline[], now: number, ttlMs: number): void {
    const valid = pieces.filter((p) => Number.isInteger(p.index) && p.index >= 0 && p.index < this.pieceCount && Number.isFinite(p.at));
    if (valid.length === 0) this.players.delete(key);
    else this.players.set(key, { pieces: valid.map(({ index, at }) => ({ index, at })), expiresAt: now + ttlMs });
  }

  clear(key: string): void {
    this.players.delete(key);
  }

  /** Whether any player has a live deadline (after dropping the lapsed). */
  active(now: number): boolean {
    this.expire(now);
    return this.players.size > 0;
  }

  /**
   * The pieces some player still needs that `missing` says we lack, earliest deadline first
   * (a piece two players need keeps the earlier of their deadlines).
   */
  due(now: number, missing: (index: number) => boolean): PieceDeadline[] {
    this.expire(now);
    const earliest = new Map<number, number>();
    for (const { pieces } of this.players.values()) {
      for (const { index, at } of pieces) {
        if (!missing(index)) continue;
        const was = earliest.get(index);
        if (was === undefined || at < was) earliest.set(index, at);
      }
    }
    return [...earliest].map(([index, at]) => ({ index, at })).sort((a, b) => a.at - b.at || a.index - b.index);
  }

  /** Whether a live deadline of some player names piece `index`. */
  names(index: number, now: number): boolean {
    this.expire(now);
    for (const { pieces } of this.players.values()) if (pieces.some((p) => p.index === index)) return true;
    return false;
  }

  /** When the next player's deadlines lapse (Infinity: none set). */
  nextExpiry(): number {
    let next = Infinity;
    for (const { expiresAt } of this.players.values()) next = Math.min(next, expiresAt);
    return next;
  }

  private expire(now: number): void {
    for (const [key, { expiresAt }] of this.players) if (expiresAt <= now) this.players.delete(key);
  }
}

/**
 * Deadlines for a player reading from byte `position` (up to `end`, exclusive) of a file of
 * `pieceSize` pieces, playing at `bytesPerSec`: each piece from the one under the position on,
 * for at most `readAhead` pieces after it, is due when playback reaches its first byte. The
 * playback position is `playhead` (a byte offset) when the player tells it; else the read
 * position stands for it (the piece under it is due now). A media element reads well ahead of
 * its playhead (it buffers seconds), so with the playhead, what it reads ahead is not urgent.
 */
export function deadlinesFor(o: {
  position: number;
  end: number;
  fileSize: number;
  pieceSize: number;
  bytesPerSec: number;
  now: number;
  readAhead: number;
  playhead?: number | undefined;
}): PieceDeadline[] {
  const end = Math.min(o.end, o.fileSize);
  if (!(o.position >= 0) || !(o.position < end) || !(o.pieceSize > 0)) return [];
  const rate = o.bytesPerSec > 0 ? o.bytesPerSec : 1;
  const first = Math.floor(o.position / o.pieceSize);
  // A playhead past the read position (a seek the reader has not followed yet) counts as the position.
  const playhead = o.playhead !== undefined && Number.isFinite(o.playhead) && o.playhead >= 0 ? Math.min(o.playhead, o.position) : o.position;
  const last = Math.min(Math.ceil(end / o.pieceSize) - 1, first + Math.max(0, Math.floor(o.readAhead)));
  const out: PieceDeadline[] = [];
  for (let i = first; i <= last; i++) {
    const reachedAt = Math.max(0, i * o.pieceSize - playhead);
    out.push({ index: i, at: o.now + (reachedAt / rate) * 1000 });
  }
  return out;
}
