/**
 * The relink back-off (Swarm): a link that never opened (the connect timeout), whose channel
 * opened and then died, that we dropped, or that two seeds closed, is not tried again before
 * `relinkBackoffMs`, doubling with each further close. (Offering again at every list to peers that do not answer
 * kept a class of 30 on a 2-core machine busy with connection attempts.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { Emitter } from '../../../src/core/emitter.js';
import type { PeerConnector, PeerLink, Signaling, SignalingEvents } from '../../../src/core/ports.js';
import { Swarm } from '../../../src/core/swarm.js';

import { FakeLink } from '../../helpers/fake-link.js';

const CONTENT = 'c'.repeat(64);
const ME = 'a'.repeat(32);
const THEM = 'b'.repeat(32);
const PROGRESS = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 };

function setup() {
  const signalingEvents = new Emitter<SignalingEvents>();
  const signaling: Signaling = {
    announce: () => undefined,
    signal: () => undefined,
    leave: () => undefined,
    ban: () => undefined,
    on: (event, listener) => signalingEvents.on(event, listener),
  } as Signaling;
  const links: FakeLink[] = [];
  const connector: PeerConnector = {
    connect: (remoteId) => {
      const link = new FakeLink(remoteId);
      links.push(link);
      return link;
    },
  };
  const opened: PeerLink[] = [];
  const swarm = new Swarm({
    contentId: CONTENT,
    peerId: ME,
    signaling,
    connector,
    config: { ...DEFAULT_CONFIG, connectTimeoutMs: 1000, relinkBackoffMs: 10_000 },
    report: () => PROGRESS,
    onLink: (link) => opened.push(link),
  });
  swarm.start();
  const list = () => signalingEvents.emit('peers', { contentId: CONTENT, peers: [{ peerId: THEM, left: 5 }], intervalMs: 60_000 });
  /** A list now finds no new link; after `ms` more, one does (the back-off is `ms` long). */
  const expectRelinkAfter = (ms: number) => {
    const before = links.length;
    list();
    expect(links).toHaveLength(before);
    vi.advanceTimersByTime(ms);
    list();
    expect(links).toHaveLength(before + 1);
  };
  const offer = () => signalingEvents.emit('signal', { contentId: CONTENT, from: THEM, data: { type: 'offer', sdp: 'v=0' } });
  return { swarm, links, opened, list, offer, expectRelinkAfter };
}

describe('Swarm relink back-off', () => {
  afterEach(() => vi.useRealTimers());

  it('waits before offering again to a peer whose link never opened', () => {
    vi.useFakeTimers();
    const { swarm, links, list, expectRelinkAfter } = setup();
    list();
    expect(links).toHaveLength(1);
    vi.advanceTimersByTime(1000); // the connect timeout closes it
    expect(links[0]!.closed).toBe(true);
    expect(swarm.backingOff(THEM)).toBe(true);
    expectRelinkAfter(10_000);
    swarm.stop();
  });

  it('waits before linking again to a peer whose open link died, twice as long the next time', () => {
    vi.useFakeTimers();
    const { swarm, links, opened, list, expectRelinkAfter } = setup();
    list();
    links[0]!.events.emit('open', undefined);
    expect(opened).toHaveLength(1);
    links[0]!.close(); // its channel died
    expect(swarm.backingOff(THEM)).toBe(true);
    expectRelinkAfter(10_000);
    links[1]!.events.emit('open', undefined);
    links[1]!.close();
    vi.advanceTimersByTime(10_000);
    expectRelinkAfter(10_000); // 20 s in all
    expect(links).toHaveLength(3);
    swarm.stop();
  });

  it('waits before linking again to a peer it dropped', () => {
    vi.useFakeTimers();
    const { swarm, links, list } = setup();
    list();
    links[0]!.events.emit('open', undefined);
    swarm.drop(THEM);
    list();
    expect(links).toHaveLength(1);
    expect(swarm.backingOff(THEM)).toBe(true);
    swarm.stop();
  });

  it('does not take a new offer from a seed it parted with (two seeds) before the back-off', () => {
    vi.useFakeTimers();
    const { swarm, links, offer } = setup();
    offer();
    expect(links).toHaveLength(1);
    links[0]!.events.emit('open', undefined);
    swarm.release(THEM);
    expect(swarm.backingOff(THEM)).toBe(true);
    offer(); // a seeder that offers at every announce
    expect(links).toHaveLength(1);
    vi.advanceTimersByTime(10_000);
    offer();
    expect(links).toHaveLength(2);
    swarm.stop();
  });
});
