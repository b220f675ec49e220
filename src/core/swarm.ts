/**
 * The peer connections of one download: announces to the Arrays service, connects to the
 * peers it hands out, accepts their offers, resolves offer glare, and keeps banned peers out.
 * It knows nothing of pieces: each open link is handed to `onLink`.
 *
 * Who it will not link to:
 * - a banned peer, for the rest of the session (the ban is reported to the Arrays service,
 *   unless it came of a dead channel: `ban`'s `accuse`);
 * - in LAN and group modes, any peer at an address (its WebRTC remote address) where a peer it
 *   banned was: a liar that comes back under a new peer ID is refused, and banned too. An
 *   address that is also this side's own (another tab or browser of the same device) is never
 *   kept: it would take every honest tab of the device with it;
 * - in LAN and group modes, any peer with the origin tag (docs/protocol.md, "Origin tags": the
 *   Arrays service's name for the address it announced from) of a peer it banned for evidence:
 *   refused before any WebRTC set-up, from the list and from its offers, and banned by this
 *   tab alone (not reported: the tab has no evidence against that ID). A tag that is also
 *   this side's own is never kept (a class behind one NAT, the tabs of one device);
 * - a peer whose open channel died under it and that shows it is still here (it signals again,
 *   or is listed `channelDeathRecheckMs` later): that death is handed to `onLinkDied`, which
 *   may strike and ban it; a page that closed is not listed again and is struck by no one;
 * - for a while, a peer whose link closed for any reason but a ban (it was dropped for lagging,
 *   its channel died, it never opened, or we parted as two seeds): `relinkBackoffMs`, doubling
 *   with every further close up to `maxRelinkBackoffMs`, both for our offers and for its offers.
 *   (Two seeds have nothing to trade; a seeder that offers again at every announce would
 *   otherwise cost a WebRTC set-up every few hundred milliseconds.)
 *
 * Cache nodes (listed with `cache: true`) are linked first, may take a link beyond `maxPeers`,
 * and are linked again when their back-off ends (swarm/cache-nodes.ts); the rules above apply
 * to them as to anyone.
 */
import type { SignalData } from '../protocol/arrays-messages.js';
import { systemClock, type Clock } from './clock.js';
import type { PeerLink } from './ports.js';
import type { BannedAddresses } from './swarm/banned-addresses.js';
import { Announcer } from './swarm/announcer.js';
import { CacheNodes } from './swarm/cache-nodes.js';
import { DeathWatch } from './swarm/death-watch.js';
import { OriginBook } from './swarm/origin-book.js';
import { RelinkBackoff } from './swarm/relink-backoff.js';
import { ServiceList } from './swarm/service-list.js';
import { hasRoom } from './swarm/link-room.js';
import type { SwarmOptions } from './swarm/swarm-options.js';

export type { SwarmConfig, SwarmOptions } from './swarm/swarm-options.js';

export { bannedAddresses, type BannedAddresses } from './swarm/banned-addresses.js';

/** Why we closed a link ourselves; undefined while open or when the link closed on its own. */
type Closing = 'ban' | 'drop' | 'release' | 'glare' | 'stop';

interface LinkEntry {
  link: PeerLink;
  initiator: boolean;
  open: boolean;
  closing: Closing | undefined;
  /** The remote's address (WebRTC), once known; only looked up where banned addresses apply. */
  address: string | undefined;
}

export class Swarm {
  private readonly links = new Map<string, LinkEntry>();
  private readonly banned = new Set<string>();
  /** Banned without accusation (`ban`'s `accuse`): never reported, never kept by address. */
  private readonly unaccused = new Set<string>();
  private readonly relink: RelinkBackoff;
  private readonly offs: Array<() => void> = [];
  private readonly announcer: Announcer;
  private stopped = false;
  /** The last `peers` reply: the peers with the bytes they had left then, and our CDN slot. */
  readonly listed = new ServiceList();
  /** Dead channels waiting for their peer to show it is still here. */
  private readonly deaths: DeathWatch;
  /** Origin tags: of listed and signaling peers, our own, and those of peers banned for evidence. */
  private readonly origins = new OriginBook();
  private readonly cacheNodes: CacheNodes;
  private readonly clock: Clock;
  /** When a drop last made it announce (`refillAnnounceMs`). */
  private refilledAt = -Infinity;

  constructor(private readonly opts: SwarmOptions) {
    const clock = (this.clock = opts.clock ?? systemClock);
    this.announcer = new Announcer(opts, clock);
    this.relink = new RelinkBackoff(opts.config, clock);
    this.cacheNodes = new CacheNodes(clock);
    this.deaths = new DeathWatch(opts.config.channelDeathRecheckMs, () => this.announce(), (id, reason) => opts.onLinkDied?.(id, reason), clock);
  }

  start(): void {
    const { signaling, contentId } = this.opts;
    this.offs.push(
      signaling.on('peers', (m) => {
        if (m.contentId !== contentId) return;
        this.announcer.intervalMs = m.intervalMs;
        if (m.origin !== undefined) this.origins.setOwn(m.origin);
        for (const p of m.peers) {
          if (p.origin !== undefined) this.origins.note(p.peerId, p.origin);
          if (p.cache === true) this.cacheNodes.note(p.peerId);
        }
        this.listed.update(m, this.opts.peerId);
        // Before linking: a peer whose dead channel this list confirms is struck (and perhaps
        // banned) first, not offered to.
        this.deaths.listed((id) => this.listed.has(id));
        const complete = this.opts.isComplete?.() === true;
        for (const p of this.cacheNodes.first(m.peers)) if (!(complete && p.left === 0)) this.maybeConnect(p.peerId);
        this.opts.onListed?.(m.cdnSlot?.granted ?? []);
      }),
      signaling.on('signal', (m) => {
        if (m.contentId !== contentId) return;
        if (m.origin !== undefined) this.origins.note(m.from, m.origin);
        this.onSignal(m.from, m.data);
      }),
      signaling.on('open', () => {
        this.announce();
        // The service may have restarted or moved us: tell it our bans again.
        for (const id of this.banned) if (!this.unaccused.has(id)) signaling.ban(contentId, id);
      }),
    );
    this.announce();
  }

  /** Whether this swarm announces at all (swarm/announcer.ts). */
  get announcing(): boolean {
    return this.announcer.announcing;
  }

  /** Announces now and schedules the next announce. */
  announce(): void {
    if (!this.stopped) this.announcer.announce();
  }

  /** We would fetch piece `index` of our CDN slot: ask the service soon (swarm/announcer.ts); the grant comes to `onListed`. */
  claimCdnPiece(index: number): void {
    if (!this.stopped) this.announcer.claim(index);
  }

  /**
   * Closes the peer's link, never connects to it again in this session, and reports the ban
   * to the Arrays service so it stops listing the peer to us. With `accuse` false (evidence that
   * could be an accident: a dead channel) the ban is neither reported nor kept by address: a
   * crashed browser's reopened page must not pay for it.
   */
  ban(peerId: string, accuse = true): void {
    if (this.banned.has(peerId)) return;
    this.banned.add(peerId);
    if (!accuse) {
      this.unaccused.add(peerId);
      return this.closeLink(peerId, 'ban');
    }
    if (!this.stopped) this.opts.signaling.ban(this.opts.contentId, peerId);
    const entry = this.links.get(peerId);
    if (entry?.address !== undefined) this.addressBook?.add(entry.address);
    this.closeLink(peerId, 'ban');
    this.banOrigin(peerId);
  }

  /** Whether this download refuses peers by address (LAN and group modes). */
  private get addressScoped(): boolean {
    const mode = this.opts.config.downloadMode;
    return mode === 'lan' || mode === 'group';
  }

  /**
   * A peer was banned for evidence: its origin tag is kept (unless it is ours), and the other
   * peers linked with that tag are refused at once (two IDs of one liar linked together).
   */
  private banOrigin(peerId: string): void {
    if (!this.addressScoped || !this.origins.ban(peerId)) return;
    for (const id of [...this.links.keys()]) this.refusedByOrigin(id);
  }

  /**
   * Whether `peerId` has the origin tag of a peer banned for evidence; if so it is banned by
   * this tab alone (not reported, not kept by address), before any link is set up to it.
   */
  private refusedByOrigin(peerId: string): boolean {
    if (this.banned.has(peerId)) return false;
    const origin = this.origins.bannedTagOf(peerId);
    if (origin === undefined) return false;
    this.opts.onAddressBan?.(peerId, `origin ${origin}`);
    this.ban(peerId, false);
    return true;
  }

  /**
   * Closes the link to a peer that lagged beyond its last chance; it is not linked again
   * before its relink back-off (`relinkBackoffMs`, doubling) is over. Left with fewer than half
   * of `maxPeers` links, the tab announces at once for others (`refillAnnounceMs`).
   */
  drop(peerId: string): void {
    this.closeLink(peerId, 'drop');
    const { maxPeers, refillAnnounceMs } = this.opts.config;
    const now = this.clock.now();
    if (refillAnnounceMs > 0 && this.links.size < maxPeers / 2 && now - this.refilledAt >= refillAnnounceMs) {
      this.refilledAt = now;
      this.announce();
    }
  }

  /**
   * Closes the link to a peer with no strike (two seeds parting); it is not linked again before
   * its relink back-off: two seeds stay seeds, and each new link would cost both a set-up.
   */
  release(peerId: string): void {
    this.closeLink(peerId, 'release');
  }

  /** Whether a link to `peerId` must wait (relink back-off). */
  backingOff(peerId: string): boolean {
    return this.relink.waiting(peerId);
  }

  private closeLink(peerId: string, why: Closing): void {
    const entry = this.links.get(peerId);
    if (!entry) return;
    entry.closing ??= why;
    this.links.delete(peerId);
    if (why === 'drop' || why === 'release') this.relink.closed(peerId);
    entry.link.close();
    // Dropped for lagging: a cache node is tried again after its back-off (two seeds parting
    // is not a drop: a complete tab needs nothing from it).
    if (why === 'drop') this.relinkCacheNode(peerId);
  }

  /** Whether the Arrays service listed `peerId` as a cache node in this session. */
  readonly isCacheNode = (peerId: string): boolean => this.cacheNodes.has(peerId);

  /**
   * A cache node's link closed, not for a ban: it is linked again as soon as its relink back-off
   * is over (if the last list names it; else the swarm asks for a fresh list).
   */
  private relinkCacheNode(peerId: string): void {
    if (this.stopped || this.banned.has(peerId)) return;
    // A millisecond past the back-off: a timer may fire a little before the clock says it is due.
    this.cacheNodes.relinkAfter(peerId, this.relink.remainingMs(peerId) + 1, () => {
      if (this.stopped || this.banned.has(peerId) || this.links.has(peerId)) return;
      if (this.backingOff(peerId)) return this.relinkCacheNode(peerId);
      const left = this.listed.leftOf(peerId);
      if (left === undefined) return this.announce();
      if (!(left === 0 && this.opts.isComplete?.() === true)) this.maybeConnect(peerId);
    });
  }

  /** Banned addresses apply in LAN and group modes only (internet peers may share one address). */
  private get addressBook(): BannedAddresses | undefined {
    return this.addressScoped ? this.opts.bannedAddresses : undefined;
  }

  /**
   * Peers the Arrays service listed last that were still downloading then and are not
   * banned: the swarm as the service sees it, before every link is up.
   */
  listedDownloaders(): string[] {
    return this.listed.downloaders((id) => this.banned.has(id));
  }

  /** Whether the Arrays service's last list showed `peerId` with nothing left (a seeder). */
  listedAsSeeder(peerId: string): boolean {
    return this.listed.leftOf(peerId) === 0;
  }

  isBanned(peerId: string): boolean {
    return this.banned.has(peerId);
  }

  get bannedPeers(): string[] {
    return [...this.banned];
  }

  get connectedCount(): number {
    let n = 0;
    for (const e of this.links.values()) if (e.open) n++;
    return n;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.announcer.stop();
    this.deaths.stop();
    this.cacheNodes.stop();
    for (const off of this.offs) off();
    this.opts.signaling.leave(this.opts.contentId);
    for (const id of [...this.links.keys()]) this.closeLink(id, 'stop');
  }

  private maybeConnect(remoteId: string): void {
    if (this.stopped || remoteId === this.opts.peerId || this.banned.has(remoteId) || this.links.has(remoteId)) return;
    if (!hasRoom(this.opts.config, remoteId, true, this.links, this.isCacheNode) || this.backingOff(remoteId) || this.refusedByOrigin(remoteId)) return;
    this.track(remoteId, this.opts.connector.connect(remoteId, true), true);
  }

  private onSignal(from: string, data: SignalData): void {
    if (this.stopped || from === this.opts.peerId) return;
    // Signaling again after its channel died: it is still here, so the death counts.
    this.deaths.seen(from);
    if (this.banned.has(from) || this.refusedByOrigin(from)) return;
    const existing = this.links.get(from);
    if (existing?.open && data.type === 'offer') {
      // An offer over a link that is open: the remote dropped its side (its channel died, it
      // restarted). That is a close like any other: the link goes, and the relink back-off
      // applies to the new offer too.
      return existing.link.close();
    }
    if (existing && existing.initiator && data.type === 'offer') {
      // Glare: both sides offered. The lower peer ID keeps its own offer; the other answers.
      if (this.opts.peerId < from) return;
      this.closeLink(from, 'glare');
    } else if (existing) {
      existing.link.signal(data);
      return;
    }
    if (data.type !== 'offer' || this.backingOff(from) || !this.roomFor(from)) return;
    const link = this.opts.connector.connect(from, false);
    this.track(from, link, false);
    link.signal(data);
  }

  /** Whether an offer from `from` can be taken, closing the link `makeRoomFor` names if need be. */
  private roomFor(from: string): boolean {
    const room = () => hasRoom(this.opts.config, from, false, this.links, this.isCacheNode);
    const drop = room() ? undefined : this.opts.makeRoomFor?.(from);
    if (drop !== undefined && this.links.has(drop)) this.release(drop);
    return room();
  }

  private track(remoteId: string, link: PeerLink, initiator: boolean): void {
    const entry: LinkEntry = { link, initiator, open: false, closing: undefined, address: undefined };
    this.links.set(remoteId, entry);
    // A link whose channel never opens (ICE failed, peer vanished) must not hold its slot.
    const timer = this.clock.setTimeout(() => entry.open || link.close(), this.opts.config.connectTimeoutMs);
    link.on('signal', (data) => {
      if (!this.stopped && this.links.get(remoteId) === entry) this.opts.signaling.signal(this.opts.contentId, remoteId, data);
    });
    link.on('open', () => {
      if (this.stopped || this.links.get(remoteId) !== entry) return link.close();
      entry.open = true;
      const book = this.addressBook;
      if (!book || !link.addresses) return this.opts.onLink(link);
      // With no banned address yet the link is used at once, and its address looked up for a
      // later ban; otherwise nothing goes over it before its address is checked.
      const checkFirst = book.size > 0;
      if (!checkFirst) this.opts.onLink(link);
      void link
        .addresses()
        .catch(() => ({ local: [] as string[], remote: undefined }))
        // The same device: nothing to tell a liar from the honest tabs beside it by.
        .then(({ local, remote }) => this.addressKnown(remoteId, entry, remote !== undefined && local.includes(remote) ? undefined : remote, checkFirst));
    });
    link.on('close', ({ reason, died }) => {
      this.clock.clearTimeout(timer);
      if (this.links.get(remoteId) === entry) this.links.delete(remoteId);
      // Closed by the remote, by the transport or by the connect timeout: not at once again.
      if (entry.closing !== undefined) return;
      this.relink.closed(remoteId);
      if (died && entry.open && !this.stopped) this.deaths.died(remoteId, reason);
      this.relinkCacheNode(remoteId);
    });
  }

  /**
   * A link's remote address is known (or cannot be): a peer at a banned address is banned in
   * turn, even if its link is already in use (two IDs of one liar linked at once); a link that
   * waited for the check is handed over when it passes.
   */
  private addressKnown(remoteId: string, entry: LinkEntry, address: string | undefined, waited: boolean): void {
    entry.address = address;
    const book = this.addressBook;
    if (address !== undefined && this.banned.has(remoteId) && !this.unaccused.has(remoteId)) book?.add(address);
    if (this.stopped || this.links.get(remoteId) !== entry) return;
    if (address !== undefined && book?.has(address)) {
      this.opts.onAddressBan?.(remoteId, address);
      return this.ban(remoteId);
    }
    if (waited) this.opts.onLink(entry.link);
  }
}
