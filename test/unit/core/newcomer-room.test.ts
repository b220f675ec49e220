/**
 * Room for a newcomer in a big swarm (download/newcomer-room.ts, Swarm's `makeRoomFor`): a tab
 * with no room lets one link go, at most every `newcomerSwapMs`, for the offer of a peer that
 * has more left than it has or that it was not listed; never in a small swarm, never a cache
 * node's link, never once complete.
 */
import { describe, expect, it } from 'vitest';
import { Bitfield } from '../../../src/core/bitfield.js';
import type { Clock } from '../../../src/core/clock.js';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { Emitter } from '../../../src/core/emitter.js';
import { NewcomerRoom, type NewcomerRoomDeps } from '../../../src/core/download/newcomer-room.js';
import type { PeerSession } from '../../../src/core/peer-session.js';
import type { PeerConnector, Signaling, SignalingEvents } from '../../../src/core/ports.js';
import { Swarm } from '../../../src/core/swarm.js';
import type { CdnSlot } from '../../../src/protocol/arrays-messages.js';
import { FakeLink } from '../../helpers/fake-link.js';

const PIECES = 8;

/** A session that holds `pieces`, owes us `owed` bytes, and is a cache node if `cache`. */
function session(id: string, pieces: number[], owed = 0, cache = false) {
  const have = new Set(pieces);
  return { id, ready: true, cache, has: (i: number) => have.has(i), owedBytes: () => owed } as unknown as PeerSession & { cache: boolean };
}

function makeRoom(o: { slot?: CdnSlot; listedLeft?: Record<string, number>; sessions: Array<PeerSession & { cache: boolean }>; have?: number[]; swapMs?: number; left?: number }) {
  let now = 0;
  const have = new Bitfield(PIECES);
  for (const i of o.have ?? []) have.set(i);
  const swarm = { listed: { cdnSlot: o.slot, leftOf: (id: string) => o.listedLeft?.[id] } } as unknown as Swarm;
  const deps: NewcomerRoomDeps = {
    config: { maxPeers: 16, newcomerSwapMs: o.swapMs ?? 2000 },
    clock: { now: () => now } as Clock,
    swarm: () => swarm,
    sessions: () => o.sessions,
    isCache: (s) => (s as PeerSession & { cache: boolean }).cache,
    have,
    bytesLeft: () => o.left ?? 5_000_000,
  };
  return { room: new NewcomerRoom(deps), have, advance: (ms: number) => (now += ms) };
}

const BIG: CdnSlot = { slot: 7, of: 1000 };

describe('NewcomerRoom', () => {
  it('in a big swarm, lets go the link to the peer with the fewest pieces we lack (then the one that owes us least), once per newcomerSwapMs', () => {
    const sessions = [session('rich', [0, 1, 2, 3]), session('poor-busy', [4], 3000), session('poor-idle', [5], 0), session('cache', [], 0, true)];
    const { room, advance } = makeRoom({ slot: BIG, sessions });
    expect(room.linkToDrop('newcomer')).toBe('poor-idle');
    advance(1999);
    expect(room.linkToDrop('newcomer-2')).toBeUndefined();
    advance(1);
    expect(room.linkToDrop('newcomer-2')).toBe('poor-idle');
  });

  it('counts only pieces we lack', () => {
    // 'a' holds four pieces we have already; 'b' holds one we lack.
    const { room } = makeRoom({ slot: BIG, sessions: [session('a', [0, 1, 2, 3]), session('b', [6])], have: [0, 1, 2, 3] });
    expect(room.linkToDrop('newcomer')).toBe('a');
  });

  it('never in a small swarm, for a peer listed with less left than ours, once complete, or with newcomerSwapMs 0', () => {
    const sessions = [session('a', [1])];
    expect(makeRoom({ sessions }).room.linkToDrop('x')).toBeUndefined();
    expect(makeRoom({ slot: { slot: 3, of: 32 }, sessions }).room.linkToDrop('x')).toBeUndefined();
    expect(makeRoom({ slot: BIG, sessions, listedLeft: { x: 1000 }, left: 2000 }).room.linkToDrop('x')).toBeUndefined();
    expect(makeRoom({ slot: BIG, sessions, listedLeft: { x: 3000 }, left: 2000 }).room.linkToDrop('x')).toBe('a');
    expect(makeRoom({ slot: BIG, sessions, have: [0, 1, 2, 3, 4, 5, 6, 7] }).room.linkToDrop('x')).toBeUndefined();
    expect(makeRoom({ slot: BIG, sessions, swapMs: 0 }).room.linkToDrop('x')).toBeUndefined();
    expect(makeRoom({ slot: BIG, sessions: [session('cache', [], 0, true)] }).room.linkToDrop('x')).toBeUndefined();
  });
});

describe('Swarm with makeRoomFor', () => {
  it('takes an offer it has no room for by closing the link makeRoomFor names, and refuses it when that names none', () => {
    const events = new Emitter<SignalingEvents>();
    const signaling = { announce: () => undefined, signal: () => undefined, leave: () => undefined, ban: () => undefined, on: (e, l) => events.on(e, l) } as Signaling;
    const links: FakeLink[] = [];
    const connector: PeerConnector = { connect: (remoteId) => (links.push(new FakeLink(remoteId)), links.at(-1)!) };
    let drop: string | undefined = 'b'.repeat(32);
    const asked: string[] = [];
    const swarm = new Swarm({
      contentId: 'c'.repeat(64),
      peerId: 'a'.repeat(32),
      signaling,
      connector,
      config: { ...DEFAULT_CONFIG, maxPeers: 1 },
      report: () => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0 }),
      onLink: () => undefined,
      makeRoomFor: (id) => (asked.push(id), drop),
    });
    swarm.start();
    const offer = (from: string) => events.emit('signal', { contentId: 'c'.repeat(64), from, data: { type: 'offer', sdp: 'v=0' } });
    offer('b'.repeat(32));
    expect(links.map((l) => l.remoteId)).toEqual(['b'.repeat(32)]);
    expect(asked).toEqual([]);
    offer('d'.repeat(32));
    expect(asked).toEqual(['d'.repeat(32)]);
    expect(links[0]!.closed).toBe(true);
    expect(links.map((l) => l.remoteId)).toEqual(['b'.repeat(32), 'd'.repeat(32)]);
    drop = undefined;
    offer('e'.repeat(32));
    expect(links).toHaveLength(2);
    expect(links[1]!.closed).toBe(false);
    swarm.stop();
  });
});
