/**
 * The liars of `--liars K`: Node WebRTC peers (test/helpers/node-peer.ts, each in a child
 * process) that run the core's Swarm and PeerSession over the real Arrays service and real
 * WebRTC (node-datachannel, each at an address of its own), hold every piece, and corrupt each
 * one they serve (behaviour 'flip': the first byte of every piece inverted). Honest peers hash
 * every piece, strike the sender of a bad one, and ban it: at once, since a liar that never
 * delivered a good piece is a stranger on probation.
 */
import { startNodePeer, type NodePeer } from '../test/helpers/node-peer.js';
import type { SwarmContent } from './content.js';

/** Liars announce this often besides the server's interval, so they keep knocking. */
const KNOCK_MS = 1000;

export const LIAR_NOTE = "liars are Node WebRTC peers running tabswarm's core with corrupted pieces (every piece served with its first byte flipped)";

export async function startLiars(content: SwarmContent, count: number, started: (liar: NodePeer) => void): Promise<NodePeer[]> {
  if (count === 0) return [];
  const { metadata, fileBytes } = await content.bytesForNodePeers();
  const liars: NodePeer[] = [];
  for (let i = 0; i < count; i++) {
    const liar = await startNodePeer({
      serverUrl: content.server.url,
      contentId: content.contentId,
      metadata,
      fileBytes,
      behaviour: 'flip',
      announceEveryMs: KNOCK_MS,
    });
    liars.push(liar);
    started(liar);
  }
  return liars;
}
