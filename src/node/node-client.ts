/**
 * The composition root in Node, for the cache node (`tabswarm cache`) and the command-line
 * download (`tabswarm get`): the same core a tab runs (TabDownloads, Download, Swarm,
 * PeerSession), wired to a disk store (src/node/disk-piece-store.ts) and its records
 * (disk-content-cache.ts), node:crypto hashing, fetch for the CDN and the services, `ws` for
 * the Arrays service and node-datachannel for WebRTC (node-webrtc.ts). Everything a tab checks,
 * it checks: the metadata against its content ID, every piece against its hash before it is
 * kept or served, the whole file against its SHA-256; peers that lie are struck and banned.
 *
 * One process holds one directory (the cache records' lock says so); pieces go to the disk as
 * they are verified, so memory stays flat whatever the file size.
 */
import { statfs } from 'node:fs/promises';
import createDebug from 'debug';
import { createClientDownload, type ClientDownload } from '../client/client-download.js';
import { newPeerIdentity } from '../client/peer-id.js';
import { createPeeringAdapters } from '../client/peering-adapters.js';
import { createBandwidth } from '../core/bandwidth.js';
import { BufferPool } from '../core/buffer-pool.js';
import { resolveConfig, type ClientConfig } from '../core/config.js';
import { TabswarmError } from '../core/errors.js';
import type { PerfSnapshot } from '../core/status.js';
import type { StorageRoom } from '../core/storage-room.js';
import { bannedAddresses } from '../core/swarm.js';
import { TabDownloads, type OpenRequest } from '../core/tab-downloads.js';
import { createFetchBytes } from '../transport/fetch-bytes.js';
import { defaultArraysUrl } from '../transport/fetch-services.js';
import { createFetchHttpRange } from '../transport/fetch-http-range.js';
import type { WebSocketSignaling } from '../transport/ws-signaling.js';
import { boundWebSocket } from './bound-websocket.js';
import { createDiskContentCache, type DiskContentCache } from './disk-content-cache.js';
import { DiskPieceStore } from './disk-piece-store.js';
import { createNodeHasher } from './node-hasher.js';
import { loadNodeWebRtc } from './node-webrtc.js';

const debug = createDebug('tabswarm:node');

export interface NodeClientOptions {
  /** The tabswarm server (content policy, metadata, bootstrap, Discovery, Arrays). */
  serverUrl: string;
  /** The disk store's directory: one file per content and its records (created if missing). */
  directory: string;
  /** Settings over the core's defaults (src/core/config.ts). */
  config?: Partial<ClientConfig>;
  /** Offer the contents complete in the store to peers from the start, as a tab seeds its cache. Default: true. */
  seedCache?: boolean;
  /** A cache node's key, sent in `hello` (docs/cache-node.md). Default: none (an ordinary peer). */
  cacheKey?: string;
  /** A cache node's own Arrays service (cache-arrays.ts): every content is announced there too. */
  ownArrays?: { url: string; key: string };
  /** The one address of the ICE host candidates and of the Arrays socket. Default: every address. */
  bindAddress?: string;
  /** STUN/TURN servers and transport policy. Default: the bootstrap document's. */
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Flush each piece to the disk before it is recorded (survives a power cut). Default: true. */
  durable?: boolean;
  log?: (message: string, ...args: unknown[]) => void;
}

export interface NodeClient {
  readonly peerId: string;
  readonly settings: ClientConfig;
  readonly store: DiskPieceStore;
  readonly cache: DiskContentCache;
  /** Starts or resumes a download of a content ID or an app link (as a tab's `client.download`). */
  download(target: string, request?: OpenRequest): Promise<ClientDownload>;
  /** Where a content's bytes are on disk (complete once its download is). */
  pathOf(contentId: string): string;
  /** The totals and every download's and seed's status (DO's PerfSnap). */
  status(): PerfSnapshot;
  /** Whether a content is downloading or seeding now. */
  isActive(contentId: string): boolean;
  /** Stops a content's download or seed (its file is then closed, and may be evicted). */
  stop(contentId: string): void;
  /** The connection to the server's Arrays service, or to another Arrays URL (a cache node watches on it). */
  arrays(url?: string): WebSocketSignaling;
  /** Stops every download and seed, closes the connections, and releases the directory. */
  close(): Promise<void>;
}

/** The room check's view of a disk: what is free on the file system that holds `directory`. */
function diskRoom(directory: string): StorageRoom {
  return {
    async estimate() {
      const s = await statfs(directory);
      return { quota: Number(s.bavail) * Number(s.bsize), usage: 0 };
    },
  };
}

export async function createNodeClient(options: NodeClientOptions): Promise<NodeClient> {
  const log = options.log ?? debug;
  const identity = newPeerIdentity();
  const hasher = createNodeHasher();
  const buffers = new BufferPool();
  const store = new DiskPieceStore({ directory: options.directory, hasher, ...(options.durable !== undefined ? { durable: options.durable } : {}) });
  const cache = await createDiskContentCache({ pieces: store, directory: options.directory });
  const config = resolveConfig(options.config ?? {});
  const bandwidth = createBandwidth(config);
  const peering = createPeeringAdapters(
    options.serverUrl,
    identity.secret,
    { iceServers: options.iceServers, iceTransportPolicy: options.iceTransportPolicy },
    {
      WebSocketImpl: boundWebSocket(options.bindAddress),
      wrtc: () => loadNodeWebRtc(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
      ...(options.cacheKey !== undefined ? { cacheKey: options.cacheKey } : {}),
      ...(options.ownArrays !== undefined ? { ownArrays: options.ownArrays } : {}),
    },
  );
  const tab = new TabDownloads({
    peerId: identity.peerId,
    serverUrl: options.serverUrl,
    hasher,
    store,
    http: createFetchHttpRange(fetch, { buffers }),
    fetcher: createFetchBytes(),
    cache,
    bandwidth,
    room: diskRoom(options.directory),
    bannedAddresses: bannedAddresses(),
    buffers,
    arraysFor: peering.arraysFor,
    connector: peering.connector,
    hasWebRtc: () => true,
    config: () => config,
    log,
  });
  tab.begin(options.seedCache !== false);
  let closed: Promise<void> | undefined;
  return {
    peerId: identity.peerId,
    settings: config,
    store,
    cache,
    async download(target, request = {}) {
      const opened = await tab.open(target, request);
      return createClientDownload(opened.download, opened.content, {
        ...opened.hooks,
        store: {
          get: (storageId, index) => store.get(storageId, index),
          assemble: () => Promise.reject(new TabswarmError('storage-error', 'a Node download is a file on disk: read it at pathOf(contentId)')),
        },
        signal: request.signal,
        signaling: opened.signaling,
        peeringOff: opened.peeringOff,
        url: () => Promise.reject(new TabswarmError('no-service-worker', 'there is no Service Worker in Node: read the file at pathOf(contentId)')),
        setPlayer: () => undefined,
      });
    },
    pathOf: (contentId) => store.contentPath(contentId),
    status: () => tab.status(),
    isActive: (contentId) => tab.isActive(contentId),
    stop: (contentId) => tab.stop(contentId),
    arrays: (url) => peering.signalingAt(url ?? defaultArraysUrl(options.serverUrl)),
    close() {
      closed ??= (async () => {
        tab.close();
        bandwidth.close();
        peering.close();
        // The store's last writes first: closing the cache releases the directory's lock.
        await store.close();
        await cache.close();
      })();
      return closed;
    },
  };
}
