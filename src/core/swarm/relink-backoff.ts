/**
 * The relink back-off of a swarm: a peer whose link closed for any reason but a ban is not
 * linked again for `relinkBackoffMs`, doubling with every further close up to
 * `maxRelinkBackoffMs`, both for our offers and for its offers.
 */
import { systemClock, type Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';

/** Peers remembered; the oldest are forgotten beyond this. */
const MAX_RELINK_ENTRIES = 4096;

export class RelinkBackoff {
  /** Peers not to link to before `until` (ms), and how many closes that took. */
  private readonly relink = new Map<string, { until: number; closes: number }>();

  constructor(
    private readonly config: Pick<ClientConfig, 'relinkBackoffMs' | 'maxRelinkBackoffMs'>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Whether a link to `peerId` must wait. */
  waiting(peerId: string): boolean {
    const r = this.relink.get(peerId);
    return r !== undefined && this.clock.now() < r.until;
  }

  /** How long a link to `peerId` must still wait (ms; 0: none). */
  remainingMs(peerId: string): number {
    return Math.max(0, (this.relink.get(peerId)?.until ?? 0) - this.clock.now());
  }

  /** The link to `peerId` closed: the next close makes it wait twice as long as this one. */
  closed(peerId: string): void {
    const { relinkBackoffMs, maxRelinkBackoffMs } = this.config;
    const closes = (this.relink.get(peerId)?.closes ?? 0) + 1;
    const wait = Math.min(maxRelinkBackoffMs, relinkBackoffMs * 2 ** Math.min(closes - 1, 30));
    this.relink.delete(peerId);
    this.relink.set(peerId, { until: this.clock.now() + wait, closes });
    while (this.relink.size > MAX_RELINK_ENTRIES) this.relink.delete(this.relink.keys().next().value!);
  }
}
