/**
 * Dead data channels waiting for their peer to show it is still here. A page that closed (or
 * crashed) dies the same way as a channel killed by an oversized frame, so a death counts only
 * once the peer signals again, or a `peers` list asked for `channelDeathRecheckMs` later still
 * names it. One extra announce per recheck period, whatever the number of deaths.
 */
import { systemClock, type Clock } from '../clock.js';

/** A death the peer has not shown itself again after within this long is forgotten. */
const DEATH_WATCH_MS = 60_000;
/** Deaths waiting at once; the oldest are forgotten beyond this. */
const MAX_DEATHS = 256;

export class DeathWatch {
  private readonly deaths = new Map<string, { at: number; reason: string }>();
  private timer: unknown;

  constructor(
    private readonly recheckMs: number,
    /** Asks the Arrays service for a fresh list (an announce). */
    private readonly recheck: () => void,
    /** The peer showed it is still here: its death counts. */
    private readonly confirmed: (peerId: string, reason: string) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  died(peerId: string, reason: string): void {
    this.deaths.delete(peerId);
    this.deaths.set(peerId, { at: this.clock.now(), reason });
    while (this.deaths.size > MAX_DEATHS) this.deaths.delete(this.deaths.keys().next().value!);
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.recheck();
    }, this.recheckMs);
  }

  /** The peer signaled: if its channel died, that death counts. */
  seen(peerId: string): void {
    const d = this.deaths.get(peerId);
    if (!d) return;
    this.deaths.delete(peerId);
    this.confirmed(peerId, d.reason);
  }

  /** A `peers` list came: deaths it settles are those named after their recheck time, or too old. */
  listed(isListed: (peerId: string) => boolean): void {
    const now = this.clock.now();
    for (const [id, d] of this.deaths) {
      if (now - d.at > DEATH_WATCH_MS) this.deaths.delete(id);
      else if (now - d.at >= this.recheckMs && isListed(id)) this.seen(id);
    }
    // Some still wait: a list that came before their recheck time does not settle them.
    if (this.deaths.size > 0 && this.timer === undefined) {
      const next = Math.min(...[...this.deaths.values()].map((d) => d.at + this.recheckMs - now));
      if (next > 0) this.timer = this.clock.setTimeout(() => ((this.timer = undefined), this.recheck()), next);
    }
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.deaths.clear();
  }
}
