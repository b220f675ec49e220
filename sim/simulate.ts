/**
 * One simulation (issue 18): the real core's Downloads, one per simulated tab, over the
 * simulated network and CDN, on simulated time. A run is a function of its options: the
 * scenario's plan, the peer IDs, the registry's sampling and the core's own random choices all
 * come from the seed (Math.random is the seeded generator while the run lasts, and put back).
 */
import { performance } from 'node:perf_hooks';
import type { ClientConfig } from '../src/core/config.js';
import { Download } from '../src/core/download.js';
import { bannedAddresses } from '../src/core/swarm.js';
import { DEFAULT_SERVER_CONFIG } from '../signaling/config.js';
import type { SimRecording } from '../src/protocol/sim-recording.js';
import { startHostilePeer, type HostilePeer } from './hostile-peers.js';
import { FrameRecorder } from './frame-recorder.js';
import { LinkModel } from './link-model.js';
import { seededRandom, randomHex } from './random.js';
import { scaledConfig } from './scaled-config.js';
import { scenarioBound, type ScenarioBound } from './scenario-bound.js';
import { planScenario, type PeerPlan, type ScenarioName, type ScenarioPlan } from './scenarios.js';
import { SimBuffers } from './sim-buffers.js';
import { SimCdn, type SimCdnOrigin } from './sim-cdn.js';
import { SimClock } from './sim-clock.js';
import { makeSimContent } from './sim-content.js';
import { SimNetwork } from './sim-network.js';
import { SimStore } from './sim-store.js';
import { createNodeHasher } from './sync-hasher.js';

export interface SimOptions {
  peers: number;
  scenario: ScenarioName;
  seed?: number;
  /** The simulated file, MiB (1 MiB pieces). @default 256 */
  fileMiB?: number;
  /** The CDN's rate, bytes per second. @default the scenario's (400 Mbit/s) */
  cdnBps?: number;
  /** Keep frames for the replay view (sim-recording.ts). @default false */
  record?: boolean;
  /** Called every `frameMs` of simulated time. */
  onProgress?: (p: { completed: number; of: number; simS: number }) => void;
  /** A run that has not finished by this many times the bound ends there (counted as unfinished). @default 20 */
  timeLimitBounds?: number;
  /** The peers and the CDN, instead of the scenario's (a cross-check with real tabs sets its own). */
  plan?: ScenarioPlan;
  /** Settings for every peer's core beside the scenario's (full-size bytes; scaled here). */
  config?: Partial<ClientConfig>;
  /** Called with each honest peer's Download as it starts (diagnostics). */
  onDownload?: (download: Download, index: number, simNowS: () => number) => void;
  /** Each CDN response at most this fast, bytes per second (a per-connection cap, as the swarm demo's origin has). @default none */
  cdnPerRequestBps?: number;
}

export interface PeerOutcome {
  kind: PeerPlan['kind'];
  cluster: number;
  background: boolean;
  uploadBps: number;
  downloadBps: number;
  joinS: number;
  /** When it completed, seconds; undefined if it did not (left, hostile, or out of time). */
  doneS?: number;
  /** It left by plan before completing. */
  left: boolean;
  /** The partition whose bound it is held to ('' if none: hostile or leaving). */
  partition: string;
  piecesFromCdn: number;
  piecesFromPeers: number;
  /** Pieces it served to others. */
  piecesUploaded: number;
  /** Pieces stored whose bytes were wrong (must be 0). */
  wrongPieces: number;
  /** Honest peers this one banned (must be 0), and dishonest ones. */
  bannedHonest: number;
  bannedHostile: number;
  /** Honest peers that banned this one (an honest peer: none). */
  timesBanned: number;
  /** Its pieces that failed verification at honest peers (a liar's lies that arrived). */
  piecesRejected: number;
  /** A liar or staller: pieces it was asked for (a slow liar's lies may be cancelled before they arrive). */
  asked: number;
}

export interface SimResult {
  scenario: ScenarioName;
  description: string;
  peers: number;
  seed: number;
  fileBytes: number;
  pieceCount: number;
  cdnBps: number;
  bound: ScenarioBound;
  outcomes: PeerOutcome[];
  /** Bytes the CDN sent (full size). */
  cdnBytes: number;
  /** Simulated seconds until the last honest peer completed (or the time limit). */
  simS: number;
  /** Why the run ended: every honest peer that stays completed, or the time limit. */
  ended: 'done' | 'time' | 'idle';
  wallS: number;
  events: number;
  recording?: SimRecording;
}

/** The actual bytes of a piece (the metadata's smallest); it stands for 1 MiB. */
const PIECE_BYTES = 16 * 1024;
const MiB = 1024 * 1024;
const BYTE_SCALE = MiB / PIECE_BYTES;

export async function simulate(o: SimOptions): Promise<SimResult> {
  const seed = o.seed ?? 1;
  const random = seededRandom(seed);
  const pieceCount = o.fileMiB ?? 256;
  const fileBytes = pieceCount * MiB;
  const plan = o.plan ?? planScenario(o.scenario, o.peers, random, o.cdnBps);
  const bound = scenarioBound(plan, fileBytes);
  const content = makeSimContent(pieceCount, PIECE_BYTES, seed);
  const clock = new SimClock();
  const t0 = clock.now();
  const links = new LinkModel();
  links.add('cdn', { uploadBps: plan.cdnBps, downloadBps: 1e12, latencyMs: 5 });
  const net = new SimNetwork({
    clock,
    links,
    byteScale: BYTE_SCALE,
    announceIntervalMs: DEFAULT_SERVER_CONFIG.announceIntervalMs,
    maxPeersPerReply: DEFAULT_SERVER_CONFIG.maxPeersPerReply,
    serverLatencyMs: 5,
    random,
    truePiece: (index) => content.piece(index),
  });
  // Piece buffers go round (sim-buffers.ts): a peer's piece is assembled in one, a CDN response
  // is one, and each comes back when the piece is hashed.
  const buffers = new SimBuffers();
  const origin: SimCdnOrigin = {
    clock,
    links,
    cdnId: 'cdn',
    byteScale: BYTE_SCALE,
    bytes: (start, end) => {
      const out = new Uint8Array(buffers.take(end - start));
      out.set(content.bytes.subarray(start, end));
      return out;
    },
    fileBytes: content.metadata.fileSize,
    served: { requests: 0, bytes: 0 },
    ...(o.cdnPerRequestBps !== undefined ? { perRequestBps: o.cdnPerRequestBps } : {}),
  };
  const byDigest = new Map(content.metadata.pieceSha256.map((hex, i) => [Buffer.from(hex, 'hex').toString('latin1'), content.piece(i)]));
  const hasher = createNodeHasher({ truePiece: (digest) => byDigest.get(digest), recycle: (data) => buffers.recycle(data) });
  const ids = plan.peers.map(() => randomHex(random));
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const outcomes: PeerOutcome[] = plan.peers.map((p, i) => ({
    kind: p.kind,
    cluster: p.cluster,
    background: p.background,
    uploadBps: p.profile.uploadBps,
    downloadBps: p.profile.downloadBps,
    joinS: p.joinMs / 1000,
    left: false,
    partition: bound.partitionOf[i]!,
    piecesFromCdn: 0,
    piecesFromPeers: 0,
    piecesUploaded: 0,
    wrongPieces: 0,
    bannedHonest: 0,
    bannedHostile: 0,
    timesBanned: 0,
    piecesRejected: 0,
    asked: 0,
  }));
  const stores: Array<SimStore | undefined> = [];
  const downloads: Array<Download | undefined> = [];
  const hostiles = new Map<number, HostilePeer>();
  /** Hostile peers in the swarm (drawn with nothing: what they claim is a lie). */
  const present: boolean[] = [];
  const counted = outcomes.filter((x) => x.partition !== '').length;
  let completed = 0;

  const join = (i: number): void => {
    const p = plan.peers[i]!;
    const peerId = ids[i]!;
    const out = outcomes[i]!;
    links.add(peerId, p.profile);
    const address = p.cluster >= 0 ? `10.${p.cluster >> 8}.${p.cluster & 255}.1` : `peer-${i}`;
    const { signaling, connector } = net.join(peerId, address, p.profile.latencyMs);
    const mode = p.cluster >= 0 ? 'lan' : 'internet';
    // A piece goes as one message (wireChunkBytes: the actual piece): a piece is only of use,
    // to keep or to pass on, once whole, and the link model lets a message cross both links
    // at once; 16 chunks would cost 16 events for the same times.
    const config = { ...scaledConfig(BYTE_SCALE, { ...o.config, downloadMode: mode, isBackground: p.background }), wireChunkBytes: PIECE_BYTES };
    if (p.kind !== 'honest') {
      hostiles.set(i, startHostilePeer(p.kind, { peerId, content, signaling, connector, clock, config, mode }));
      present[i] = true;
      return;
    }
    const store = new SimStore(content);
    const download = new Download({
      contentId: content.contentId,
      metadata: content.metadata,
      peerId,
      cdnUrls: ['sim://cdn/file'],
      hasher,
      store,
      http: new SimCdn(origin, peerId, p.profile.latencyMs),
      signaling,
      connector,
      buffers,
      peering: true,
      bannedAddresses: bannedAddresses(),
      config,
      clock,
    });
    stores[i] = store;
    downloads[i] = download;
    download.events.on('piece', (e) => {
      if (e.kind === 'cdn') out.piecesFromCdn++;
      else if (e.kind === 'peer') out.piecesFromPeers++;
    });
    download.events.on('rejected', (e) => {
      const source = outcomes[indexOf.get(e.source) ?? -1];
      if (source) source.piecesRejected++;
    });
    download.events.on('peer', (e) => {
      if (e.event !== 'banned') return;
      const target = outcomes[indexOf.get(e.peerId) ?? -1];
      if (!target) return;
      target.timesBanned++;
      if (target.kind === 'honest') out.bannedHonest++;
      else out.bannedHostile++;
    });
    download.events.on('state', (s) => {
      if (s !== 'complete' || out.doneS !== undefined) return;
      out.doneS = (clock.now() - t0) / 1000;
      if (out.partition !== '') completed++;
      if (p.seedMs !== undefined) clock.setTimeout(() => leave(i), p.seedMs);
    });
    o.onDownload?.(download, i, () => (clock.now() - t0) / 1000);
    void download.start();
  };

  const leave = (i: number): void => {
    const d = downloads[i];
    if (!d) return;
    if (outcomes[i]!.doneS === undefined) outcomes[i]!.left = true;
    outcomes[i]!.piecesUploaded = uploadedPieces(d);
    d.stop();
    net.kill(ids[i]!, content.contentId);
    downloads[i] = undefined;
  };

  for (const [i, p] of plan.peers.entries()) {
    clock.setTimeout(() => join(i), p.joinMs);
    if (p.leaveMs !== undefined) clock.setTimeout(() => leave(i), p.leaveMs);
  }

  const frameMs = Math.max(250, Math.ceil((bound.seconds * 1000) / 150 / 250) * 250);
  const recorder = o.record ? new FrameRecorder(frameMs) : undefined;
  const frameTimer = clock.setInterval(() => {
    o.onProgress?.({ completed, of: counted, simS: (clock.now() - t0) / 1000 });
    recorder?.tick(
      (clock.now() - t0) / 1000,
      origin.served.bytes * BYTE_SCALE,
      outcomes.reduce((n, x) => n + x.piecesFromPeers, 0) * MiB,
      () => plan.peers.map((_, i) => (downloads[i] ? stores[i]!.count : present[i] ? 0 : -1)),
      () => outcomes.map((x) => x.piecesFromCdn),
    );
  }, frameMs);

  const mathRandom = Math.random;
  Math.random = random;
  const wall0 = performance.now();
  let ended: SimResult['ended'];
  try {
    const limitMs = t0 + Math.max(600, (o.timeLimitBounds ?? 20) * bound.seconds) * 1000;
    ended = await clock.run(() => completed >= counted, limitMs);
  } finally {
    Math.random = mathRandom;
  }
  const wallS = (performance.now() - wall0) / 1000;
  const simS = (clock.now() - t0) / 1000;
  clock.clearInterval(frameTimer);
  for (const [i, d] of downloads.entries()) {
    if (d) {
      d.stop();
      outcomes[i]!.piecesUploaded = uploadedPieces(d);
    }
    outcomes[i]!.wrongPieces = stores[i]?.wrong ?? 0;
  }
  for (const [i, h] of hostiles) {
    h.stop();
    outcomes[i]!.asked = h.asked();
  }
  return {
    scenario: plan.name,
    description: plan.description,
    peers: plan.peers.length,
    seed,
    fileBytes,
    pieceCount,
    cdnBps: plan.cdnBps,
    bound,
    outcomes,
    cdnBytes: origin.served.bytes * BYTE_SCALE,
    simS,
    ended,
    wallS,
    events: clock.fired,
    ...(recorder ? { recording: recordingOf(plan, bound, fileBytes, pieceCount, seed, recorder, outcomes) } : {}),
  };
}

/** Bytes a Download uploaded, in (actual) pieces. */
const uploadedPieces = (d: Download): number => Math.round(d.stats.snapshot().bytesUploaded / PIECE_BYTES);

function recordingOf(plan: ScenarioPlan, bound: ScenarioBound, fileBytes: number, pieceCount: number, seed: number, recorder: FrameRecorder, outcomes: PeerOutcome[]): SimRecording {
  return {
    format: 'tabswarm-sim/1',
    scenario: plan.name,
    seed,
    fileBytes,
    pieceCount,
    boundS: bound.seconds,
    cdnBps: plan.cdnBps,
    frameMs: recorder.frameMs,
    peers: plan.peers.map((p, i) => ({
      kind: p.kind,
      cluster: p.cluster,
      uploadBps: p.profile.uploadBps,
      downloadBps: p.profile.downloadBps,
      joinS: p.joinMs / 1000,
      ...(outcomes[i]!.doneS !== undefined ? { doneS: outcomes[i]!.doneS } : {}),
    })),
    frames: recorder.frames,
  };
}
