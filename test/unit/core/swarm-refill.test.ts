/**
 * A drop that leaves a tab short of links (fewer than half of `maxPeers`) makes it announce at
 * once for peers to link to, at most every `refillAnnounceMs`; a drop that leaves enough
 * links, or `refillAnnounceMs` 0, waits for the next announce as before.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { Emitter } from '../../../src/core/emitter.js';
import type { PeerConnector, Signaling, SignalingEvents } from '../../../src/core/ports.js';
import { Swarm } from '../../../src/core/swarm.js';
import { FakeLink } from '../../helpers/fake-link.js';

const CONTENT = 'c'.repeat(64);
const PEERS = ['b', 'd', 'e', 'f'].map((c) => c.repeat(32));
const PROGRESS = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 };

function setup(refillAnnounceMs: number) {
  const events = new Emitter<SignalingEvents>();
  let announces = 0;
  const signaling = { announce: () => void announces++, signal: () => undefined, leave: () => undefined, ban: () => undefined, on: (e, l) => events.on(e, l) } as Signaling;
  const connector: PeerConnector = { connect: (remoteId) => new FakeLink(remoteId) };
  const swarm = new Swarm({
    contentId: CONTENT,
    peerId: 'a'.repeat(32),
    signaling,
    connector,
    config: { ...DEFAULT_CONFIG, maxPeers: 4, maxOfferedPeers: 0, refillAnnounceMs },
    report: () => PROGRESS,
    onLink: () => undefined,
  });
  swarm.start();
  events.emit('peers', { contentId: CONTENT, peers: PEERS.map((peerId) => ({ peerId, left: 5 })), intervalMs: 60_000 });
  return { swarm, announces: () => announces };
}

describe('Swarm refill after drops', () => {
  afterEach(() => vi.useRealTimers());

  it('announces at once when a drop leaves fewer than half of maxPeers links, at most every refillAnnounceMs', () => {
    vi.useFakeTimers();
    const { swarm, announces } = setup(2000);
    const before = announces();
    swarm.drop(PEERS[0]!); // 3 of 4 links left: enough
    expect(announces()).toBe(before);
    swarm.drop(PEERS[1]!); // 2: not fewer than half
    expect(announces()).toBe(before);
    swarm.drop(PEERS[2]!); // 1: short
    expect(announces()).toBe(before + 1);
    vi.advanceTimersByTime(1999);
    swarm.drop(PEERS[3]!); // 0, but too soon after the last
    expect(announces()).toBe(before + 1);
    swarm.stop();
  });

  it('never with refillAnnounceMs 0', () => {
    vi.useFakeTimers();
    const { swarm, announces } = setup(0);
    const before = announces();
    for (const p of PEERS) swarm.drop(p);
    expect(announces()).toBe(before);
    swarm.stop();
  });
});
