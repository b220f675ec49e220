/**
 * Hostile peers: what one misbehaving peer costs a swarm of two tabs (a 64 MiB file, the
 * page's default settings: 2 s HTTP delay), against the same two tabs with no such peer,
 * measured in the same run. The peers are the Node peers of the e2e tests
 * (test/helpers/node-peer.ts): the real protocol over real WebRTC, each at an address of its own.
 *
 *   stall_time_vs_clean         the worst of silent, half-then-silent, trickle and slow: the two
 *                               tabs' time with the staller / without it (target <= 1.3)
 *   upload_amplification        bytes the tabs uploaded to a request/cancel churner that claims
 *                               every piece / file size (target <= 1)
 *   upload_amplification_claims_nothing   the same for a churner that claims no piece
 *   liar_rotating_bad_pieces_per_tab      bad pieces the worst tab took from a liar that comes back
 *                               under a new peer ID after each ban (target <= 4)
 *   liar_rotating_time_vs_clean the two tabs' time with that liar / without (target <= 1.2)
 *   honest_newcomer_first_piece_vs_before the first piece of a tab joining a seeder, with probation
 *                               (one request at a time until a verified piece) / without
 *                               (`strangerRequestsInFlight=8`): the median of alternating joins
 *                               (target <= 1.1)
 *
 * "Clean" is the mean of two runs with no Node peer, one before and one after the hostile ones.
 */
import { createHash } from 'node:crypto';
import { deterministicChunk } from '../signaling/deterministic-content.js';
import { parseMetadata, type Metadata } from '../src/protocol/metadata.js';
import { startNodePeer, type Behaviour, type NodePeer, type NodePeerOptions } from '../test/helpers/node-peer.js';
import type { BenchContext, BenchResult } from './types.js';
import { MiB, newProbedPage, percentile, round, startContentServer, waitProbe, type ContentServer } from './util.js';

const SEED = 61;
const STALLERS: Behaviour[] = ['silent', 'half-then-silent', 'trickle', 'slow'];

interface Run {
  seconds: number;
  rejected: number[];
  uploadedTo: (peerId: string) => number;
}

async function fileOf(content: ContentServer): Promise<{ metadata: Metadata; fileBytes: Uint8Array }> {
  const res = await fetch(`${content.server.url}/meta/${content.contentId}`);
  const parsed = parseMetadata(new Uint8Array(await res.arrayBuffer()));
  if (!parsed.ok) throw new Error(`metadata: ${parsed.reason}`);
  const fileBytes = deterministicChunk(SEED, 0, content.fileSize);
  if (createHash('sha256').update(fileBytes).digest('hex') !== parsed.metadata.fileSha256) throw new Error('regenerated file differs from the published one');
  return { metadata: parsed.metadata, fileBytes };
}

/** Two tabs open the link together; the time until both are complete, and what they saw. */
async function twoTabs(ctx: BenchContext, content: ContentServer): Promise<Run> {
  const pages = await Promise.all([0, 1].map(() => newProbedPage(ctx.browser)));
  try {
    const t0 = Date.now();
    await Promise.all(pages.map((p) => p.page.goto(content.link({}))));
    const probes = await Promise.all(pages.map((p) => waitProbe(p.page, 'completeAt', 300_000)));
    const seconds = (Math.max(...probes.map((p) => p.completeAt)) - t0) / 1000;
    const snaps = await Promise.all(pages.map((p) => p.page.evaluate(() => window.tabswarm.current()!.download.snapshot())));
    return {
      seconds,
      rejected: snaps.map((s) => s.piecesRejected),
      uploadedTo: (id) => snaps.reduce((n, s) => n + (s.peers.find((p) => p.peerId === id)?.uploaded ?? 0), 0),
    };
  } finally {
    for (const p of pages) await p.context.close();
  }
}

export async function hostageBench(ctx: BenchContext): Promise<BenchResult> {
  const size = ctx.tiny ? 8 * MiB : 64 * MiB;
  const joins = ctx.tiny ? 2 : 6;
  const content = await startContentServer(size, SEED);
  const nodes: NodePeer[] = [];
  const withPeer = async (behaviour: Behaviour, extra: Partial<NodePeerOptions> = {}): Promise<{ run: Run; peer: NodePeer }> => {
    const { metadata, fileBytes } = await fileOf(content);
    const peer = await startNodePeer({ serverUrl: content.server.url, contentId: content.contentId, metadata, fileBytes, behaviour, announceEveryMs: 500, ...extra });
    nodes.push(peer);
    try {
      const run = await twoTabs(ctx, content);
      await peer.sync();
      return { run, peer };
    } finally {
      await peer.stop();
    }
  };
  try {
    ctx.log(`hostage: two tabs, ${size / MiB} MiB, default settings`);
    const clean1 = await twoTabs(ctx, content);
    ctx.log(`hostage: clean ${clean1.seconds.toFixed(2)} s`);
    const stalls: Record<string, number> = {};
    for (const b of STALLERS) {
      stalls[b] = (await withPeer(b)).run.seconds;
      ctx.log(`hostage: ${b} ${stalls[b]!.toFixed(2)} s`);
    }
    const churnAll = await withPeer('churn');
    const churnNone = await withPeer('churn', { churnClaimsAll: false });
    ctx.log(`hostage: churners got ${churnAll.peer.stats.churnBytesReceived} and ${churnNone.peer.stats.churnBytesReceived} bytes`);
    const liar = await withPeer('flip', { rotate: 30 });
    ctx.log(`hostage: rotating liar ${liar.run.seconds.toFixed(2)} s, ${liar.peer.peerIds().length} peer IDs, bad pieces ${liar.run.rejected.join('/')}`);
    const clean2 = await twoTabs(ctx, content);
    const clean = (clean1.seconds + clean2.seconds) / 2;
    ctx.log(`hostage: clean again ${clean2.seconds.toFixed(2)} s`);

    // Probation's cost: a newcomer's first piece from a seeder, with and without it, alternating.
    const seeder = await newProbedPage(ctx.browser);
    const firsts: Record<'with' | 'without', number[]> = { with: [], without: [] };
    try {
      await seeder.page.goto(content.link({ httpDelayMs: 0 }));
      await waitProbe(seeder.page, 'completeAt', 300_000);
      for (let j = 0; j < 2 * joins; j++) {
        const kind = j % 2 === 0 ? 'with' : 'without';
        const peer = await newProbedPage(ctx.browser);
        try {
          const t0 = Date.now();
          await peer.page.goto(content.link(kind === 'with' ? { httpDelayMs: 600_000 } : { httpDelayMs: 600_000, strangerRequestsInFlight: 8, strangerStrikesToBan: 3 }));
          const p = await waitProbe(peer.page, 'firstPeerPieceAt', 60_000);
          firsts[kind].push((p.firstPeerPieceAt - t0) / 1000);
        } finally {
          await peer.context.close();
        }
      }
    } finally {
      await seeder.context.close();
    }
    const firstWith = percentile(firsts.with, 50);
    const firstWithout = percentile(firsts.without, 50);
    ctx.log(`hostage: first piece with probation ${firsts.with.map((x) => x.toFixed(3)).join(', ')} s; without ${firsts.without.map((x) => x.toFixed(3)).join(', ')} s`);

    const worst = Math.max(...Object.values(stalls));
    return {
      hostage_file_mib: size / MiB,
      hostage_clean_s: round(clean),
      ...Object.fromEntries(Object.entries(stalls).map(([b, s]) => [`stall_${b.replaceAll('-', '_')}_s`, round(s)])),
      stall_time_vs_clean: round(worst / clean),
      upload_amplification: round(churnAll.run.uploadedTo(churnAll.peer.peerId) / size),
      upload_amplification_claims_nothing: round(churnNone.run.uploadedTo(churnNone.peer.peerId) / size),
      churner_requests: churnAll.peer.stats.churnRequests + churnNone.peer.stats.churnRequests,
      liar_rotating_peer_ids: liar.peer.peerIds().length,
      liar_rotating_bad_pieces_per_tab: Math.max(...liar.run.rejected),
      liar_rotating_time_s: round(liar.run.seconds),
      liar_rotating_time_vs_clean: round(liar.run.seconds / clean),
      first_piece_with_probation_s: round(firstWith),
      first_piece_without_probation_s: round(firstWithout),
      honest_newcomer_first_piece_vs_before: round(firstWith / firstWithout),
    };
  } finally {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await content.close();
  }
}
