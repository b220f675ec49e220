/**
 * Deployment, for real: peers through a TURN relay. A real coturn runs with the documented
 * configuration (docs/deploy/turnserver.conf, rendered by test/helpers/coturn.ts) on the test
 * namespace's address; the tabswarm server hands it out in its bootstrap document with
 * `iceTransportPolicy: 'relay'`, so the browsers may use relayed candidates only. The second
 * of two Chromium contexts downloads the file from the first, and the test shows the bytes
 * went through the relay: the page's peer connections are relay-only, the selected candidate
 * pair that carried the bytes is relay to relay, and coturn's own session log counts the
 * file's bytes in and out.
 * Fails (never skips) without coturn: CI installs it (.ci/run).
 */
import { expect, test, type Browser } from '@playwright/test';
import { startCoturn, type CoturnHandle } from '../helpers/coturn.js';
import { freePort } from '../helpers/service-process.js';
import { lanAddress, savedFileSha256, startTestServer, stats, waitComplete, type PeerPage, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;

let turn: CoturnHandle;
let swarm: TestSwarmServer;

test.beforeAll(async () => {
  // coturn refuses loopback peers, and Chromium gathers no candidates on loopback: the relay
  // listens on the namespace's own address.
  const address = lanAddress();
  if (address === undefined) throw new Error('no non-loopback IPv4 address: run the e2e tests with node test/in-netns.mjs (it gives 10.213.0.1)');
  const relayBase = 40_000 + Math.floor(Math.random() * 20_000);
  turn = await startCoturn({ address, port: await freePort(address), minRelayPort: relayBase, maxRelayPort: relayBase + 200 });
  swarm = await startTestServer(8 * MiB + 4321, 62, { iceServers: [turn.iceServer], iceTransportPolicy: 'relay', announceIntervalMs: 2000 });
});

test.afterAll(async () => {
  await swarm?.close();
  await turn?.stop();
});

interface LinkStats {
  policy: string | undefined;
  state: string;
  localTypes: string[];
  selectedLocal: string | undefined;
  selectedRemote: string | undefined;
  bytesReceived: number;
}

declare global {
  interface Window {
    /** The last stats of every RTCPeerConnection the page made (the init script below). */
    __linkStats?: LinkStats[];
  }
}

/**
 * A peer whose page keeps the last stats of each of its RTCPeerConnections (simple-peer keeps
 * them to itself, and closes a link between two complete peers, after which it has no stats):
 * the transport policy, the gathered local candidate types, and the selected candidate pair,
 * read every 200 ms while the connection is open.
 */
async function openRecordedPeer(browser: Browser, url: string): Promise<PeerPage> {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.addInitScript(() => {
    interface Stat {
      type: string;
      selectedCandidatePairId?: string;
      localCandidateId?: string;
      remoteCandidateId?: string;
      candidateType?: string;
      bytesReceived?: number;
    }
    const kept: LinkStats[] = [];
    window.__linkStats = kept;
    async function read(pc: RTCPeerConnection, i: number): Promise<void> {
      const report = await pc.getStats();
      const all: Stat[] = [];
      report.forEach((r: Stat) => all.push(r));
      const pairId = all.find((r) => r.type === 'transport' && r.selectedCandidatePairId)?.selectedCandidatePairId;
      const pair = pairId ? (report.get(pairId) as Stat | undefined) : undefined;
      const typeOf = (id: string | undefined) => (id ? (report.get(id) as Stat | undefined)?.candidateType : undefined);
      kept[i] = {
        policy: pc.getConfiguration().iceTransportPolicy,
        state: pc.connectionState,
        localTypes: all.filter((r) => r.type === 'local-candidate').map((r) => r.candidateType ?? '?'),
        selectedLocal: typeOf(pair?.localCandidateId),
        selectedRemote: typeOf(pair?.remoteCandidateId),
        bytesReceived: pair?.bytesReceived ?? 0,
      };
    }
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        const i = kept.length;
        kept.push({ policy: config?.iceTransportPolicy, state: 'new', localTypes: [], selectedLocal: undefined, selectedRemote: undefined, bytesReceived: 0 });
        const timer = setInterval(() => {
          if (this.connectionState === 'closed') clearInterval(timer);
          else read(this, i).catch(() => undefined);
        }, 200);
      }
    };
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(url);
  return { context, page };
}

test('two browser contexts share a file through a real TURN relay, relay-only', async ({ browser }) => {
  const { server, contentId, fileSize, fileSha256 } = swarm;
  const first = await openRecordedPeer(browser, `${server.url}/?httpDelayMs=0#c=${contentId}`);
  await waitComplete(first.page);
  const second = await openRecordedPeer(browser, `${server.url}/?httpDelayMs=60000#c=${contentId}`);
  await waitComplete(second.page);
  const s = await stats(second.page);
  console.log(`second peer: ${(s.bytesFromPeers / MiB).toFixed(2)} MiB from the peer (through TURN), ${(s.bytesFromCdn / MiB).toFixed(2)} MiB from the CDN`);
  expect(s.bytesFromPeers).toBe(fileSize);
  expect(s.bytesFromCdn).toBe(0);
  expect(await savedFileSha256(second.page)).toBe(fileSha256);

  // The page took the server's policy: relay-only connections, which gather relayed candidates
  // only, and the link that carried the file is relay to relay.
  const links = await second.page.evaluate(() => window.__linkStats ?? []);
  console.log(`second peer's links: ${JSON.stringify(links)}`);
  expect(links.length).toBeGreaterThan(0);
  for (const link of links) {
    expect(link.policy).toBe('relay');
    expect(link.localTypes.length).toBeGreaterThan(0);
    expect(new Set(link.localTypes)).toEqual(new Set(['relay']));
  }
  // The link the file came over (its last stats read within 200 ms of its end).
  const carrying = links.filter((l) => l.bytesReceived > 0);
  expect(carrying.length).toBeGreaterThan(0);
  for (const link of carrying) expect(link).toMatchObject({ selectedLocal: 'relay', selectedRemote: 'relay' });

  // coturn's own account of what its sessions moved with their clients: the file went in
  // from the seeder and out to the downloader (each plus DTLS, SCTP and TURN framing), all of
  // it under the configured user. The last lines come as the sessions close.
  await first.context.close();
  await second.context.close();
  const totals = async () => {
    const usage = await turn.usage();
    return { received: usage.reduce((a, u) => a + u.receivedBytes, 0), sent: usage.reduce((a, u) => a + u.sentBytes, 0), usage };
  };
  await expect.poll(async () => (await totals()).sent, { timeout: 20_000, message: 'bytes coturn sent to its clients' }).toBeGreaterThanOrEqual(fileSize);
  const t = await totals();
  console.log(`coturn: ${(t.received / MiB).toFixed(2)} MiB received from its clients, ${(t.sent / MiB).toFixed(2)} MiB sent to them (${t.usage.length} usage lines)`);
  expect(t.received).toBeGreaterThanOrEqual(fileSize);
  // Both directions count the file about once: nothing else crossed the relay in bulk.
  expect(t.sent).toBeLessThan(fileSize * 1.5);
  for (const u of t.usage) if (u.receivedBytes + u.sentBytes > 0) expect(u.username).toBe('tabswarm');
});
