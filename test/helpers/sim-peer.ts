/** Starts core Downloads on a MemoryNetwork: the in-process swarm simulation's peers. */
import { randomBytes } from 'node:crypto';
import { Download } from '../../src/core/download.js';
import type { ClientConfig } from '../../src/core/config.js';
import { PeerSession } from '../../src/core/peer-session.js';
import { Bitfield } from '../../src/core/bitfield.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { fromHex } from '../../src/protocol/hex.js';
import { pieceLength } from '../../src/protocol/metadata.js';
import type { TestContent } from './content.js';
import type { MemoryCdn } from './memory-http.js';
import type { MemoryLink, MemoryNetwork } from './memory-network.js';
import { MemoryStore } from './memory-store.js';
import { createNodeHasher } from './node-hasher.js';
import { Swarm, bannedAddresses } from '../../src/core/swarm.js';
import type { Bandwidth } from '../../src/core/bandwidth.js';
import type { PeerLink } from '../../src/core/ports.js';
import { createShaper, type Shape, type ShapeTiming, type Shaper } from './shapers.js';
import { churn, type ChurnStats } from './churn.js';

export const newPeerId = (): string => randomBytes(16).toString('hex');

export interface SimPeer {
  peerId: string;
  download: Download;
  store: MemoryStore;
}

export function startPeer(
  net: MemoryNetwork,
  content: TestContent,
  cdn: MemoryCdn,
  options: { store?: MemoryStore; config?: Partial<ClientConfig>; peering?: boolean; simpleReason?: string; bandwidth?: Bandwidth; noCdn?: boolean } = {},
): SimPeer {
  const peerId = newPeerId();
  const store = options.store ?? new MemoryStore();
  const download = new Download({
    contentId: content.contentId,
    metadata: content.metadata,
    peerId,
    cdnUrls: options.noCdn ? [] : ['mem://cdn'],
    hasher: createNodeHasher(),
    store,
    http: cdn,
    signaling: net.signaling(peerId),
    connector: net.connector(peerId),
    peering: options.peering ?? true,
    simpleReason: options.simpleReason,
    bandwidth: options.bandwidth,
    // Each simulated tab keeps its own banned addresses, as a page does (createClient).
    bannedAddresses: bannedAddresses(),
    config: { httpDelayMs: 50, announceIntervalMs: 200, ...options.config },
  });
  void download.start();
  return { peerId, download, store };
}

/** A store already holding every piece: a seeder. */
export async function seededStore(content: TestContent): Promise<MemoryStore> {
  const store = new MemoryStore();
  const size = content.metadata.pieceSize;
  for (let i = 0; i < content.metadata.pieceSha256.length; i++) {
    await store.put(content.contentId, i, content.bytes.subarray(i * size, i * size + pieceLength(content.metadata, i)));
  }
  return store;
}

export function waitFor(download: Download, state: 'complete' | 'failed', timeoutMs = 20_000): Promise<void> {
  if (download.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${state}, state ${download.state}`)), timeoutMs);
    download.events.on('state', (s) => {
      if (s === state) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

/** Concatenates a peer's stored pieces: the bytes it would hand to the user. */
export async function storedBytes(peer: SimPeer, content: TestContent): Promise<Uint8Array> {
  const out = new Uint8Array(content.metadata.fileSize);
  for (let i = 0; i < content.metadata.pieceSha256.length; i++) {
    const piece = await peer.store.get(content.contentId, i);
    if (!piece) throw new Error(`piece ${i} missing`);
    out.set(piece, i * content.metadata.pieceSize);
  }
  return out;
}

/**
 * A peer that speaks the real wire protocol, claims every piece, and serves `corrupt(piece)`
 * instead of the true bytes; with `shape`, its frames also go out as that stalling peer sends
 * them (shapers.ts). `links` counts the links it opened, `asked` the pieces it was asked for.
 */
export function startLiar(
  net: MemoryNetwork,
  content: TestContent,
  corrupt: (piece: Uint8Array) => Uint8Array,
  options: {
    claimsPieces?: boolean;
    /** The pieces it claims to each peer (by that peer's ID); a liar may tell each peer another story. */
    claimsTo?: (remoteId: string, index: number) => boolean;
    shape?: Shape;
    timing?: Partial<ShapeTiming>;
    peerId?: string;
    /** Kills each link's channel (MemoryLink.abort) once it has served this many pieces on it. */
    abortAfter?: number;
    /** With abortAfter: it leaves the swarm as it kills the channel (a page that closes). */
    leaveOnAbort?: boolean;
    /** Its own relink back-off (it refuses offers meanwhile). @default DEFAULT_CONFIG's */
    relinkBackoffMs?: number;
    /** false: it offers to no one (its offers go nowhere) and only answers offers, as a server that peers connect to. */
    offers?: boolean;
  } = {},
): { peerId: string; links: () => number; linksWith: (remoteId: string) => number; asked: () => number; closeLinkTo(remoteId: string): void; stop(): void } {
  const peerId = options.peerId ?? newPeerId();
  const shapers: Shaper[] = [];
  let links = 0;
  const linksByRemote = new Map<string, number>();
  /** The last link to each remote, to close it (closeLinkTo). */
  const rawLinks = new Map<string, PeerLink>();
  let asked = 0;
  const have = new Bitfield(content.metadata.pieceSha256.length);
  if (options.claimsPieces !== false) for (let i = 0; i < have.size; i++) have.set(i);
  const connector = net.connector(peerId);
  const swarm = new Swarm({
    contentId: content.contentId,
    peerId,
    signaling: net.signaling(peerId),
    // Not offering: a link it starts is never signaled, so never opens (glare: it answers a
    // peer's offer if its peer ID is the higher).
    connector: options.offers === false ? { connect: (remoteId) => connector.connect(remoteId, false) } : connector,
    config: { ...DEFAULT_CONFIG, announceIntervalMs: 200, relinkBackoffMs: options.relinkBackoffMs ?? DEFAULT_CONFIG.relinkBackoffMs },
    report: () => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 0, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 }),
    onLink: (raw) => {
      links++;
      linksByRemote.set(raw.remoteId, (linksByRemote.get(raw.remoteId) ?? 0) + 1);
      rawLinks.set(raw.remoteId, raw);
      let link: PeerLink = raw;
      if (options.shape) {
        const shaper = createShaper(options.shape, (i) => pieceLength(content.metadata, i), (f) => raw.send(f), options.timing);
        shapers.push(shaper);
        raw.on('close', () => shaper.stop());
        link = {
          remoteId: raw.remoteId,
          signal: (d) => raw.signal(d),
          send: (f) => shaper.send(f),
          get bufferedAmount() {
            return raw.bufferedAmount;
          },
          close: () => raw.close(),
          on: (event, listener) => raw.on(event, listener),
        };
      }
      let servedHere = 0;
      let told = have;
      if (options.claimsTo) {
        told = new Bitfield(have.size);
        for (let i = 0; i < have.size; i++) if (options.claimsTo(raw.remoteId, i)) told.set(i);
      }
      const session = new PeerSession(
        link,
        {
          contentId: fromHex(content.contentId)!,
          pieceCount: have.size,
          pieceLength: (i) => pieceLength(content.metadata, i),
          have: told,
          readPiece: async (i) => {
            asked++;
            if (options.abortAfter !== undefined && servedHere++ >= options.abortAfter) {
              (raw as MemoryLink).abort();
              if (options.leaveOnAbort) stop();
              throw new Error('the channel died');
            }
            const size = content.metadata.pieceSize;
            return corrupt(content.bytes.slice(i * size, i * size + pieceLength(content.metadata, i)));
          },
        },
        DEFAULT_CONFIG,
      );
      session.start();
    },
  });
  swarm.start();
  function stop(): void {
    for (const sh of shapers) sh.stop();
    swarm.stop();
  }
  const closeLinkTo = (id: string) => rawLinks.get(id)?.close();
  return { peerId, links: () => links, linksWith: (id) => linksByRemote.get(id) ?? 0, asked: () => asked, closeLinkTo, stop };
}

/** A request/cancel churner (churn.ts) in the memory swarm; `stats` sums its links' counters. */
export function startChurner(
  net: MemoryNetwork,
  content: TestContent,
  options: { claimsAll: boolean; everyMs?: number; cancelAfterMs?: number },
): { peerId: string; stats: () => ChurnStats; stop(): void } {
  const peerId = newPeerId();
  const all: ChurnStats[] = [];
  const swarm = new Swarm({
    contentId: content.contentId,
    peerId,
    signaling: net.signaling(peerId),
    connector: net.connector(peerId),
    config: { ...DEFAULT_CONFIG, announceIntervalMs: 200 },
    report: () => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left: options.claimsAll ? 0 : content.metadata.fileSize, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 }),
    onLink: (link) => {
      all.push(
        churn(link, {
          contentId: fromHex(content.contentId)!,
          pieceCount: content.metadata.pieceSha256.length,
          claimsAll: options.claimsAll,
          everyMs: options.everyMs ?? 2,
          cancelAfterMs: options.cancelAfterMs ?? 0,
        }),
      );
    },
  });
  swarm.start();
  const sum = (): ChurnStats => {
    const t: ChurnStats = { requests: 0, cancels: 0, bytesReceived: 0, rejects: 0 };
    for (const s of all) for (const k of Object.keys(t) as Array<keyof ChurnStats>) t[k] += s[k];
    return t;
  };
  return { peerId, stats: sum, stop: () => swarm.stop() };
}
