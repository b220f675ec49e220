/**
 * Messages of the Arrays service (the peer list and WebRTC signaling relay), one JSON object
 * per WebSocket text frame. Both ends parse every frame with these schemas and reject what
 * does not match; docs/protocol.md documents each message.
 */
import { z } from 'zod';
import { PEER_ID_HEX, SHA256_HEX } from './hex.js';
import { PEER_SECRET_HEX } from './peer-identity.js';
import { boundedString, utf8Length } from './bounded-string.js';
import { LIMITS } from './limits.js';
import { MAX_FETCHED_BASE64 } from './cdn-slots.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const contentId = z.string().regex(SHA256_HEX);
const peerId = z.string().regex(PEER_ID_HEX);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const rate = z.number().min(0).max(1e12);
/** Pieces of a CDN slot asked for (`announce.cdnPieces`) or granted (`cdnSlot.granted`). */
const cdnPiecesSchema = z.array(z.number().int().min(0).max(LIMITS.maxCdnClaimPieces - 1)).max(LIMITS.maxCdnPiecesPerAnnounce);

/**
 * DO download modes that take part in a swarm: 1 LAN (peers behind the same public address),
 * 2 Group (peers of one group ID), 3 Internet (any peer of the content in Internet mode).
 * DO's modes 0 (HTTP only), 99 (Simple) and 100 (Bypass) never announce.
 */
export const DOWNLOAD_MODES = ['lan', 'group', 'internet'] as const;
export type DownloadMode = (typeof DOWNLOAD_MODES)[number];

/** A group ID or join code: 1 to 64 of [A-Za-z0-9_-] (DO's GroupID is a GUID, an AD site, a domain). */
export const GROUP_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const groupIdSchema = boundedString(LIMITS.maxGroupIdLength, 1).refine((s) => GROUP_ID_RE.test(s), {
  message: 'expected 1 to 64 characters of A-Z a-z 0-9 _ -',
});

/** The progress fields of DO's Arrays report. Byte counts are for this content. */
const progressShape = {
  uploaded: count,
  downloaded: count,
  downloadedCdn: count,
  left: count,
  peersWanted: z.number().int().min(0).max(LIMITS.maxPeersPerReply),
  isBackground: z.boolean(),
  uploadedBps: rate,
  downloadBps: rate,
};

/**
 * DO's Arrays report, sent with every announce: the progress fields plus the download mode
 * (DO's Scope) and, in group mode only, the group ID (DO's GroupID). The server lists and
 * relays only within the scope these name (docs/protocol.md, "Scopes").
 */
export const reportSchema = z
  .object({ ...progressShape, mode: z.enum(DOWNLOAD_MODES), group: groupIdSchema.optional() })
  .strict()
  .superRefine(refineModeGroup);

/** The rule of every message that names a scope: `group` is required in group mode and refused otherwise. */
export function refineModeGroup(v: { mode: DownloadMode; group?: string | undefined }, ctx: z.RefinementCtx): void {
  if (v.mode === 'group' && v.group === undefined) ctx.addIssue({ code: 'custom', path: ['group'], message: "mode 'group' needs a group" });
  if (v.mode !== 'group' && v.group !== undefined) ctx.addIssue({ code: 'custom', path: ['group'], message: "only mode 'group' takes a group" });
}
export type Report = z.infer<typeof reportSchema>;
/** What a download knows of itself; the swarm adds the mode and group from the configuration. */
export type ProgressReport = Omit<Report, 'mode' | 'group'>;

/** WebRTC signaling payloads as simple-peer emits them; anything else is refused. */
export const signalDataSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('offer'), sdp: boundedString(LIMITS.maxSdpLength) }).strict(),
  z.object({ type: z.literal('answer'), sdp: boundedString(LIMITS.maxSdpLength) }).strict(),
  z
    .object({
      type: z.literal('candidate'),
      candidate: z
        .object({
          candidate: boundedString(LIMITS.maxCandidateLength),
          sdpMid: boundedString(64).nullable().optional(),
          sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
          usernameFragment: boundedString(256).nullable().optional(),
        })
        .strict(),
    })
    .strict(),
  z.object({ type: z.literal('renegotiate'), renegotiate: z.literal(true) }).strict(),
]);
export type SignalData = z.infer<typeof signalDataSchema>;

/**
 * A cache node's key (docs/cache-node.md): 16 to 128 of [A-Za-z0-9_-]. A `hello` that carries
 * one the server was configured with (TABSWARM_CACHE_NODE_KEYS) makes the socket a cache node:
 * listed to others with `cache: true`, and allowed to `watch`.
 */
export const CACHE_KEY_RE = /^[A-Za-z0-9_-]{16,128}$/;
export const cacheKeySchema = z.string().regex(CACHE_KEY_RE);

/** What a cache node watches: the swarms of one scope (its own LAN, one group, or the internet). */
export const watchScopeSchema = z.object({ mode: z.enum(DOWNLOAD_MODES), group: groupIdSchema.optional() }).strict().superRefine(refineModeGroup);
export type WatchScope = z.infer<typeof watchScopeSchema>;

export const clientMessageSchema = z.discriminatedUnion('type', [
  /**
   * The first message on every socket: the secret the peer ID derives from (peer-identity.ts),
   * and a cache node's key if the socket is one.
   */
  z.object({ type: z.literal('hello'), secret: z.string().regex(PEER_SECRET_HEX), cacheKey: cacheKeySchema.optional() }).strict(),
  /**
   * `cdnPieces`: pieces this peer asks to fetch from the CDN as the owner of their CDN slot
   * (docs/protocol.md, "CDN slots"); the reply's `cdnSlot.granted` says which it may.
   */
  z
    .object({
      type: z.literal('announce'),
      contentId,
      peerId,
      report: reportSchema,
      cdnPieces: cdnPiecesSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal('signal'), contentId, to: peerId, data: signalDataSchema }).strict(),
  z.object({ type: z.literal('leave'), contentId }).strict(),
  /** This peer banned `peerId` for this content: the service stops listing it to this peer. */
  z.object({ type: z.literal('ban'), contentId, peerId }).strict(),
  /**
   * Cache nodes only: tell this socket (with `wanted`) of the contents that peers announce in
   * this scope. `lan` means the cache node's own LAN (its address's). Sent after `hello`.
   */
  z.object({ type: z.literal('watch'), mode: z.enum(DOWNLOAD_MODES), group: groupIdSchema.optional() }).strict().superRefine(refineModeGroup),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/**
 * An origin tag: the Arrays service's opaque name for the address a peer announced from (an
 * IPv4 address or an IPv6 /64), keyed per content so that it cannot be compared across
 * contents or turned back into the address. Two peers of one content with the same tag came
 * from the same address (docs/protocol.md, "Origin tags").
 */
export const originTagSchema = z.string().regex(/^[0-9a-f]{16}$/);

/**
 * A downloader's slot among the `of` downloaders of its partition, as the service counts them:
 * in a swarm too big for any tab to see, each piece's CDN fetch has one owner swarm-wide
 * (core/cdn-share.ts). At most the largest swarm the service keeps.
 */
export const cdnSlotSchema = z
  .object({
    slot: z.number().int().min(0),
    of: z.number().int().min(1).max(10_000_000),
    /** The pieces its partition's owners said they fetched from the CDN: a base64 bitmap (protocol/cdn-slots.ts). */
    fetched: z.string().max(MAX_FETCHED_BASE64).regex(BASE64).optional(),
    /** In the reply to an announce with `cdnPieces`: those it may fetch from the CDN (first asked, and its slot's). */
    granted: cdnPiecesSchema.optional(),
  })
  .strict()
  .refine((s) => s.slot < s.of, 'slot must be below of');
export type CdnSlot = z.infer<typeof cdnSlotSchema>;

/** One peer of a `peers` reply; `cache`: the peer is a cache node (its socket gave a configured key). */
export const peerInfoSchema = z.object({ peerId, left: count, origin: originTagSchema.optional(), cache: z.literal(true).optional() }).strict();

/** What an `error` answers: the type of the client message that caused it, and its content and peer. */
export const inReplyToSchema = z
  .object({
    type: z.enum(['hello', 'announce', 'signal', 'leave', 'ban', 'watch', 'unknown']),
    contentId: contentId.optional(),
    peerId: peerId.optional(),
  })
  .strict();
export type InReplyTo = z.infer<typeof inReplyToSchema>;
export type PeerInfo = z.infer<typeof peerInfoSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('peers'),
      contentId,
      peers: z.array(peerInfoSchema).max(LIMITS.maxPeersPerReply),
      /** When to announce again (ms). */
      intervalMs: z.number().int().min(1000).max(3_600_000),
      /** The asker's own origin tag for this content. */
      origin: originTagSchema.optional(),
      /** The asker's slot among the downloaders of its partition (docs/protocol.md, "CDN slots"). */
      cdnSlot: cdnSlotSchema.optional(),
    })
    .strict(),
  /** A relayed signal; `origin` is the sender's origin tag for this content. */
  z.object({ type: z.literal('signal'), contentId, from: peerId, data: signalDataSchema, origin: originTagSchema.optional() }).strict(),
  /** The answer to `hello`: the peer ID now bound to this socket; `cache` if it is a cache node. */
  z.object({ type: z.literal('welcome'), peerId, cache: z.literal(true).optional() }).strict(),
  /**
   * To a cache node that watches this scope: a peer announced this content here, and the cache
   * node is not in its swarm. The cache node decides whether to join (its own content policy).
   */
  z
    .object({ type: z.literal('wanted'), contentId, mode: z.enum(DOWNLOAD_MODES), group: groupIdSchema.optional() })
    .strict()
    .superRefine(refineModeGroup),
  z.object({ type: z.literal('error'), code: boundedString(64), message: boundedString(1024), inReplyTo: inReplyToSchema.optional() }).strict(),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function parseFrame<T>(schema: z.ZodType<T>, text: string): ParseResult<T> {
  // Code units never exceed UTF-8 bytes, so the cheap check first, the exact one when it matters.
  if (text.length > LIMITS.maxSignalingMessageBytes) return { ok: false, reason: 'message too large' };
  if (text.length * 3 > LIMITS.maxSignalingMessageBytes && utf8Length(text) > LIMITS.maxSignalingMessageBytes) {
    return { ok: false, reason: 'message too large' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, reason: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, value: r.data };
}

/** Parses a frame received by the server. Never throws. */
export const parseClientMessage = (text: string): ParseResult<ClientMessage> => parseFrame(clientMessageSchema, text);
/** Parses a frame received by the client. Never throws. */
export const parseServerMessage = (text: string): ParseResult<ServerMessage> => parseFrame(serverMessageSchema, text);
