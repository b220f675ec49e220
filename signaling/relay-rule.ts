/**
 * The one rule for relaying a WebRTC `signal` between two members of a swarm, used by both
 * paths: a target on this instance (arrays-relay.ts `onSignal`), and a target on another
 * instance, checked once on the sender's instance before it publishes and once on the target's
 * as it delivers. In order:
 * 1. the target is a member of that content, in the sender's partition (else `unknown-peer`,
 *    exactly as for a peer that does not exist, so nothing leaks across scopes);
 * 2. the target has not banned the sender (`unknown-peer` too);
 * 3. an `answer` only to a peer whose `offer` was relayed to the answerer within the offer TTL
 *    (`unsolicited-answer`); candidates and renegotiation only between two peers with an offer
 *    relayed either way (`unsolicited-signal`);
 * 4. the target reads its messages (`peer-busy` past MAX_TARGET_BUFFERED_BYTES queued).
 * A signal that passes and is an offer is recorded, so that its answer may come back.
 */
import type { SignalData } from '../src/protocol/arrays-messages.js';
import type { OfferTracker } from './offer-tracker.js';

/** A relay target with more than this queued for sending is skipped (`peer-busy`). */
export const MAX_TARGET_BUFFERED_BYTES = 4 * 1024 * 1024;

export type RelayRefusal = 'unknown-peer' | 'unsolicited-answer' | 'unsolicited-signal' | 'peer-busy';

export interface RelayCase {
  contentId: string;
  from: string;
  to: string;
  kind: SignalData['type'];
  /** The sender's partition of that content. */
  fromScope: string;
  /** The target's partition of that content; undefined if it is not a member. */
  targetScope: string | undefined;
  /** Whether the target banned the sender (known only where the target's socket is). */
  targetBanned: boolean;
  /** Bytes queued for the target's socket (0 where its socket is not). */
  targetBuffered: number;
}

/** Checks `c` at `now`; undefined (and an offer recorded) if the signal may go, else why not. */
export function relayVerdict(offers: OfferTracker, c: RelayCase, now: number): RelayRefusal | undefined {
  if (c.targetScope === undefined || c.targetScope !== c.fromScope || c.targetBanned) return 'unknown-peer';
  if (c.kind === 'answer' && !offers.mayAnswer(c.from, c.to, c.contentId, now)) return 'unsolicited-answer';
  if ((c.kind === 'candidate' || c.kind === 'renegotiate') && !offers.paired(c.from, c.to, c.contentId, now)) return 'unsolicited-signal';
  if (c.targetBuffered > MAX_TARGET_BUFFERED_BYTES) return 'peer-busy';
  if (c.kind === 'offer') offers.offered(c.from, c.to, c.contentId, now);
  return undefined;
}
