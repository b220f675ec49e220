/**
 * Messages of the Arrays service (the peer list and WebRTC signaling relay), one JSON object
 * per WebSocket text frame. Both ends parse every frame with these schemas and reject what
 * does not match; docs/protocol.md documents each message.
 */
import { z } from 'zod';
import { PEER_ID_HEX, SHA256_HEX } from './hex.js';
import { boundedString, utf8Length } from './bounded-string.js';
import { LIMITS } from './limits.js';

const contentId = z.string().regex(SHA256_HEX);
const peerId = z.string().regex(PEER_ID_HEX);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const rate = z.number().min(0).max(1e12);

/** DO's Arrays report fields, sent with every announce. Byte counts are for this content. */
export const reportSchema = z
  .object({
    uploaded: count,
    downloaded: count,
    downloadedCdn: count,
    left: count,
    peersWanted: z.number().int().min(0).max(LIMITS.maxPeersPerReply),
    isBackground: z.boolean(),
    uploadedBps: rate,
    downloadBps: rate,
  })
  .strict();
export type Report = z.infer<typeof reportSchema>;

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

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('announce'), contentId, peerId, report: reportSchema }).strict(),
  z.object({ type: z.literal('signal'), contentId, to: peerId, data: signalDataSchema }).strict(),
  z.object({ type: z.literal('leave'), contentId }).strict(),
  /** This peer banned `peerId` for this content: the service stops listing it to this peer. */
  z.object({ type: z.literal('ban'), contentId, peerId }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const peerInfoSchema = z.object({ peerId, left: count }).strict();
export type PeerInfo = z.infer<typeof peerInfoSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('peers'),
      contentId,
      peers: z.array(peerInfoSchema).max(LIMITS.maxPeersPerReply),
      /** When to announce again (ms). */
      intervalMs: z.number().int().min(1000).max(3_600_000),
    })
    .strict(),
  z.object({ type: z.literal('signal'), contentId, from: peerId, data: signalDataSchema }).strict(),
  z.object({ type: z.literal('error'), code: boundedString(64), message: boundedString(1024) }).strict(),
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
