/**
 * The cache node (issue 17) with real tabs: `tabswarm cache` in a child process (the command
 * as an administrator runs it, on 127.0.0.6 with node-datachannel), a server configured with
 * its key, and Chromium tabs that open the content one after another, each closed when done,
 * so that only the node can carry the file from one tab to the next.
 *
 * - The first tab fills the node (they split the CDN's pieces); the next gets ≥ 90% of the
 *   file from the node and nothing from the CDN; the node restarts on the same directory and
 *   the tab after it is served the same way, from the store it kept.
 * - A cache node that lies (a Node peer announced with the key, flipping bits) is preferred,
 *   struck and banned by a tab like any peer, and the tab completes from the CDN, verified.
 * - A cache node named by address in the bootstrap document (`--listen`: its own Arrays
 *   service) fills and serves tabs that the server's service never sends to it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { freePort } from '../helpers/free-port.js';
import { startCache, type CacheProcess } from '../helpers/cache-process.js';
import { startNodePeer } from '../helpers/node-peer.js';
import { openPeer, savedFileSha256, startTestServer, stats, testContentBytes, waitComplete, type TestSwarmServer } from './fixtures.js';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB;
const SEED = 71;
const KEY = 'e2e-cache-node-key-0123456789';

let swarm: TestSwarmServer;
let dir: string;
test.beforeAll(async () => {
  swarm = await startTestServer(SIZE, SEED, { cacheNodeKeys: [KEY] });
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-e2e-cache-node-'));
});
test.afterAll(async () => {
  await swarm?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Tabs served by a full node hold the CDN back 10 s: the test checks that they find the node and
 * take the file from it, not how fast a loaded CI machine links (the default HTTP delay is 2 s).
 * The benchmark measures the defaults (docs/benchmarks.md: 0 from the CDN for tabs 2-8).
 */
const SERVED = 'httpDelayMs=10000';

const link = (query = '') => `${swarm.server.url}/${query ? `?${query}` : ''}#c=${swarm.contentId}`;

test('a cache node fills from the first tab, serves the next from its store with nothing from the CDN, and again after a restart', async ({ browser }) => {
  test.setTimeout(150_000);
  const store = join(dir, 'store');
  const args = ['--server', swarm.server.url, '--dir', store, '--key', KEY, '--bind', '127.0.0.6'];
  let node: CacheProcess | undefined = await startCache(args);
  try {
    // 1. The first tab: the node joins its swarm (wanted) and fills; the CDN carries about one copy.
    const first = await openPeer(browser, link());
    await waitComplete(first.page, 60_000);
    const s1 = await stats(first.page);
    await first.context.close();
    const nodeId = node.peerId;
    expect(s1.peers.find((p) => p.peerId === nodeId)?.cacheNode, 'the tab saw the node as a cache node').toBe(true);
    await expect.poll(async () => (await node!.status()).store.find((r) => r.contentId === swarm.contentId)?.complete, { timeout: 60_000 }).toBe(true);
    const filled = await node.status();
    expect(filled.counters.joined).toBe(1);
    const cdnAfterFill = swarm.server.cdnLog.bytesFor(swarm.contentId);
    console.log(`first tab: ${s1.bytesFromCacheNodes / MiB} MiB from the node, ${s1.bytesFromCdn / MiB} MiB from the CDN; the CDN served ${cdnAfterFill / MiB} MiB in all`);
    // The node traded with the tab (it took pieces from it) rather than fetching the whole file
    // from the CDN again. How close to one copy the CDN stays is the benchmark's figure (256 MiB:
    // 1.00); on 24 pieces it moves with the machine's load (a unit run on 7 saw up to 1.67x).
    expect(filled.status.TotalBytesFromPeers, 'the node took pieces from the tab').toBeGreaterThan(0);
    expect(cdnAfterFill, 'not two whole copies').toBeLessThan(2 * SIZE);

    // 2. The next tab, alone with the node: ≥ 90% from the node, nothing from the CDN.
    const second = await openPeer(browser, link(SERVED));
    await waitComplete(second.page, 60_000);
    const s2 = await stats(second.page);
    await second.context.close();
    console.log(`second tab: ${s2.bytesFromCacheNodes / MiB} MiB from the node, ${s2.bytesFromCdn / MiB} MiB from the CDN`);
    expect(s2.bytesFromCacheNodes).toBeGreaterThanOrEqual(0.9 * SIZE);
    expect(s2.bytesFromCdn).toBe(0);
    expect(swarm.server.cdnLog.bytesFor(swarm.contentId)).toBe(cdnAfterFill);

    // 3. The node restarts on the same directory: its store is intact and it serves again.
    expect(await node.stop()).toBe(0);
    node = await startCache(args);
    expect(node.peerId, 'a new peer ID after the restart').not.toBe(nodeId);
    const restarted = await node.status();
    expect(restarted.store.find((r) => r.contentId === swarm.contentId)).toMatchObject({ complete: true, bytesStored: SIZE });
    const third = await openPeer(browser, link(SERVED));
    await waitComplete(third.page, 60_000);
    const s3 = await stats(third.page);
    console.log(`after the restart: ${s3.bytesFromCacheNodes / MiB} MiB from the node, ${s3.bytesFromCdn / MiB} MiB from the CDN`);
    expect(s3.bytesFromCacheNodes).toBeGreaterThanOrEqual(0.9 * SIZE);
    expect(s3.bytesFromCdn).toBe(0);
    expect(await savedFileSha256(third.page)).toBe(swarm.fileSha256);
    await third.context.close();
    expect(swarm.server.cdnLog.bytesFor(swarm.contentId)).toBe(cdnAfterFill);
    await expect.poll(async () => (await node!.status()).status.TotalBytesToPeers, { timeout: 5_000 }).toBeGreaterThanOrEqual(0.9 * SIZE);
  } finally {
    await node?.stop();
  }
});

test('a cache node that lies is asked first, struck and banned like any peer; the tab completes from the CDN', async ({ browser }) => {
  test.setTimeout(90_000);
  const content = await testContentBytes(swarm, SEED);
  const liar = await startNodePeer({ serverUrl: swarm.server.url, contentId: swarm.contentId, metadata: content.metadata, fileBytes: content.fileBytes, behaviour: 'flip', cacheKey: KEY });
  try {
    // A short HTTP delay: the tab asks the cache node first, and the CDN only once it is banned.
    const tab = await openPeer(browser, link('httpDelayMs=3000'));
    await waitComplete(tab.page, 60_000);
    const s = await stats(tab.page);
    const seen = s.peers.find((p) => p.peerId === liar.peerId);
    console.log(`lying cache node: ${JSON.stringify(seen)}; ${s.piecesRejected} pieces rejected, ${s.bytesFromCdn / MiB} MiB from the CDN`);
    expect(seen, 'the tab linked with the lying cache node').toBeDefined();
    expect(seen!.cacheNode).toBe(true);
    expect(seen!.banned).toBe(true);
    expect(seen!.strikes).toBeGreaterThanOrEqual(1);
    expect(s.piecesRejected).toBeGreaterThanOrEqual(1);
    expect(s.bytesFromCacheNodes).toBe(0);
    expect(await savedFileSha256(tab.page)).toBe(swarm.fileSha256);
    await tab.context.close();
  } finally {
    await liar.stop();
  }
});

test("a cache node named by address in the bootstrap document (its own Arrays service) is found and used by tabs the server's service never sends to it", async ({ browser }) => {
  test.setTimeout(120_000);
  const host = '127.0.0.9';
  const port = await freePort(host);
  const ownUrl = `ws://${host}:${port}/arrays`;
  // A second server: no cache keys (its service knows no cache node); its bootstrap names the node.
  const other = await startTestServer(SIZE, SEED + 1, { cacheNodes: [ownUrl] });
  const node = await startCache(['--server', other.server.url, '--dir', join(dir, 'own'), '--listen', `${host}:${port}`, '--bind', '127.0.0.10']);
  try {
    expect(node.stdout()).toContain(`its Arrays service at ${ownUrl}`);
    const at = (query = '') => `${other.server.url}/${query ? `?${query}` : ''}#c=${other.contentId}`;
    const first = await openPeer(browser, at());
    await waitComplete(first.page, 60_000);
    await first.context.close();
    await expect.poll(async () => (await node.status()).store.find((r) => r.contentId === other.contentId)?.complete, { timeout: 60_000 }).toBe(true);
    const cdn = other.server.cdnLog.bytesFor(other.contentId);
    const second = await openPeer(browser, at(SERVED));
    await waitComplete(second.page, 60_000);
    const s = await stats(second.page);
    await second.context.close();
    console.log(`named by address: second tab ${s.bytesFromCacheNodes / MiB} MiB from the node, ${s.bytesFromCdn / MiB} MiB from the CDN`);
    expect(s.peers.find((p) => p.peerId === node.peerId)?.cacheNode).toBe(true);
    expect(s.bytesFromCacheNodes).toBeGreaterThanOrEqual(0.9 * SIZE);
    expect(s.bytesFromCdn).toBe(0);
    expect(other.server.cdnLog.bytesFor(other.contentId)).toBe(cdn);
  } finally {
    await node.stop();
    await other.close();
  }
});
