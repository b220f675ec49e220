/**
 * Client configuration: every tunable of the download engine, with its default, in one
 * place. Components take only the `Pick<>` they use. docs/configuration.md mirrors this.
 */
export interface ClientConfig {
  /**
   * How long a download waits for peers before asking the CDN for pieces no peer holds
   * (DO's HTTP delay). Pieces that a connected peer holds are never fetched from the CDN.
   * @default 2000
   */
  httpDelayMs: number;
  /**
   * Tabs downloading together split the pieces no peer holds, each fetching its share from
   * the CDN. Another tab's share is fetched from the CDN only once peers have delivered
   * nothing for this long (the owner stalled or is unreachable); a tab that leaves the swarm
   * gives its share back at once.
   * @default 10000
   */
  peerStallMs: number;
  /**
   * Piece requests kept in flight to one peer. Enough to keep a data channel busy while
   * earlier pieces are verified.
   * @default 8
   */
  peerRequestsInFlight: number;
  /**
   * Range requests kept in flight to the CDN.
   * @default 4
   */
  cdnRequestsInFlight: number;
  /**
   * A peer that has not finished a requested piece within this time is treated as stalled:
   * the piece goes back to the pool and the peer is deprioritised (not banned).
   * @default 20000
   */
  peerRequestTimeoutMs: number;
  /**
   * Timeout for one CDN range request.
   * @default 30000
   */
  cdnRequestTimeoutMs: number;
  /**
   * Bytes of piece data in one wire frame; at most LIMITS.maxWireChunk (256 KiB - 9), so that a
   * frame fits in one data-channel message.
   * @default 65536
   */
  wireChunkBytes: number;
  /**
   * The upload side stops queueing chunks while the data channel buffers more than this.
   * Chromium closes a channel that buffers over 16 MiB.
   * @default 4194304
   */
  sendBufferHighBytes: number;
  /**
   * Most piece requests a remote peer may have outstanding with us; more is a protocol violation.
   * @default 32
   */
  maxIncomingRequests: number;
  /**
   * Most peer connections per download.
   * @default 16
   */
  maxPeers: number;
  /**
   * A peer connection whose data channel has not opened by then is dropped.
   * @default 15000
   */
  connectTimeoutMs: number;
  /**
   * Peers asked of the Arrays service per announce (DO's PeersWanted).
   * @default 20
   */
  peersWanted: number;
  /**
   * Strikes (pieces that failed verification, protocol violations) after which a peer is
   * banned for this content.
   * @default 3
   */
  strikesToBan: number;
  /**
   * Announce interval used until the Arrays service says otherwise.
   * @default 15000
   */
  announceIntervalMs: number;
  /**
   * Whether the download is in the background (DO's IsBackground).
   * @default false
   */
  isBackground: boolean;
}

export const DEFAULT_CONFIG: Readonly<ClientConfig> = Object.freeze({
  httpDelayMs: 2000,
  peerStallMs: 10_000,
  peerRequestsInFlight: 8,
  cdnRequestsInFlight: 4,
  peerRequestTimeoutMs: 20_000,
  cdnRequestTimeoutMs: 30_000,
  wireChunkBytes: 64 * 1024,
  sendBufferHighBytes: 4 * 1024 * 1024,
  maxIncomingRequests: 32,
  maxPeers: 16,
  connectTimeoutMs: 15_000,
  peersWanted: 20,
  strikesToBan: 3,
  announceIntervalMs: 15_000,
  isBackground: false,
});

export function resolveConfig(partial: Partial<ClientConfig> = {}): ClientConfig {
  const merged = { ...DEFAULT_CONFIG };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return merged;
}
