/**
 * What one anonymous client, and all of them together, can make the server hold or do: rates,
 * timeouts and quotas (docs/security.md has the table). Part of ServerConfig (config.ts), with
 * the same `TABSWARM_*` variables (config-env.ts); defaults here.
 */
export interface ServerLimits {
  /**
   * Announces one socket may send per second (a token bucket refilled at this rate); more get
   * `error` `rate-limited` and a strike. A client announces every `announceIntervalMs`, plus a
   * few times when it starts.
   * @default 10
   */
  announceRatePerSec: number;
  /**
   * Announces one socket may send at once before the rate applies (the bucket's size).
   * @default 20
   */
  announceBurst: number;
  /**
   * Signals one socket may send per second (token bucket); more get `rate-limited` and a
   * strike. A WebRTC link costs an offer or answer and a handful of candidates.
   * @default 50
   */
  signalRatePerSec: number;
  /**
   * Signals one socket may send at once before the rate applies.
   * @default 100
   */
  signalBurst: number;
  /**
   * Open Arrays sockets per remote address (IPv4 address, or IPv6 /64); the upgrade of one
   * more is refused with HTTP 429. Tests and benchmarks open their browser contexts from
   * 127.0.0.1, a few tens at most.
   * @default 64
   */
  maxSocketsPerAddress: number;
  /**
   * An `answer` is relayed only to a peer whose `offer` the server relayed to the answering
   * peer within this time (ms); candidates only between peers with an offer relayed either
   * way within it.
   * @default 30000
   */
  offerTtlMs: number;
  /**
   * New peer IDs one remote address (IPv4 address or IPv6 /64) may bring into one content's
   * swarm per minute (a token bucket refilled at this rate; `TABSWARM_NEW_PEER_IDS_RATE`);
   * past it the announce gets `error` `too-many-peer-ids` and the peer stays out of the swarm.
   * A tab that reconnects with its own ID is not new. A class of 30 behind one NAT fits in
   * the burst.
   * @default 30
   */
  newPeerIdsPerMinute: number;
  /**
   * New peer IDs one address may bring into one swarm at once (`TABSWARM_NEW_PEER_IDS_BURST`).
   * @default 64
   */
  newPeerIdsBurst: number;
  /**
   * An address is quarantined for a content (its peers listed to no one, their signals relayed
   * to no one) when this many distinct peer IDs that announced from it were banned for that
   * content by peers of `quarantineReporters` other addresses, within `quarantineMs`
   * (`TABSWARM_QUARANTINE_BANNED_IDS`).
   * @default 3
   */
  quarantineBannedIds: number;
  /** Distinct reporting addresses needed for a quarantine (`TABSWARM_QUARANTINE_REPORTERS`). @default 2 */
  quarantineReporters: number;
  /**
   * How long a quarantine lasts, and the window over which ban reports add up
   * (`TABSWARM_QUARANTINE_MS`).
   * @default 1800000 (30 min)
   */
  quarantineMs: number;
  /**
   * Classroom sharing (`POST /api/share`, signaling/share-api.ts): shares one remote address may
   * make per minute (a token bucket refilled at this rate; `TABSWARM_SHARE_RATE`). More get 429.
   * @default 10
   */
  shareRatePerMinute: number;
  /**
   * Shares one remote address may make at once before the rate applies (`TABSWARM_SHARE_BURST`).
   * @default 10
   */
  shareBurst: number;
  /**
   * How long a join code resolves after it was made (ms; `TABSWARM_JOIN_CODE_TTL_MS`). The long
   * link of a share keeps working after that; only the short code and `/j/<code>` expire.
   * @default 86400000 (24 h)
   */
  joinCodeTtlMs: number;
  /**
   * Resource limits against anonymous clients (docs/security.md, "Limits"). Each is per remote
   * address (an IPv4 address or an IPv6 /64) and/or in total; past it that client is refused
   * and everyone else keeps being served.
   *
   * HTTP: time to receive a request's headers (`TABSWARM_HTTP_HEADERS_TIMEOUT_MS`); a slower
   * client's connection is closed (408).
   * @default 10000
   */
  httpHeadersTimeoutMs: number;
  /** Time to receive a whole request, body included (`TABSWARM_HTTP_REQUEST_TIMEOUT_MS`). @default 60000 */
  httpRequestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (`TABSWARM_HTTP_KEEPALIVE_TIMEOUT_MS`). @default 5000 */
  httpKeepAliveTimeoutMs: number;
  /**
   * A response (a /cdn download, say) whose reader takes nothing for this long is closed, as
   * nginx's `send_timeout` (`TABSWARM_HTTP_SEND_TIMEOUT_MS`).
   * @default 30000
   */
  httpSendTimeoutMs: number;
  /**
   * Open TCP connections from one address on the HTTP port, WebSocket ones included
   * (`TABSWARM_MAX_CONNECTIONS_PER_ADDRESS`); past it a new connection is closed at once. A
   * class of 30 browsers behind one NAT needs about 7 each.
   * @default 256
   */
  maxConnectionsPerAddress: number;
  /**
   * Open TCP connections on the HTTP port in total (`TABSWARM_MAX_CONNECTIONS`); lowered at
   * start to half the process's file-descriptor limit less a headroom of 256 (a download holds
   * its socket and its file), so that the server never runs out of descriptors.
   * @default 10000
   */
  maxConnections: number;
  /**
   * Responses the built-in CDN origin streams at once to one address bucket
   * (`TABSWARM_CDN_STREAMS_PER_ADDRESS`); past it 429. A browser asks 4-6 ranges at a time, so
   * a class behind one NAT needs a few dozen.
   * @default 64
   */
  cdnStreamsPerAddress: number;
  /**
   * Responses the built-in CDN origin streams at once in total (`TABSWARM_CDN_MAX_STREAMS`);
   * past it 503. Each one may hold up to the kernel's largest TCP send buffer (`tcp_wmem`'s
   * maximum, 4 MiB on Linux by default) whether its reader reads or not, so on Linux it is
   * lowered at start until those buffers fit in half of the kernel's TCP memory-pressure
   * threshold (`tcp_mem`): past that threshold every connection of the machine slows, the
   * legitimate ones too (cdn-streams.ts).
   * @default 256
   */
  cdnMaxStreams: number;
  /**
   * Open Arrays WebSockets in total, both transports (`TABSWARM_MAX_ARRAYS_SOCKETS`); past it
   * an upgrade is refused (HTTP 503).
   * @default 50000
   */
  maxArraysSockets: number;
  /**
   * `ban` messages one socket may send per second once its burst is spent
   * (`TABSWARM_BAN_RATE`); past it a ban is ignored and answered `rate-limited` (no strike: a
   * tab tells a restarted service all its bans at once).
   * @default 2
   */
  banRatePerSec: number;
  /** `ban` messages one socket may send at once (`TABSWARM_BAN_BURST`). @default 64 */
  banBurst: number;
  /**
   * Contents with series of their own in a scrape (`TABSWARM_METRICS_TOP_CONTENTS`), the
   * largest swarms; the rest are summed under `content_id="other"`, so a scrape stays small
   * whatever the number of swarms. Unlisted classroom shares never get a series of their own.
   * @default 50
   */
  metricsTopContents: number;
  /**
   * The largest metadata file `POST /api/share` accepts (`TABSWARM_SHARE_MAX_METADATA_BYTES`):
   * sized for a 64 GiB file in 1 MiB pieces. Larger gets 413.
   * @default 6291456 (6 MiB)
   */
  shareMaxMetadataBytes: number;
  /** Live shares in total (`TABSWARM_SHARE_MAX_TOTAL`); past it a new share gets 503, no one's is evicted. @default 10000 */
  shareMaxTotal: number;
  /** Bytes of share metadata on disk in total (`TABSWARM_SHARE_MAX_TOTAL_BYTES`); past it 503. @default 1073741824 (1 GiB) */
  shareMaxTotalBytes: number;
  /** Live shares of one address (`TABSWARM_SHARE_MAX_PER_ADDRESS`); past it 429. @default 20 */
  shareMaxPerAddress: number;
  /** Bytes of share metadata of one address (`TABSWARM_SHARE_MAX_BYTES_PER_ADDRESS`); past it 429. @default 67108864 (64 MiB) */
  shareMaxBytesPerAddress: number;
  /**
   * How long a share lives (`TABSWARM_SHARE_TTL_MS`): its metadata is deleted after it, or
   * earlier by its sharer (`DELETE /api/share/<contentId>` with the secret it got).
   * @default 86400000 (24 h)
   */
  shareTtlMs: number;
  /** Join-code lookups one address may make per minute once its burst is spent (`TABSWARM_JOIN_RATE`). @default 10 */
  joinRatePerMinute: number;
  /** Join-code lookups one address may make at once (`TABSWARM_JOIN_BURST`). @default 20 */
  joinBurst: number;
  /**
   * Failed join-code lookups per minute from all addresses together (`TABSWARM_JOIN_FAILURES_PER_MINUTE`);
   * past it lookups get 429 until the minute's budget refills (guessing from many addresses).
   * @default 600
   */
  joinFailuresPerMinute: number;
  /**
   * Cache nodes (sockets whose `hello` gave a configured cache key, docs/cache-node.md)
   * connected at once to this instance (`TABSWARM_MAX_CACHE_NODES`); past it a cache `hello`
   * gets `error` `too-many-cache-nodes` and the socket is closed (1008).
   * @default 64
   */
  maxCacheNodes: number;
  /**
   * Scopes one cache node may `watch` (`TABSWARM_MAX_WATCHES_PER_CACHE_NODE`); past it a new
   * watch gets `error` `too-many-watches` (no strike). Watching a scope twice is one watch.
   * @default 16
   */
  maxWatchesPerCacheNode: number;
  /**
   * A cache node is told (`wanted`) of one content in one scope at most once per this time (ms;
   * `TABSWARM_CACHE_WANTED_REPEAT_MS`), however many peers join that swarm meanwhile.
   * @default 30000
   */
  cacheWantedRepeatMs: number;
  /**
   * Swarms one cache node's socket may be in at once (`TABSWARM_MAX_SWARMS_PER_CACHE_NODE`);
   * any other socket may be in 32 (MAX_SWARMS_PER_SOCKET). A cache node holds as many swarms as
   * `maxSwarmsPerCacheNode / 32` tabs, so its socket's rates (announces, signals, bans) are
   * those of that many sockets, its announce burst also holds one announce per swarm (it
   * re-announces every swarm when it reconnects), and its queue of unhandled frames holds
   * that many more frames.
   * @default 1024
   */
  maxSwarmsPerCacheNode: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  announceRatePerSec: 10,
  announceBurst: 20,
  signalRatePerSec: 50,
  signalBurst: 100,
  maxSocketsPerAddress: 64,
  offerTtlMs: 30_000,
  newPeerIdsPerMinute: 30,
  newPeerIdsBurst: 64,
  quarantineBannedIds: 3,
  quarantineReporters: 2,
  quarantineMs: 30 * 60 * 1000,
  shareRatePerMinute: 10,
  shareBurst: 10,
  joinCodeTtlMs: 24 * 3600 * 1000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 60_000,
  httpKeepAliveTimeoutMs: 5_000,
  httpSendTimeoutMs: 30_000,
  maxConnectionsPerAddress: 256,
  maxConnections: 10_000,
  cdnStreamsPerAddress: 64,
  cdnMaxStreams: 256,
  maxArraysSockets: 50_000,
  banRatePerSec: 2,
  banBurst: 64,
  metricsTopContents: 50,
  shareMaxMetadataBytes: 6 * 1024 * 1024,
  shareMaxTotal: 10_000,
  shareMaxTotalBytes: 1024 * 1024 * 1024,
  shareMaxPerAddress: 20,
  shareMaxBytesPerAddress: 64 * 1024 * 1024,
  shareTtlMs: 24 * 3600 * 1000,
  joinRatePerMinute: 10,
  joinBurst: 20,
  joinFailuresPerMinute: 600,
  maxCacheNodes: 64,
  maxWatchesPerCacheNode: 16,
  cacheWantedRepeatMs: 30_000,
  maxSwarmsPerCacheNode: 1024,
});
