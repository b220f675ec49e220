/**
 * The composition root in the browser: wires the core to the worker pool, IndexedDB, the
 * fetch-based CDN, the Arrays WebSocket and WebRTC. One client per tab; it may run several
 * downloads, which share its peer ID and workers. Before its first peering download it reads
 * the server's bootstrap document (ICE servers), and for each content it asks Discovery which
 * Arrays instance serves that swarm; downloads served by one instance share one connection.
 */
import createDebug from 'debug';
import { peeringModeOf, resolveConfig, type ClientConfig } from '../core/config.js';
import { Download } from '../core/download.js';
import { TabswarmError } from '../core/errors.js';
import { cdnUrlsOf, openContent, openPolicy, type OpenedContent } from '../core/open-content.js';
import type { PeerConnector, Signaling } from '../core/ports.js';
import type { DownloadMode } from '../protocol/arrays-messages.js';
import type { Bootstrap } from '../protocol/bootstrap.js';
import type { ContentPolicy } from '../protocol/content-policy.js';
import { createIdbPieceStore } from '../storage/idb-piece-store.js';
import { createFetchBytes } from '../transport/fetch-bytes.js';
import { createFetchHttpRange } from '../transport/fetch-http-range.js';
import { defaultArraysUrl, fetchBootstrap, fetchDiscovery } from '../transport/fetch-services.js';
import { createWebRtcConnector } from '../transport/webrtc-connector.js';
import { createWebSocketSignaling } from '../transport/ws-signaling.js';
import { createHasherPool } from '../workers/hasher-pool.js';
import { newPeerId } from './peer-id.js';

const debug = createDebug('tabswarm:client');

export interface ClientOptions {
  /** The tabswarm server (content policy, metadata, Arrays). Default: the page's origin. */
  serverUrl?: string;
  /** Engine settings; see src/core/config.ts for defaults. */
  config?: Partial<ClientConfig>;
  /** STUN/TURN servers for peers on other networks; none are needed on one LAN. Default: the server's bootstrap document's. */
  iceServers?: RTCIceServer[];
  /** The CDN to use in simple mode when even the content policy is unavailable. Default: `<serverUrl>/cdn`. */
  cdnBaseUrl?: string;
}

export interface ClientDownload {
  readonly download: Download;
  readonly content: OpenedContent;
  /** The verified file, once the download is complete. */
  file(): Promise<Blob>;
  stop(): void;
}

export interface TabswarmClient {
  readonly peerId: string;
  /** Starts (or resumes) a download. In download mode Bypass it rejects with kind 'bypassed'. */
  download(contentId: string): Promise<ClientDownload>;
  /** The file's URL on the CDN, for the browser to download itself (download mode Bypass). */
  bypassUrl(contentId: string): Promise<string>;
  close(): void;
}

export function createClient(options: ClientOptions = {}): TabswarmClient {
  const serverUrl = options.serverUrl ?? location.origin;
  const peerId = newPeerId();
  const hasher = createHasherPool();
  const store = createIdbPieceStore();
  const http = createFetchHttpRange();
  const fetcher = createFetchBytes();
  const config = resolveConfig(options.config);
  /** One signaling connection per Arrays instance that Discovery names. */
  const signalings = new Map<string, Signaling & { close(): void }>();
  const downloads = new Set<Download>();

  // The bootstrap document, once: the ICE servers (unless the page gave its own).
  let bootstrap: Promise<Bootstrap | undefined> | undefined;
  const loadBootstrap = () =>
    (bootstrap ??= fetchBootstrap(serverUrl).catch((e: unknown) => {
      debug('no bootstrap document, using defaults: %s', e instanceof Error ? e.message : String(e));
      return undefined;
    }));
  let connector: Promise<PeerConnector> | undefined;
  const loadConnector = () =>
    (connector ??= (options.iceServers ? Promise.resolve(options.iceServers) : loadBootstrap().then((b) => b?.iceServers ?? [])).then((iceServers) =>
      createWebRtcConnector({ iceServers }),
    ));

  /** The Arrays URL that serves this content's swarm in our (peering) mode (Discovery), or the server's own. Never rejects. */
  async function arraysUrlFor(contentId: string, mode: DownloadMode): Promise<string> {
    const fallback = defaultArraysUrl(serverUrl);
    const group = mode === 'group' ? config.groupId : undefined;
    try {
      return (await fetchDiscovery(serverUrl, { contentId, mode, ...(group !== undefined ? { group } : {}) })).arraysUrl;
    } catch (e) {
      debug('discovery failed, using %s: %s', fallback, e instanceof Error ? e.message : String(e));
      return fallback;
    }
  }

  /** The signaling connection to `url`, shared by the downloads that instance serves. */
  function signalingAt(url: string): Signaling {
    let signaling = signalings.get(url);
    if (!signaling) signalings.set(url, (signaling = createWebSocketSignaling(url)));
    return signaling;
  }

  return {
    peerId,
    async bypassUrl(contentId) {
      let policy: ContentPolicy | undefined;
      try {
        policy = await openPolicy(serverUrl, contentId, fetcher);
      } catch {
        policy = undefined; // the CDN base still names it
      }
      return cdnUrlsOf(serverUrl, contentId, policy, options.cdnBaseUrl)[0]!;
    },
    async download(contentId) {
      if (config.downloadMode === 'bypass') {
        throw new TabswarmError('bypassed', 'download mode Bypass (100): tabswarm steps aside; the browser downloads the file itself (client.bypassUrl)');
      }
      const mode = peeringModeOf(config.downloadMode);
      const mayPeer = mode !== undefined && !(mode === 'group' && config.groupId === '');
      // Discovery and the bootstrap document are asked while the policy and metadata come, so
      // peering costs no extra round trips; nothing connects until the content allows peering.
      const arraysUrl = mayPeer ? arraysUrlFor(contentId, mode) : undefined;
      if (mayPeer) void loadConnector();
      const content = await openContent(serverUrl, contentId, {
        fetcher,
        hasher,
        http,
        cdnBaseUrl: options.cdnBaseUrl,
        noServices: config.downloadMode === 'simple',
      });
      const peering = content.mode === 'verified' && content.policy.peering;
      // HTTP-only and Simple never announce, nor does group mode without a group ID (Swarm):
      // those need no Arrays instance and no WebRTC.
      const [signaling, peerConnector] =
        peering && arraysUrl ? await Promise.all([arraysUrl.then(signalingAt), loadConnector()]) : [undefined, undefined];
      const download = new Download({
        contentId,
        metadata: content.metadata,
        peerId,
        cdnUrls: content.cdnUrls,
        hasher,
        store,
        http,
        signaling,
        connector: peerConnector,
        peering,
        simpleReason: content.mode === 'simple' ? content.reason : undefined,
        config: options.config,
      });
      downloads.add(download);
      void download.start();
      return {
        download,
        content,
        async file() {
          if (download.state !== 'complete') throw new TabswarmError('aborted', `the download is ${download.state}, not complete`);
          return store.assemble(download.storageId, download.pieceCount, content.metadata.mimeType);
        },
        stop() {
          download.stop();
          downloads.delete(download);
        },
      };
    },
    close() {
      for (const d of downloads) d.stop();
      downloads.clear();
      for (const s of signalings.values()) s.close();
      signalings.clear();
      hasher.close();
      store.close();
    },
  };
}
