/**
 * Origin tags (docs/protocol.md, "Origin tags"): the Arrays service's opaque name for the
 * address a peer announced from, as it lists peers and relays their signals. The tags of peers
 * banned for evidence are kept, but never this tab's own (a class behind one NAT, the tabs of
 * one device), so that another ID with one of them is refused before any WebRTC set-up.
 */

/** Tags remembered (of listed and signaling peers, and banned ones); oldest forgotten first. */
const MAX_ORIGINS = 4096;

export class OriginBook {
  /** The origin tag of each peer the service listed or relayed a signal from lately. */
  private readonly origins = new Map<string, string>();
  /** This tab's own origin tag, from the last `peers` reply (setOwn). */
  private own: string | undefined;
  /** Tags of peers banned for evidence. */
  private readonly banned = new Set<string>();

  note(peerId: string, origin: string): void {
    this.origins.delete(peerId);
    this.origins.set(peerId, origin);
    while (this.origins.size > MAX_ORIGINS) this.origins.delete(this.origins.keys().next().value!);
  }

  /**
   * This tab's own tag, as the service says. A tag banned before it was known (a liar relayed
   * to us before our first `peers` reply) is dropped if it is ours: the tabs of one device or
   * one NAT share it, and an honest one must not be refused for a liar beside it.
   */
  setOwn(origin: string): void {
    this.own = origin;
    this.banned.delete(origin);
  }

  /** `peerId` was banned for evidence: its tag is kept, unless it is unknown or ours. True if kept. */
  ban(peerId: string): boolean {
    const origin = this.origins.get(peerId);
    if (origin === undefined || origin === this.own) return false;
    this.banned.add(origin);
    while (this.banned.size > MAX_ORIGINS) this.banned.delete(this.banned.values().next().value!);
    return true;
  }

  /** The banned tag `peerId` has, if it has one (never our own; none while ours is not known: it may be the same). */
  bannedTagOf(peerId: string): string | undefined {
    if (this.banned.size === 0 || this.own === undefined) return undefined;
    const origin = this.origins.get(peerId);
    return origin !== undefined && origin !== this.own && this.banned.has(origin) ? origin : undefined;
  }
}
