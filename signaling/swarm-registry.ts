/**
 * Swarm membership for the Arrays service: which peers are in the swarm of each content, in
 * which scope partition, with their last report and when they last announced.
 *
 * Scopes: a content's swarm is split into partitions by scope key (`lan:<lanKey>`,
 * `group:<groupId>` or `internet`, see `scopeKeyOf`). A member is in exactly one partition per
 * content, and selection only ever looks inside the asker's partition, so no peer is listed
 * to a peer outside its scope.
 *
 * Cache nodes (docs/cache-node.md): a member upserted with `cache` is kept apart in its
 * partition, and every selection lists the partition's cache nodes first (they count toward
 * the reply's max), flagged `cache: true`. There are few of them (the Arrays service caps
 * cache sockets), so they are not sampled but taken whole, up to a bound.
 *
 * The interface is asynchronous so that a shared store (Redis, for several server processes)
 * can implement it later; the in-memory one below is the default. The registry holds only
 * membership. Which socket a peer ID is bound to is the Arrays service's own business (a
 * multi-process setup would also need a relay between processes for `signal`).
 */
import type { CdnSlot, PeerInfo, Report } from '../src/protocol/arrays-messages.js';
import type { ContentReport, PeeringScope } from './content-report.js';
import { claimRights, FetchedPieces, grantPieces } from './fetched-pieces.js';

export interface SwarmMember {
  contentId: string;
  peerId: string;
}

export interface SwarmStats {
  swarms: number;
  peers: number;
}

/** The partition key of a member: `lan:<lanKey>`, `group:<groupId>` or `internet`. */
export function scopeKeyOf(report: Pick<Report, 'mode' | 'group'>, lanKey: string): string {
  switch (report.mode) {
    case 'lan':
      return `lan:${lanKey}`;
    case 'group':
      return `group:${report.group ?? ''}`;
    case 'internet':
      return 'internet';
  }
}

function scopeKindOf(scopeKey: string): PeeringScope {
  return scopeKey === 'internet' ? 'internet' : scopeKey.startsWith('group:') ? 'group' : 'lan';
}

export interface SelectRequest {
  contentId: string;
  /** The asker: never listed; its `left` ranks the others. */
  peerId: string;
  left: number;
  /** Peers wanted in the reply. */
  max: number;
  /** Peers never to list (the asker's bans). */
  exclude?: ReadonlySet<string>;
}

export interface SwarmRegistry {
  /**
   * Adds the peer to the swarm in partition `scopeKey`, or refreshes its report and
   * `lastSeen` (ms, caller's clock); a member announcing another scope moves partition.
   * `cache`: the peer is a cache node (listed first, flagged). @default false
   */
  upsert(contentId: string, scopeKey: string, peerId: string, report: Report, lastSeen: number, cache?: boolean): Promise<void>;
  /** Removes the peer from the swarm; true if it was there. Empty swarms disappear. */
  remove(contentId: string, peerId: string): Promise<boolean>;
  /** The partition the peer is in for this content, or undefined if it is not a member. */
  scopeOf(contentId: string, peerId: string): Promise<string | undefined>;
  /**
   * Up to `max` members of the asker's partition, never the asker nor an excluded peer: the
   * partition's cache nodes first (`cache: true`; at most MAX_CACHE_SAMPLE of them looked at,
   * the least handed out first), then peers holding more than the asker (seeders first), and
   * among them those handed out least recently, so that newcomers spread over the swarm. The cost is bounded by a
   * constant (a bounded random sample of the partition's seeders and of its other members),
   * not by the swarm's size.
   */
  selectPeers(req: SelectRequest): Promise<PeerInfo[]>;
  /**
   * A downloader's slot among its partition's downloaders (not seeders, not cache nodes), and
   * how many there are: what its CDN share is cut by in a big swarm (core/cdn-share.ts). A
   * member that leaves hands its slot to the last one, so slots stay 0..of-1. Optional: a
   * registry without it gives no slot, and tabs share the CDN among the peers they see.
   */
  cdnSlot?(contentId: string, peerId: string): Promise<CdnSlot | undefined>;
  /**
   * The member asks to fetch `pieces` from the CDN; returns those granted, which it fetches (it
   * leaves the others to peers). Granted: a piece no one was granted before, that its slot owns
   * or that is of its fallback group (at most MAX_FALLBACK_GRANTS of those), by the slot the
   * service last gave it or the one it has now (fetched-pieces.ts); it goes into the partition's
   * fetched bitmap, given with every later slot. So each piece of a big swarm crosses the CDN
   * once, however often its owners change or fail. In a partition too small for slots every
   * piece it may fetch is granted, and nothing is kept. Optional, with `cdnSlot`.
   */
  claimCdnPieces?(contentId: string, peerId: string, pieces: readonly number[]): Promise<number[]>;
  /** Members of the swarm of `contentId`, every partition. */
  swarmSize(contentId: string): Promise<number>;
  /** Removes and returns every member whose `lastSeen` is before `before`. */
  expire(before: number): Promise<SwarmMember[]>;
  stats(): Promise<SwarmStats>;
  /** The members' last reports summed per content (every partition). */
  contentReports(): Promise<ContentReport[]>;
  /** The report of one content (every partition), or undefined when its swarm is empty. */
  contentReport(contentId: string): Promise<ContentReport | undefined>;
}

/**
 * Candidates sampled per selection, per peer wanted, from each half of the partition (seeders,
 * then the others): enough that bans and peers holding less rarely leave a reply short.
 */
export const SAMPLE_PER_WANTED = 4;
/**
 * Weight of "holds less than the asker" against the hand-out counter: a seeder is preferred
 * to a peer holding less than the asker until it has been handed out this many times more
 * (per tier: seeder, holds more than the asker, the rest).
 */
export const TIER_WEIGHT = 4;
/** Cache-node members of one partition looked at per selection (there are rarely more). */
export const MAX_CACHE_SAMPLE = 64;

interface Member {
  peerId: string;
  scopeKey: string;
  report: Report;
  lastSeen: number;
  /** A cache node: kept in its partition's `caches`, whatever it holds. */
  cache: boolean;
  /** Which half of its partition it is in (a seeder has nothing left), and its position there (swap-remove). */
  seeder: boolean;
  slot: number;
  /** The CDN slot and count last given to it (`cdnSlot`); -1 before any. */
  givenSlot: number;
  givenOf: number;
  /** Pieces of its fallback group, not its slot, it was granted (at most MAX_FALLBACK_GRANTS). */
  groupGrants: number;
  /** Times listed to others, halved every hand-out window. */
  handedOut: number;
  handedOutEpoch: number;
}

/**
 * The members of one scope, as arrays for O(1) random access, seeders apart so that a
 * bounded sample of a big swarm still finds its few seeders, cache nodes apart so that
 * selection always finds them.
 */
interface Partition {
  caches: Member[];
  seeders: Member[];
  others: Member[];
  /** The pieces its downloaders said they fetched from the CDN (claimCdnPieces); none until one did. */
  fetched?: FetchedPieces;
}

/**
 * Partitions with fewer downloaders keep no fetched bitmap: tabs use CDN slots only in a swarm
 * more than twice their `maxPeers` (16 by default), so below this no tab would read it.
 */
export const CLAIM_MIN_DOWNLOADERS = 16;

/** The array of its partition a member is in. */
function halfOf(partition: Partition, member: Pick<Member, 'cache' | 'seeder'>): Member[] {
  return member.cache ? partition.caches : member.seeder ? partition.seeders : partition.others;
}

const sizeOf = (p: Partition): number => p.caches.length + p.seeders.length + p.others.length;

interface Content {
  members: Map<string, Member>;
  partitions: Map<string, Partition>;
}

export interface MemorySwarmRegistryOptions {
  /** The hand-out counters halve after each window (ms); the announce interval is a good value. @default 15000 */
  handOutWindowMs?: number;
  /** Random numbers in [0, 1), for tests. @default Math.random */
  random?: () => number;
  /** Clock for the hand-out counters (ms). @default Date.now */
  now?: () => number;
}

/** The in-memory registry. */
export class MemorySwarmRegistry implements SwarmRegistry {
  readonly #contents = new Map<string, Content>();
  readonly #windowMs: number;
  readonly #random: () => number;
  readonly #now: () => number;
  /** Candidates scored by the last `selectPeers` call (instrumentation: the bound is tested). */
  lastSelectionCost = 0;

  constructor(options: MemorySwarmRegistryOptions = {}) {
    this.#windowMs = Math.max(1, options.handOutWindowMs ?? 15_000);
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  async upsert(contentId: string, scopeKey: string, peerId: string, report: Report, lastSeen: number, cache = false): Promise<void> {
    let content = this.#contents.get(contentId);
    if (content === undefined) {
      content = { members: new Map(), partitions: new Map() };
      this.#contents.set(contentId, content);
    }
    const member = content.members.get(peerId);
    const seeder = report.left === 0;
    if (member !== undefined && member.scopeKey === scopeKey && member.seeder === seeder && member.cache === cache) {
      member.report = report;
      member.lastSeen = lastSeen;
      return;
    }
    if (member !== undefined) this.#unslot(content, member);
    const next: Member = member ?? { peerId, scopeKey, report, lastSeen, cache, seeder, slot: 0, givenSlot: -1, givenOf: -1, groupGrants: 0, handedOut: 0, handedOutEpoch: 0 };
    Object.assign(next, { scopeKey, report, lastSeen, cache, seeder });
    let partition = content.partitions.get(scopeKey);
    if (partition === undefined) content.partitions.set(scopeKey, (partition = { caches: [], seeders: [], others: [] }));
    const half = halfOf(partition, next);
    next.slot = half.length;
    half.push(next);
    content.members.set(peerId, next);
  }

  /** Takes `member` out of its partition's array by swapping the last one into its slot. */
  #unslot(content: Content, member: Member): void {
    const partition = content.partitions.get(member.scopeKey);
    if (partition === undefined) return;
    const half = halfOf(partition, member);
    const last = half.pop()!;
    if (last !== member) {
      half[member.slot] = last;
      last.slot = member.slot;
    }
    if (sizeOf(partition) === 0) content.partitions.delete(member.scopeKey);
  }

  #removeMember(contentId: string, content: Content, member: Member): void {
    this.#unslot(content, member);
    content.members.delete(member.peerId);
    if (content.members.size === 0) this.#contents.delete(contentId);
  }

  async remove(contentId: string, peerId: string): Promise<boolean> {
    const content = this.#contents.get(contentId);
    const member = content?.members.get(peerId);
    if (content === undefined || member === undefined) return false;
    this.#removeMember(contentId, content, member);
    return true;
  }

  async scopeOf(contentId: string, peerId: string): Promise<string | undefined> {
    return this.#contents.get(contentId)?.members.get(peerId)?.scopeKey;
  }

  async selectPeers(req: SelectRequest): Promise<PeerInfo[]> {
    this.lastSelectionCost = 0;
    const content = this.#contents.get(req.contentId);
    const asker = content?.members.get(req.peerId);
    if (content === undefined || asker === undefined || req.max <= 0) return [];
    const partition = content.partitions.get(asker.scopeKey);
    if (partition === undefined) return [];
    const n = SAMPLE_PER_WANTED * req.max + (req.exclude?.size ?? 0) + 1;
    const epoch = Math.floor(this.#now() / this.#windowMs);
    const caches = this.#rank(this.#pick(partition.caches, MAX_CACHE_SAMPLE), asker, req, (member) => this.#handedOut(member, epoch));
    const rest = this.#rank([...this.#sample(partition.seeders, n), ...this.#sample(partition.others, n)], asker, req, (member) => {
      const left = member.report.left;
      const tier = left === 0 ? 0 : left < req.left ? 1 : 2;
      return tier * TIER_WEIGHT + this.#handedOut(member, epoch);
    });
    // Listed in rank order: cache nodes, then seeders, and the least handed out first.
    const picked = [...caches, ...rest].slice(0, req.max);
    for (const member of picked) member.handedOut++;
    return picked.map((member) => ({ peerId: member.peerId, left: member.report.left, ...(member.cache ? { cache: true as const } : {}) }));
  }

  /** `candidates` but the asker and the excluded, lowest score first (ties at random); each one counts toward the cost. */
  #rank(candidates: Member[], asker: Member, req: SelectRequest, score: (member: Member) => number): Member[] {
    const scored: Array<{ member: Member; score: number; tie: number }> = [];
    for (const member of candidates) {
      this.lastSelectionCost++;
      if (member === asker || req.exclude?.has(member.peerId)) continue;
      scored.push({ member, score: score(member), tie: this.#random() });
    }
    scored.sort((a, b) => a.score - b.score || a.tie - b.tie);
    return scored.map(({ member }) => member);
  }

  /** The member's hand-out counter, halved once per window elapsed since it was last read. */
  #handedOut(member: Member, epoch: number): number {
    if (epoch > member.handedOutEpoch) {
      member.handedOut = epoch - member.handedOutEpoch >= 31 ? 0 : member.handedOut >> (epoch - member.handedOutEpoch);
      member.handedOutEpoch = epoch;
    }
    return member.handedOut;
  }

  /**
   * Up to `n` distinct members of `partition`, uniformly at random. Costs O(n), whatever the
   * partition's size: a partition of at most 2n is taken whole; a larger one is sampled by
   * random index with rejection of repeats (each try succeeds with probability > 1/2, and
   * tries are capped at 4n).
   */
  #sample(partition: Member[], n: number): Member[] {
    if (partition.length <= 2 * n) return partition.slice();
    const chosen = new Set<number>();
    for (let tries = 0; chosen.size < n && tries < 4 * n; tries++) chosen.add(Math.floor(this.#random() * partition.length));
    return [...chosen].map((i) => partition[i]!);
  }

  /** At most `n` distinct members of a small array (a partition's cache nodes), uniformly at random: a partial shuffle of a copy. */
  #pick(members: Member[], n: number): Member[] {
    if (members.length <= n) return members.slice();
    const copy = members.slice();
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.#random() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  }

  async cdnSlot(contentId: string, peerId: string): Promise<CdnSlot | undefined> {
    const content = this.#contents.get(contentId);
    const member = content?.members.get(peerId);
    if (member === undefined || member.cache || member.seeder) return undefined;
    const partition = content!.partitions.get(member.scopeKey);
    if (partition === undefined) return undefined;
    [member.givenSlot, member.givenOf] = [member.slot, partition.others.length];
    return { slot: member.slot, of: partition.others.length, ...(partition.fetched !== undefined ? { fetched: partition.fetched.base64() } : {}) };
  }

  async claimCdnPieces(contentId: string, peerId: string, pieces: readonly number[]): Promise<number[]> {
    const content = this.#contents.get(contentId);
    const member = content?.members.get(peerId);
    if (member === undefined || member.cache || member.seeder) return [];
    const partition = content!.partitions.get(member.scopeKey)!;
    const of = partition.others.length;
    const { granted, fromGroup } = grantPieces(pieces, claimRights(member, of), of < CLAIM_MIN_DOWNLOADERS ? undefined : (partition.fetched ??= new FetchedPieces()));
    member.groupGrants += fromGroup;
    return granted;
  }

  async swarmSize(contentId: string): Promise<number> {
    return this.#contents.get(contentId)?.members.size ?? 0;
  }

  async expire(before: number): Promise<SwarmMember[]> {
    const removed: SwarmMember[] = [];
    for (const [contentId, content] of this.#contents) {
      for (const member of content.members.values()) {
        if (member.lastSeen < before) {
          this.#removeMember(contentId, content, member);
          removed.push({ contentId, peerId: member.peerId });
        }
      }
    }
    return removed;
  }

  async stats(): Promise<SwarmStats> {
    let peers = 0;
    for (const content of this.#contents.values()) peers += content.members.size;
    return { swarms: this.#contents.size, peers };
  }

  async contentReports(): Promise<ContentReport[]> {
    return [...this.#contents.keys()].map((id) => this.#reportOf(id)!);
  }

  async contentReport(contentId: string): Promise<ContentReport | undefined> {
    return this.#reportOf(contentId);
  }

  #reportOf(contentId: string): ContentReport | undefined {
    const content = this.#contents.get(contentId);
    if (content === undefined) return undefined;
    {
      const r: ContentReport = {
        contentId,
        peers: content.members.size,
        seeders: 0,
        peersByScope: { lan: 0, group: 0, internet: 0 },
        uploaded: 0,
        downloaded: 0,
        downloadedCdn: 0,
        left: 0,
        uploadedBps: 0,
        downloadBps: 0,
      };
      for (const [scopeKey, p] of content.partitions) r.peersByScope[scopeKindOf(scopeKey)] += sizeOf(p);
      for (const { report } of content.members.values()) {
        if (report.left === 0) r.seeders++;
        r.uploaded += report.uploaded;
        r.downloaded += report.downloaded;
        r.downloadedCdn += report.downloadedCdn;
        r.left += report.left;
        r.uploadedBps += report.uploadedBps;
        r.downloadBps += report.downloadBps;
      }
      return r;
    }
  }
}
