/**
 * A download's peers: one PeerSession per open link, which of them count in the piece book's
 * availability (useful: trusted, healthy, not behind, not slow), strikes and bans, drops of
 * peers that miss their deadlines, and closing links between two seeds.
 */
import type { Bandwidth } from '../bandwidth.js';
import type { Clock } from '../clock.js';
import type { ClientConfig } from '../config.js';
import type { Emitter } from '../emitter.js';
import { PeerSession } from '../peer-session.js';
import type { PeerLink } from '../ports.js';
import type { DownloadStats } from '../stats.js';
import type { Swarm } from '../swarm.js';
import type { PieceBook } from './piece-book.js';
import type { DownloadEvents, PeerDiagnostics } from './types.js';
import { pieceLength, type Metadata } from '../../protocol/metadata.js';
import type { BufferPool } from '../buffer-pool.js';
import { FirstCopies } from '../first-copies.js';
import { UploadTurns } from '../upload-turns.js';

export interface PeerPoolDeps {
  book: PieceBook;
  stats: DownloadStats;
  events: Emitter<DownloadEvents>;
  config: ClientConfig;
  metadata: Metadata;
  /** The sessions' time and timers. */
  clock: Clock;
  contentIdBytes: Uint8Array;
  /** Whether a CDN can take over from slow or behind peers. */
  hasCdn: boolean;
  swarm: () => Swarm | undefined;
  /** Reads a stored piece for a peer, re-verified (serving.ts). */
  servePiece: (index: number) => Promise<Uint8Array | undefined>;
  uploads: Bandwidth | undefined;
  /** Where received pieces are assembled (core/buffer-pool.ts); absent: a new buffer each. */
  buffers: BufferPool | undefined;
  isStopped: () => boolean;
}

export class PeerPool {
  readonly sessions = new Map<string, PeerSession>();
  /**
   * Peers slower per piece than `slowPeerBytesPerSec` (with hysteresis: they leave the set
   * above 1.5 times that). Still asked for pieces, within their window; but the pieces only
   * they hold go to the CDN, so a slow peer does not set the download's pace.
   */
  private readonly slow = new Set<PeerSession>();
  /** Peers with a strike on evidence (not a dead channel): their ban is reported. As many as the stats' peers. */
  private readonly accused = new Set<string>();

  /** Whose turn it is to upload (`uploadSlots`; 0: every session sends whenever asked). */
  private readonly turns: UploadTurns | undefined;
  /** Pieces granted to us from the CDN (a big swarm's only copies) that no peer holds yet: sent first. */
  readonly firstCopies: FirstCopies;

  constructor(private readonly d: PeerPoolDeps) {
    this.turns = d.config.uploadSlots > 0 ? new UploadTurns(d.config.uploadSlots) : undefined;
    this.firstCopies = new FirstCopies(d.book.have, (i) => d.book.availability[i]! > 0, () => d.config.firstCopyPaceMs);
  }

  /** Every session as the scheduler sees it, in plain data. */
  diagnostics(): PeerDiagnostics[] {
    return [...this.sessions.values()].map((s) => ({
      peerId: s.id,
      ready: s.ready,
      healthy: s.healthy,
      trusted: s.pace.isTrusted,
      inFlight: s.inFlight,
      freeSlots: s.freeSlots(),
      remoteHas: s.remoteHave.cardinality,
      cache: this.isCache(s),
    }));
  }

  get connectedCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.ready) n++;
    return n;
  }

  /** A link opened: a session over it, its events wired to the book, stats and strikes. */
  link(link: PeerLink): void {
    const { d } = this;
    if (d.isStopped()) return link.close();
    const session = new PeerSession(
      link,
      {
        contentId: d.contentIdBytes,
        pieceCount: d.book.pieceCount,
        pieceLength: (i) => pieceLength(d.metadata, i),
        have: d.book.have,
        // Served pieces are hashed again (docs/cache.md): the store may have changed since.
        readPiece: d.servePiece,
        firstCopies: this.firstCopies,
        uploads: d.uploads,
        clock: d.clock,
        ...(d.buffers ? { buffers: d.buffers } : {}),
        ...(this.turns ? { turns: this.turns } : {}),
      },
      // With no CDN there is nothing better to go to: a peer is waited for down to a quarter of
      // the minimum rate (a stalled one still is not).
      d.hasCdn ? d.config : { ...d.config, minPeerBytesPerSec: d.config.minPeerBytesPerSec / 4 },
    );
    this.sessions.set(session.id, session);
    const peerStats = d.stats.peer(session.id);
    // A peer that delivered verified pieces over an earlier link is no stranger.
    if (peerStats.piecesFrom > 0) session.pace.trust();
    peerStats.connected = true;
    d.events.emit('peer', { peerId: session.id, event: 'connected' });
    session.events.on('ready', () => {
      this.recount(session);
      if (this.dropIfBothSeeds(session)) return;
      d.book.changed();
    });
    session.events.on('have', (i) => {
      d.book.gained(session, i);
      if (this.dropIfBothSeeds(session)) return;
      d.book.changed();
    });
    session.events.on('violation', (reason) => this.strike(session.id, reason));
    // A peer that refuses a piece (uploads off, storage failing) no longer holds it for us: the
    // piece may then come from the CDN.
    session.events.on('refused', (i) => {
      d.book.lost(session, i);
      d.book.changed();
    });
    session.events.on('missed', ({ drop }) => {
      peerStats.timeouts++;
      if (drop) this.dropPeer(session, 'missed its deadlines');
    });
    session.events.on('uploaded', (bytes) => d.stats.uploaded(session.id, bytes));
    session.events.on('closed', () => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
      this.uncount(session);
      peerStats.connected = false;
      d.events.emit('peer', { peerId: session.id, event: 'disconnected' });
      d.book.changed();
    });
    session.start();
  }

  /**
   * Re-evaluates which peers lag (PeerPace): a peer that starts lagging stops counting in
   * availability, one that completed a piece counts again. Returns when the next peer may
   * start lagging (Infinity: none).
   */
  checkPace(): number {
    let next = Infinity;
    for (const session of this.sessions.values()) {
      if (!session.ready) continue;
      session.checkPace();
      if (this.useful(session) !== this.d.book.isCounted(session)) this.recount(session);
      next = Math.min(next, session.nextPaceCheckAt());
    }
    return next;
  }

  /** Counts (or stops counting) the session's pieces in availability, as its health says. */
  private recount(session: PeerSession): void {
    if (this.useful(session) && this.sessions.get(session.id) === session) this.d.book.count(session);
    else this.uncount(session);
  }

  /**
   * Healthy, trusted (it delivered a verified piece: a stranger's claims count for nothing yet),
   * not behind (its last deadline missed) and not slow (see `slow`).
   */
  private useful(session: PeerSession): boolean {
    if (!session.healthy || !session.pace.isTrusted) return false;
    // A peer that missed its last deadline (and completed nothing since) is asked again, but
    // what it holds goes to faster sources meanwhile.
    if (this.d.hasCdn && session.pace.missedLast) return false;
    const rate = session.pace.bytesPerSec;
    // No CDN to take over: nobody is too slow. A peer not measured yet is not slow.
    if (!this.d.hasCdn || rate === 0) return !this.slow.has(session);
    const threshold = this.d.config.slowPeerBytesPerSec;
    if (rate < threshold) this.slow.add(session);
    else if (rate > 1.5 * threshold) this.slow.delete(session);
    return !this.slow.has(session);
  }

  /** Whether `session` is in the slow set (see `slow`): slower per piece than `slowPeerBytesPerSec`. */
  isSlow(session: PeerSession): boolean {
    return this.slow.has(session);
  }

  private uncount(session: PeerSession): void {
    this.slow.delete(session);
    this.d.book.uncount(session);
  }

  /**
   * Drops a peer whose missed deadlines halved its window to nothing: the link is closed, and
   * the swarm will not link to it again for a while (Swarm.drop). Not a strike: slow is not
   * dishonest.
   */
  private dropPeer(session: PeerSession, reason: string): void {
    if (this.d.isStopped() || this.sessions.get(session.id) !== session) return;
    this.d.stats.peer(session.id).drops++;
    this.d.events.emit('peer', { peerId: session.id, event: 'dropped', reason });
    const swarm = this.d.swarm();
    if (swarm) swarm.drop(session.id);
    else session.close();
  }

  /**
   * A strike against a peer; at `strikesToBan` it is banned for this content, and a stranger
   * (no verified piece from it yet) at `strangerStrikesToBan`. `accuse` false (a dead channel):
   * the ban is this tab's alone (Swarm.ban), unless an earlier strike was evidence (a bad piece).
   */
  strike(peerId: string, reason: string, accuse = true): void {
    const { d } = this;
    const p = d.stats.peer(peerId);
    if (p.banned) return;
    p.strikes++;
    if (accuse) this.accused.add(peerId);
    d.events.emit('peer', { peerId, event: 'strike', reason });
    const stranger = p.piecesFrom === 0;
    if (p.strikes >= (stranger ? d.config.strangerStrikesToBan : d.config.strikesToBan)) {
      p.banned = true;
      d.swarm()?.ban(peerId, this.accused.has(peerId));
      this.sessions.get(peerId)?.close();
      d.events.emit('peer', { peerId, event: 'banned', reason });
    }
  }

  /** A peer at the address of a banned one (Swarm, LAN and group modes): banned here too. */
  bannedByAddress(peerId: string, where: string): void {
    const p = this.d.stats.peer(peerId);
    if (p.banned) return;
    p.banned = true;
    this.d.events.emit('peer', { peerId, event: 'banned', reason: `at the address of a banned peer (${where})` });
  }

  /** A piece from `peerId` was verified and stored: its pace learns it (trust, a wider window). */
  credit(peerId: string): void {
    const session = this.sessions.get(peerId);
    session?.verified(this.isCache(session));
  }

  /**
   * Whether the Arrays service listed this peer as a cache node (Swarm.isCacheNode): the
   * scheduler asks it first for what no other useful peer holds, and its window opens at its
   * first verified piece. Trust, strikes, bans and drops are as for any peer.
   */
  isCache(session: PeerSession): boolean {
    return this.d.swarm()?.isCacheNode(session.id) === true;
  }

  /** A piece was stored: every peer hears of it, and links between two seeds close. */
  announce(index: number): void {
    for (const s of this.sessions.values()) s.announceHave(index);
    if (this.d.book.have.complete) for (const s of [...this.sessions.values()]) this.dropIfBothSeeds(s);
  }

  /**
   * Closes a link between two seeds: neither has anything to give the other, and each link
   * holds one of `maxPeers` slots on both sides that a newcomer needs (a classroom of 30 filled
   * every seed's slots with other seeds, and late receivers found no seed to link to).
   */
  private dropIfBothSeeds(session: PeerSession): boolean {
    if (!this.d.book.have.complete || !session.ready || !session.remoteHave.complete || this.d.isStopped()) return false;
    const swarm = this.d.swarm();
    if (swarm) swarm.release(session.id);
    else session.close();
    return true;
  }

  /**
   * Whether no linked peer holds the piece, but for those that missed their last deadline and
   * strangers that lag (trusted peers that lag, and slow ones, count: an overloaded machine
   * pauses every tab at once, and each tab fetching what the others hold would fetch it once
   * per tab; a stranger that claims pieces and falls silent, or sends under the minimum rate,
   * must not keep them from the CDN until its deadline). Peers that have stalled take over
   * another tab's share of the CDN only for such pieces.
   */
  readonly heldByNoPeer = (index: number): boolean => {
    for (const s of this.sessions.values()) {
      if (!s.ready || s.pace.missedLast || (s.pace.isLagging && !s.pace.isTrusted)) continue;
      if (s.holds(index)) return false;
    }
    return true;
  };

  closeAll(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}
