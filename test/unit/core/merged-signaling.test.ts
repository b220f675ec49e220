/**
 * One Signaling over the main Arrays connection and the cache nodes' (core/merged-signaling.ts),
 * driven with fake connections: what goes to all, how `peers` replies merge, which connection
 * a signal takes, what each connection's open and close do.
 */
import { describe, expect, it } from 'vitest';
import { Emitter } from '../../../src/core/emitter.js';
import { mergeSignalings } from '../../../src/core/merged-signaling.js';
import type { Signaling, SignalingEvents } from '../../../src/core/ports.js';
import type { PeerInfo, Report, SignalData } from '../../../src/protocol/arrays-messages.js';

const C = 'c'.repeat(64);
const OTHER = 'd'.repeat(64);
const ME = '1'.repeat(32);
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const NODE = 'e'.repeat(32);
const REPORT: Report = { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 5, peersWanted: 20, isBackground: false, uploadedBps: 0, downloadBps: 0, mode: 'lan' };
const OFFER: SignalData = { type: 'offer', sdp: 'v=0' };

class FakeSignaling implements Signaling {
  readonly events = new Emitter<SignalingEvents>();
  readonly sent: string[] = [];
  constructor(readonly name: string) {}
  announce(contentId: string, peerId: string): void {
    this.sent.push(`announce ${contentId.slice(0, 1)} ${peerId.slice(0, 1)}`);
  }
  signal(contentId: string, to: string): void {
    this.sent.push(`signal ${contentId.slice(0, 1)} ${to.slice(0, 1)}`);
  }
  leave(contentId: string): void {
    this.sent.push(`leave ${contentId.slice(0, 1)}`);
  }
  ban(contentId: string, peerId: string): void {
    this.sent.push(`ban ${contentId.slice(0, 1)} ${peerId.slice(0, 1)}`);
  }
  on<K extends keyof SignalingEvents>(event: K, listener: (payload: SignalingEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }
  peers(peers: PeerInfo[], intervalMs = 15_000, origin?: string, contentId = C): void {
    this.events.emit('peers', { contentId, peers, intervalMs, ...(origin !== undefined ? { origin } : {}) });
  }
}

function setup() {
  const main = new FakeSignaling('main');
  const node1 = new FakeSignaling('node1');
  const node2 = new FakeSignaling('node2');
  const merged = mergeSignalings(main, [node1, node2]);
  const lists: Array<SignalingEvents['peers']> = [];
  merged.on('peers', (m) => lists.push(m));
  const clear = () => [main, node1, node2].forEach((s) => s.sent.splice(0));
  return { main, node1, node2, merged, lists, clear };
}

describe('mergeSignalings', () => {
  it('sends announce, leave and ban to every connection', () => {
    const { main, node1, node2, merged } = setup();
    merged.announce(C, ME, REPORT);
    merged.ban(C, A);
    merged.leave(C);
    for (const s of [main, node1, node2]) expect(s.sent).toEqual([`announce c 1`, `ban c a`, `leave c`]);
  });

  it("emits each reply as it comes, merged with the other connections' replies to the latest announce", async () => {
    const { main, node1, node2, merged, lists } = setup();
    merged.announce(C, ME, REPORT);
    main.peers([{ peerId: A, left: 5, origin: '0123456789abcdef' }], 15_000, 'fedcba9876543210');
    node1.peers([{ peerId: NODE, left: 0, cache: true, origin: '1111111111111111' }, { peerId: A, left: 3 }], 5000, '2222222222222222');
    expect(lists).toHaveLength(2);
    expect(lists[0]).toEqual({ contentId: C, peers: [{ peerId: A, left: 5, origin: '0123456789abcdef' }], intervalMs: 15_000, origin: 'fedcba9876543210' });
    // Both: the newest `left`, the cache flag kept, the main connection's origin tags only.
    expect(lists[1]!.peers).toEqual([
      { peerId: A, left: 3, origin: '0123456789abcdef' },
      { peerId: NODE, left: 0, cache: true },
    ]);
    expect(lists[1]!.intervalMs).toBe(5000);
    expect(lists[1]!.origin).toBe('fedcba9876543210');
    // A new announce: the replies to the old one are stale, and a peer only they named is left out.
    await new Promise((r) => setTimeout(r, 2));
    merged.announce(C, ME, REPORT);
    node2.peers([{ peerId: B, left: 5 }]);
    expect(lists[2]!.peers).toEqual([{ peerId: B, left: 5 }]);
    expect(lists[2]!.origin).toBeUndefined();
    main.peers([{ peerId: A, left: 1 }]);
    expect(lists[3]!.peers.map((p) => p.peerId)).toEqual([B, A]);
  });

  it('keeps the cache flag of a peer that a later reply lists without it', () => {
    const { main, node1, merged, lists } = setup();
    merged.announce(C, ME, REPORT);
    node1.peers([{ peerId: NODE, left: 0, cache: true }]);
    main.peers([{ peerId: NODE, left: 0 }]);
    expect(lists[1]!.peers).toEqual([{ peerId: NODE, left: 0, cache: true }]);
  });

  it('passes on no reply for a content it did not announce, or left', () => {
    const { main, node1, merged, lists } = setup();
    main.peers([{ peerId: A, left: 5 }]);
    merged.announce(C, ME, REPORT);
    merged.leave(C);
    node1.peers([{ peerId: A, left: 5 }]);
    expect(lists).toEqual([]);
  });

  it('signals a peer over the connection it was heard from, else the main one', () => {
    const { main, node1, node2, merged, clear } = setup();
    merged.announce(C, ME, REPORT);
    node1.peers([{ peerId: NODE, left: 0, cache: true }]);
    clear();
    merged.signal(C, NODE, OFFER);
    merged.signal(C, A, OFFER); // never heard of: the main connection
    expect(node1.sent).toEqual(['signal c e']);
    expect(main.sent).toEqual(['signal c a']);
    // A later list of another connection does not move it while node1 still lists it...
    main.peers([{ peerId: NODE, left: 0 }]);
    merged.signal(C, NODE, OFFER);
    expect(node1.sent).toEqual(['signal c e', 'signal c e']);
    // ...but a signal from it does: answers and candidates go back where the offer came from.
    node2.events.emit('signal', { contentId: C, from: NODE, data: OFFER });
    merged.signal(C, NODE, OFFER);
    expect(node2.sent).toEqual(['signal c e']);
    // A connection that closed: the main one instead.
    node2.events.emit('closed', { retryInMs: 500 });
    merged.signal(C, NODE, OFFER);
    expect(main.sent).toEqual(['signal c a', 'signal c e']);
  });

  it("passes signals on, without a cache node's service's origin tag", () => {
    const { main, node1, merged } = setup();
    const got: Array<SignalingEvents['signal']> = [];
    merged.on('signal', (m) => got.push(m));
    main.events.emit('signal', { contentId: OTHER, from: A, data: OFFER, origin: '0123456789abcdef' });
    node1.events.emit('signal', { contentId: C, from: NODE, data: OFFER, origin: '1111111111111111' });
    expect(got).toEqual([
      { contentId: OTHER, from: A, data: OFFER, origin: '0123456789abcdef' },
      { contentId: C, from: NODE, data: OFFER },
    ]);
  });

  it("says open and closed of the main connection; a cache node's that reopens is told the latest announces and bans", () => {
    const { main, node1, node2, merged, clear } = setup();
    const said: string[] = [];
    merged.on('open', () => said.push('open'));
    merged.on('closed', () => said.push('closed'));
    merged.on('welcome', (w) => said.push(`welcome ${w.peerId.slice(0, 1)}`));
    merged.announce(C, ME, REPORT);
    merged.announce(OTHER, ME, REPORT);
    merged.ban(C, A);
    merged.leave(OTHER);
    clear();
    node1.events.emit('closed', { retryInMs: 100 });
    node1.events.emit('open', undefined);
    node1.events.emit('welcome', { peerId: ME, cache: false });
    expect(said).toEqual([]);
    expect(node1.sent).toEqual(['announce c 1', 'ban c a']);
    expect(main.sent).toEqual([]);
    main.events.emit('closed', { retryInMs: 100 });
    main.events.emit('open', undefined);
    main.events.emit('welcome', { peerId: ME, cache: false });
    expect(said).toEqual(['closed', 'open', 'welcome 1']);
    expect(node2.sent).toEqual([]);
  });

  it('forwards errors and wanted from every connection, and hears nothing once closed', () => {
    const { main, node1, merged, lists } = setup();
    const errors: string[] = [];
    merged.on('error', (e) => errors.push(e.code));
    node1.events.emit('error', { code: 'unknown-peer', message: 'no such peer' });
    main.events.emit('error', { code: 'rate-limited', message: 'slow down' });
    expect(errors).toEqual(['unknown-peer', 'rate-limited']);
    merged.announce(C, ME, REPORT);
    merged.close();
    main.peers([{ peerId: A, left: 5 }]);
    node1.events.emit('error', { code: 'x', message: 'y' });
    expect(lists).toEqual([]);
    expect(errors).toHaveLength(2);
  });

  it('merges the main connection with itself once when a cache node URL is also the main one', () => {
    const main = new FakeSignaling('main');
    const merged = mergeSignalings(main, [main]);
    merged.announce(C, ME, REPORT);
    expect(main.sent).toEqual(['announce c 1']);
  });
});
