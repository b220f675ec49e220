/**
 * Scope isolation of the Arrays service (DO's download modes as partitions): many sockets
 * behind many addresses, in LAN, group and internet mode, for two contents, join at once; no
 * `peers` reply may list a peer of another scope and no signal may cross scopes. The expected
 * scopes are computed here from a hand-written table, not with the server's own code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawData } from 'ws';
import { startArrays, type ArraysHarness } from './arrays-harness.js';
import { peerId, sha256Hex, waitFor, type AnyMessage, type TestClient } from './helpers.js';

const OFFER = { type: 'offer', sdp: 'v=0\r\n' } as const;

/** Test addresses and the LAN each must land in (by hand: /64 for IPv6, every private address one LAN). */
const ADDRESSES: Array<[address: string, lan: string]> = [
  ['203.0.113.1', 'A'],
  ['::ffff:203.0.113.1', 'A'],
  ['203.0.113.2', 'B'],
  ['198.51.100.7', 'C'],
  ['2001:db8:1:2::5', 'D'],
  ['2001:db8:1:2:ffff::9', 'D'],
  ['2001:db8:1:3::5', 'E'],
  ['127.0.0.1', 'P'],
  ['10.0.0.3', 'P'],
  ['192.168.1.9', 'P'],
  ['172.20.0.1', 'P'],
  ['fe80::1', 'P'],
  ['::1', 'P'],
  ['fd00::7', 'P'],
];
const MODES = ['lan', 'group', 'internet'] as const;
const SOCKETS = 200;
const GROUPS = 10;
const PEERS_WANTED = 20;
const OUT_OF_SCOPE_TRIES = 3;

interface Sock {
  i: number;
  peerId: string;
  client: TestClient;
  /** Every message received, in order. */
  received: AnyMessage[];
  /** Expected scope per content: `lan:<label>`, `group:<id>` or `internet`. */
  scope: Map<string, string>;
}

describe('Arrays scopes', () => {
  let harness: ArraysHarness;
  const contents = [sha256Hex(new TextEncoder().encode('content-0')), sha256Hex(new TextEncoder().encode('content-1'))];

  beforeAll(async () => {
    harness = await startArrays({ maxSocketsPerAddress: 1000 });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it(`isolates ${SOCKETS} sockets joining at once across ${GROUPS} groups, LANs and internet, for two contents`, async () => {
    const socks: Sock[] = await Promise.all(
      Array.from({ length: SOCKETS }, async (_, i) => {
        const [address, lan] = ADDRESSES[i % ADDRESSES.length]!;
        const client = await harness.connect(address);
        const received: AnyMessage[] = [];
        client.ws.on('message', (data: RawData) => received.push(JSON.parse(String(data)) as AnyMessage));
        const scope = new Map<string, string>();
        // Content 0 for every socket, content 1 for half of them in another mode: scope is per content.
        contents.forEach((contentId, c) => {
          if (c === 1 && i % 2 === 1) return;
          const mode = MODES[(i + c) % 3]!;
          const group = `g${(i * 7 + c) % GROUPS}`;
          scope.set(contentId, mode === 'lan' ? `lan:${lan}` : mode === 'group' ? `group:${group}` : 'internet');
        });
        return { i, peerId: peerId(10_000 + i), client, received, scope };
      }),
    );
    const byPeer = new Map(socks.map((s) => [s.peerId, s]));
    const announceAll = () => {
      for (const s of socks) {
        for (const [contentId, scope] of s.scope) {
          const mode = scope.split(':')[0] as (typeof MODES)[number];
          const group = mode === 'group' ? scope.slice('group:'.length) : undefined;
          s.client.announce(contentId, s.peerId, { left: s.i % 5 === 0 ? 0 : 1000, peersWanted: PEERS_WANTED, mode, group });
        }
      }
    };
    const peersReplies = (s: Sock) => s.received.filter((m) => m.type === 'peers');
    const expectedReplies = socks.reduce((n, s) => n + s.scope.size, 0);

    // Everyone joins at once, then announces again once everyone is in.
    announceAll();
    await waitFor(() => socks.every((s) => peersReplies(s).length === s.scope.size), 10_000, 'first replies');
    announceAll();
    await waitFor(() => socks.every((s) => peersReplies(s).length === 2 * s.scope.size), 10_000, 'second replies');

    let peerChecks = 0;
    let listed = 0;
    const sent = { inScope: 0, outOfScope: 0 };
    for (const s of socks) {
      const latest = new Map<string, AnyMessage>();
      for (const m of peersReplies(s)) latest.set(m.contentId as string, m);
      for (const m of peersReplies(s)) {
        for (const p of m.peers as Array<{ peerId: string }>) {
          peerChecks++;
          expect(p.peerId).not.toBe(s.peerId);
          expect(byPeer.get(p.peerId)?.scope.get(m.contentId)).toBe(s.scope.get(m.contentId));
        }
      }
      // Offers: to every peer of the latest reply (in scope), and to a few peers of other scopes.
      for (const [contentId, m] of latest) {
        for (const p of m.peers as Array<{ peerId: string }>) {
          listed++;
          sent.inScope++;
          s.client.send({ type: 'signal', contentId, to: p.peerId, data: OFFER });
        }
        const strangers = socks.filter((o) => o.scope.has(contentId) && o.scope.get(contentId) !== s.scope.get(contentId));
        for (let k = 0; k < OUT_OF_SCOPE_TRIES; k++) {
          const o = strangers[(s.i * 13 + k * 31) % strangers.length]!;
          sent.outOfScope++;
          s.client.send({ type: 'signal', contentId, to: o.peerId, data: OFFER });
        }
      }
    }
    const count = (type: string) => socks.reduce((n, s) => n + s.received.filter((m) => m.type === type).length, 0);
    await waitFor(() => count('signal') === sent.inScope && count('error') === sent.outOfScope, 10_000, 'every signal answered');
    await new Promise((r) => setTimeout(r, 200));

    let signalChecks = 0;
    for (const s of socks) {
      for (const m of s.received) {
        if (m.type === 'signal') {
          signalChecks++;
          expect(byPeer.get(m.from as string)?.scope.get(m.contentId)).toBe(s.scope.get(m.contentId));
        } else if (m.type === 'error') {
          expect(m.code).toBe('unknown-peer');
        }
      }
    }
    expect(count('signal')).toBe(sent.inScope);
    expect(count('error')).toBe(sent.outOfScope);
    expect(count('peers')).toBe(2 * expectedReplies);
    // Not vacuous: the swarm formed within scopes.
    expect(listed).toBeGreaterThan(SOCKETS);
    const reports = await harness.arrays.contentReports();
    const r0 = reports.find((r) => r.contentId === contents[0])!;
    expect(r0.peers).toBe(SOCKETS);
    expect(r0.peersByScope.lan + r0.peersByScope.group + r0.peersByScope.internet).toBe(SOCKETS);
    expect(r0.seeders).toBe(SOCKETS / 5);
    console.log(
      `scope isolation: ${SOCKETS} sockets, ${expectedReplies} swarm memberships, ${peerChecks} listed peers checked in scope, ` +
        `${signalChecks} relayed signals checked in scope, ${sent.outOfScope} cross-scope signals refused`,
    );
    for (const s of socks) s.client.close();
  }, 60_000);
});
