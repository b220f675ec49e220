/**
 * The replies of the server's bootstrap (DO's KeyValue service) and Discovery endpoints,
 * shared by the server, which checks what it sends, and the client, which parses them.
 * docs/services.md describes both.
 *
 *   GET /api/bootstrap                                   -> bootstrapSchema
 *   GET /api/discovery?contentId=&mode=[&group=]         -> discoverySchema (query: discoveryQuerySchema)
 */
import { z } from 'zod';
import { DOWNLOAD_MODES, groupIdSchema, refineModeGroup } from './arrays-messages.js';
import { boundedString } from './bounded-string.js';
import { SHA256_HEX } from './hex.js';

/** Version of the bootstrap document; a client rejects others. */
export const BOOTSTRAP_VERSION = 1;
/** Most ICE servers a configuration may carry. */
export const MAX_ICE_SERVERS = 16;

const ICE_URL_RE = /^(stun|stuns|turn|turns):[^\s]+$/;
const iceUrl = boundedString(512, 6).refine((s) => ICE_URL_RE.test(s), { message: 'expected a stun:, stuns:, turn: or turns: URL' });

/**
 * One STUN or TURN server, as `RTCIceServer` takes it. TURN needs `username` and `credential`
 * (browsers refuse a TURN server without them).
 */
export const iceServerSchema = z
  .object({
    urls: z.union([iceUrl, z.array(iceUrl).min(1).max(8)]),
    username: boundedString(256).optional(),
    credential: boundedString(256).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const urls = typeof s.urls === 'string' ? [s.urls] : s.urls;
    if (urls.some((u) => u.startsWith('turn')) && (s.username === undefined || s.credential === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'a TURN server needs username and credential' });
    }
  });
export type IceServer = z.infer<typeof iceServerSchema>;
export const iceServersSchema = z.array(iceServerSchema).max(MAX_ICE_SERVERS);

/**
 * Which ICE candidates a peer connection may use (`RTCIceTransportPolicy`): 'all', or 'relay'
 * for TURN-relayed candidates only (peers then never learn each other's addresses, and every
 * byte goes through the TURN server).
 */
export const ICE_TRANSPORT_POLICIES = ['all', 'relay'] as const;
export type IceTransportPolicy = (typeof ICE_TRANSPORT_POLICIES)[number];
export const iceTransportPolicySchema = z.enum(ICE_TRANSPORT_POLICIES);

/** An ID of a server instance: 1-64 of [A-Za-z0-9_.-]. */
export const INSTANCE_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
export const instanceIdSchema = z.string().regex(INSTANCE_ID_RE);

const urlOrPath = boundedString(2048, 1);
const wsUrl = boundedString(2048, 1).refine((s) => /^wss?:\/\//.test(s), { message: 'expected a ws: or wss: URL' });
/** Most cache nodes a bootstrap document may name. */
export const MAX_CACHE_NODES = 8;

/** `GET /api/bootstrap`: what a client needs before its first download. */
export const bootstrapSchema = z
  .object({
    version: z.literal(BOOTSTRAP_VERSION),
    /** The instance that answered. */
    instanceId: instanceIdSchema,
    /**
     * Service endpoints. Paths are relative to the server's origin; `{contentId}` is replaced by
     * the content ID. `arrays` is a path (`/arrays`; the client makes it ws: or wss:) or an
     * absolute ws:/wss: URL; the Discovery reply names the instance to use for one swarm.
     */
    endpoints: z
      .object({
        arrays: urlOrPath,
        discovery: urlOrPath,
        catalog: urlOrPath,
        contentPolicy: urlOrPath,
        metadata: urlOrPath,
      })
      .strict(),
    limits: z
      .object({
        /** Most peers in one `peers` reply. */
        maxPeersPerReply: z.number().int().min(0).max(1000),
        /** Announce interval the service asks for, ms. */
        announceIntervalMs: z.number().int().min(1000).max(3_600_000),
        /** A member silent for this long is dropped, ms. */
        peerExpiryMs: z.number().int().min(1),
        /** Largest Arrays message, bytes of UTF-8 JSON. */
        maxSignalingMessageBytes: z.number().int().min(1),
      })
      .strict(),
    /** STUN/TURN servers for peers on other networks; empty on one LAN. */
    iceServers: iceServersSchema,
    /**
     * 'relay': use only TURN-relayed candidates. Absent means 'all'; the server sends the field
     * only when it is 'relay', so clients that predate it still read other servers' documents.
     */
    iceTransportPolicy: iceTransportPolicySchema.optional(),
    /**
     * Cache nodes named by address (docs/cache-node.md): the ws: or wss: URLs of their own
     * Arrays services. A client announces each content to these too, besides the instance
     * Discovery names, for networks where discovery through the service is not wanted. Absent
     * when none are configured.
     */
    cacheNodes: z.array(wsUrl).min(1).max(MAX_CACHE_NODES).optional(),
  })
  .strict();
export type Bootstrap = z.infer<typeof bootstrapSchema>;

/** The query of `GET /api/discovery`. `group` is required in group mode and refused otherwise. */
export const discoveryQuerySchema = z
  .object({
    contentId: z.string().regex(SHA256_HEX),
    mode: z.enum(DOWNLOAD_MODES),
    group: groupIdSchema.optional(),
  })
  .strict()
  .superRefine(refineModeGroup);
export type DiscoveryQuery = z.infer<typeof discoveryQuerySchema>;

/** `GET /api/discovery`: the Arrays instance that serves this swarm. */
export const discoverySchema = z
  .object({
    contentId: z.string().regex(SHA256_HEX),
    mode: z.enum(DOWNLOAD_MODES),
    group: groupIdSchema.optional(),
    instanceId: instanceIdSchema,
    /** Absolute ws: or wss: URL of that instance's Arrays service. */
    arraysUrl: wsUrl,
  })
  .strict();
export type Discovery = z.infer<typeof discoverySchema>;
