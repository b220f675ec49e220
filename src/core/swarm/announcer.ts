/**
 * A swarm's announces to the Arrays service: the report (DO's progress fields, with the
 * download mode, and group, as scope), sent at start, again after 1, 2 and 4 s (a young swarm
 * changes fast: tabs opened together), then at the interval the service's last reply named.
 * Pieces of its CDN slot the tab asks to fetch go with an announce (`cdnPieces`; the reply
 * grants them): at once, or `claimAnnounceMs` after the last announce that carried some.
 */
import { GROUP_ID_RE, type ProgressReport, type Report } from '../../protocol/arrays-messages.js';
import { LIMITS } from '../../protocol/limits.js';
import { systemClock, type Clock } from '../clock.js';
import { peeringModeOf, type ClientConfig } from '../config.js';
import type { Signaling } from '../ports.js';

/** Asks go out at most this often (the service takes 10 announces a second from a socket). */
const MIN_CLAIM_GAP_MS = 100;
/** Asks kept for announces to come; older ones are forgotten (the tab's wait for a grant ends: a second copy at worst). */
const CLAIMS_KEPT = 4 * LIMITS.maxCdnPiecesPerAnnounce;

export interface AnnouncerOptions {
  contentId: string;
  peerId: string;
  signaling: Signaling;
  config: Pick<ClientConfig, 'downloadMode' | 'groupId' | 'announceIntervalMs' | 'claimAnnounceMs'>;
  report(): ProgressReport;
}

export class Announcer {
  /** When to announce again, as the service's last `peers` reply said. */
  intervalMs: number;
  private timer: unknown;
  /** When the scheduled announce is due. */
  private dueAt = Infinity;
  /** Pieces of our CDN slot to ask for, not yet announced (at most CLAIMS_KEPT, the latest). */
  private claims: number[] = [];
  /** When an announce last carried asks. */
  private claimedAt = -Infinity;
  private announces = 0;
  private stopped = false;

  constructor(
    private readonly opts: AnnouncerOptions,
    private readonly clock: Clock = systemClock,
  ) {
    this.intervalMs = opts.config.announceIntervalMs;
  }

  /**
   * Whether this swarm announces at all: group mode without a valid group ID has no scope to
   * join, so the tab stays out of every swarm (peering off, the CDN serves it).
   */
  get announcing(): boolean {
    const { downloadMode, groupId } = this.opts.config;
    const mode = peeringModeOf(downloadMode);
    return mode !== undefined && (mode !== 'group' || GROUP_ID_RE.test(groupId));
  }

  /** Announces now and schedules the next announce. */
  announce(): void {
    if (this.stopped || !this.announcing) return;
    this.clock.clearTimeout(this.timer);
    const cdnPieces = this.claims.splice(0, LIMITS.maxCdnPiecesPerAnnounce);
    if (cdnPieces.length > 0) this.claimedAt = this.clock.now();
    this.opts.signaling.announce(this.opts.contentId, this.opts.peerId, this.fullReport(), cdnPieces.length > 0 ? cdnPieces : undefined);
    const early = this.announces < 3 ? 1000 * 2 ** this.announces : Infinity;
    this.announces++;
    this.schedule(this.claims.length > 0 && this.claimGap() > 0 ? this.claimGap() : Math.min(early, this.intervalMs));
  }

  /**
   * We would fetch piece `index` of our CDN slot: ask the service, at once (after the calls of
   * this turn: one announce asks for them all) or `claimAnnounceMs` after the last ask.
   */
  claim(index: number): void {
    if (this.stopped || !this.announcing || index >= LIMITS.maxCdnClaimPieces) return;
    this.claims.push(index);
    if (this.claims.length > CLAIMS_KEPT) this.claims.splice(0, this.claims.length - CLAIMS_KEPT);
    const gap = this.claimGap();
    const now = this.clock.now();
    const at = Math.max(now, this.claimedAt + gap);
    if (gap > 0 && this.dueAt > at) {
      this.clock.clearTimeout(this.timer);
      this.schedule(at - now);
    }
  }

  /** How soon claims go out (0: with the next announce). */
  private claimGap(): number {
    const ms = this.opts.config.claimAnnounceMs;
    return ms > 0 ? Math.max(MIN_CLAIM_GAP_MS, ms) : 0;
  }

  private schedule(ms: number): void {
    this.dueAt = this.clock.now() + ms;
    this.timer = this.clock.setTimeout(() => this.announce(), ms);
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }

  /** The report of one announce: progress, and the download mode (and group) as scope. */
  private fullReport(): Report {
    const { downloadMode, groupId } = this.opts.config;
    // Only called while `announcing`, so the mode is a peering one.
    const mode = peeringModeOf(downloadMode) ?? 'lan';
    const report: Report = { ...this.opts.report(), mode };
    if (mode === 'group') report.group = groupId;
    return report;
  }
}
