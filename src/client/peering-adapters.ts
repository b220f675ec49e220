/**
 * The browser's peering adapters for one client: the bootstrap document (ICE servers, once),
 * the WebRTC connector (once), Discovery (which Arrays instance serves a content's swarm) and
 * one Arrays WebSocket per instance, shared by the downloads it serves. Where the bootstrap
 * document names cache nodes (`cacheNodes`), a download's Arrays connection is that instance's
 * merged with one connection per cache node's Arrays URL (core/merged-signaling.ts).
 */
import createDebug from 'debug';
import { mergeSignalings, type MergedSignaling } from '../core/merged-signaling.js';
import type { PeerConnector, Signaling } from '../core/ports.js';
import type { DownloadMode } from '../protocol/arrays-messages.js';
import type { Bootstrap } from '../protocol/bootstrap.js';
import { defaultArraysUrl, fetchBootstrap, fetchDiscovery } from '../transport/fetch-services.js';
import { createWebRtcConnector } from '../transport/webrtc-connector.js';
import { createWebSocketSignaling, type WebSocketSignaling } from '../transport/ws-signaling.js';

const debug = createDebug('tabswarm:client');

export interface PeeringAdapters {
  /**
   * The Arrays connection that serves this content's swarm in this mode (Discovery, else the
   * server's own), merged with the bootstrap document's cache nodes if it names any; never rejects.
   */
  arraysFor(contentId: string, mode: DownloadMode, groupId: string): Promise<Signaling>;
  /** The WebRTC connector, with the page's ICE servers and transport policy or the bootstrap document's. */
  connector(): Promise<PeerConnector>;
  /** The shared connection to one Arrays URL (a cache node watches on the server's own: `defaultArraysUrl`). */
  signalingAt(url: string): WebSocketSignaling;
  close(): void;
}

/** What differs outside a browser (src/node/node-peering.ts): the WebSocket and WebRTC classes, and a cache node's key. */
export interface PeeringTransport {
  WebSocketImpl?: typeof WebSocket;
  /** A WebRTC implementation for simple-peer (Node: node-datachannel's, src/node/node-webrtc.ts). */
  wrtc?: () => Promise<unknown>;
  /** Sent in `hello`: this peer is a cache node (docs/cache-node.md). */
  cacheKey?: string;
  /**
   * A cache node's own Arrays service (src/node/cache-arrays.ts) and the key it presents there:
   * every content is announced there too, merged with the main service.
   */
  ownArrays?: { url: string; key: string };
}

/** The page's own ICE settings; each one left undefined comes from the bootstrap document. */
export interface PageIceSettings {
  iceServers?: RTCIceServer[] | undefined;
  iceTransportPolicy?: RTCIceTransportPolicy | undefined;
}

export function createPeeringAdapters(serverUrl: string, peerSecret: string, ice: PageIceSettings = {}, transport: PeeringTransport = {}): PeeringAdapters {
  /** One signaling connection per Arrays instance that Discovery names. */
  const signalings = new Map<string, WebSocketSignaling>();

  // The bootstrap document, once: the ICE servers and transport policy (unless the page gave its own).
  let bootstrap: Promise<Bootstrap | undefined> | undefined;
  const loadBootstrap = () =>
    (bootstrap ??= fetchBootstrap(serverUrl).catch((e: unknown) => {
      debug('no bootstrap document, using defaults: %s', e instanceof Error ? e.message : String(e));
      return undefined;
    }));
  let connector: Promise<PeerConnector> | undefined;
  const loadConnector = () =>
    (connector ??= (async () => {
      const needBootstrap = ice.iceServers === undefined || ice.iceTransportPolicy === undefined;
      const [b, wrtc] = await Promise.all([needBootstrap ? loadBootstrap() : undefined, transport.wrtc?.()]);
      return createWebRtcConnector({
        ...(wrtc !== undefined ? { wrtc } : {}),
        iceServers: ice.iceServers ?? b?.iceServers ?? [],
        iceTransportPolicy: ice.iceTransportPolicy ?? b?.iceTransportPolicy ?? 'all',
      });
    })());

  /** The Arrays URL that serves this content's swarm in our (peering) mode (Discovery), or the server's own. Never rejects. */
  async function arraysUrlFor(contentId: string, mode: DownloadMode, groupId: string): Promise<string> {
    const fallback = defaultArraysUrl(serverUrl);
    const group = mode === 'group' ? groupId : undefined;
    try {
      return (await fetchDiscovery(serverUrl, { contentId, mode, ...(group !== undefined ? { group } : {}) })).arraysUrl;
    } catch (e) {
      debug('discovery failed, using %s: %s', fallback, e instanceof Error ? e.message : String(e));
      return fallback;
    }
  }

  /** The signaling connection to `url`, shared by the downloads that instance serves. */
  function signalingAt(url: string): WebSocketSignaling {
    let signaling = signalings.get(url);
    if (!signaling) {
      const options = {
        peerSecret,
        ...(transport.WebSocketImpl !== undefined ? { WebSocketImpl: transport.WebSocketImpl } : {}),
      };
      const cacheKey = url === transport.ownArrays?.url ? transport.ownArrays.key : transport.cacheKey;
      if (cacheKey !== undefined) Object.assign(options, { cacheKey });
      signalings.set(url, (signaling = createWebSocketSignaling(url, options)));
    }
    return signaling;
  }

  /** One merge per Arrays instance (like `signalings`): its connection and the cache nodes' (shared). */
  const merged = new Map<string, MergedSignaling>();
  async function arraysFor(contentId: string, mode: DownloadMode, groupId: string): Promise<Signaling> {
    const [url, b] = await Promise.all([arraysUrlFor(contentId, mode, groupId), loadBootstrap()]);
    // A cache node stays off the other cache nodes' services; it is in its own, if it has one.
    const own = transport.ownArrays?.url;
    const cacheNodes = own !== undefined ? [own] : transport.cacheKey === undefined ? (b?.cacheNodes ?? []) : [];
    if (cacheNodes.length === 0) return signalingAt(url);
    let m = merged.get(url);
    if (!m) merged.set(url, (m = mergeSignalings(signalingAt(url), cacheNodes.map(signalingAt))));
    return m;
  }

  return {
    arraysFor,
    connector: loadConnector,
    signalingAt,
    close() {
      for (const m of merged.values()) m.close();
      merged.clear();
      for (const s of signalings.values()) s.close();
      signalings.clear();
    },
  };
}
