/**
 * The composition root in the browser: wires the core to the worker pool, IndexedDB, the
 * fetch-based CDN, the Arrays WebSocket and WebRTC. One client per tab; it may run several
 * downloads, which share its peer ID, workers and signaling connection.
 */
import type { ClientConfig } from '../core/config.js';
import { Download } from '../core/download.js';
import { TabswarmError } from '../core/errors.js';
import { openContent, type OpenedContent } from '../core/open-content.js';
import { createIdbPieceStore } from '../storage/idb-piece-store.js';
import { createFetchBytes } from '../transport/fetch-bytes.js';
import { createFetchHttpRange } from '../transport/fetch-http-range.js';
import { createWebRtcConnector } from '../transport/webrtc-connector.js';
import { createWebSocketSignaling } from '../transport/ws-signaling.js';
import { createHasherPool } from '../workers/hasher-pool.js';
import { newPeerId } from './peer-id.js';

export interface ClientOptions {
  /** The tabswarm server (content policy, metadata, Arrays). Default: the page's origin. */
  serverUrl?: string;
  /** Engine settings; see src/core/config.ts for defaults. */
  config?: Partial<ClientConfig>;
  /** STUN/TURN servers for peers on other networks; none are needed on one LAN. */
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
  download(contentId: string): Promise<ClientDownload>;
  close(): void;
}

export function createClient(options: ClientOptions = {}): TabswarmClient {
  const serverUrl = options.serverUrl ?? location.origin;
  const peerId = newPeerId();
  const hasher = createHasherPool();
  const store = createIdbPieceStore();
  const http = createFetchHttpRange();
  const fetcher = createFetchBytes();
  const arraysUrl = new URL('/arrays', serverUrl);
  arraysUrl.protocol = arraysUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  const signaling = createWebSocketSignaling(arraysUrl.href);
  const connector = createWebRtcConnector({ iceServers: options.iceServers ?? [] });
  const downloads = new Set<Download>();

  return {
    peerId,
    async download(contentId) {
      const content = await openContent(serverUrl, contentId, { fetcher, hasher, http, cdnBaseUrl: options.cdnBaseUrl });
      const download = new Download({
        contentId,
        metadata: content.metadata,
        peerId,
        cdnUrls: content.cdnUrls,
        hasher,
        store,
        http,
        signaling,
        connector,
        peering: content.mode === 'verified' && content.policy.peering,
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
      signaling.close();
      hasher.close();
      store.close();
    },
  };
}
