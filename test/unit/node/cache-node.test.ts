/**
 * The cache node (src/node/cache-node.ts) against a real server on 127.0.0.1, with Node
 * clients standing in for tabs (the same core, over real WebRTC: node-datachannel, each on an
 * address of its own). Browser tabs with a cache node: test/e2e/cache-node.spec.ts.
 *
 * What is checked: it fills on demand and the next client gets everything from it; `listed`
 * refuses what is not listed; pre-fill fills before anyone asks; group scopes; its store stays
 * within `maxCacheBytes`, evicting the content used least; its report counts what it did.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/free-port.js';
import type { ServerHandle } from '../../../signaling/server.js';
import { serveCacheReport } from '../../../src/node/cache-metrics.js';
import { startCacheNode, type CacheNode, type CacheNodeOptions } from '../../../src/node/cache-node.js';
import { createNodeClient, type NodeClient } from '../../../src/node/node-client.js';
import { makeTempDir, MiB, publishDeterministic, removeDir, startServer, waitFor } from '../../server/helpers.js';

const KEY = 'unit-cache-node-key-0123456789';
const SIZE = 6 * MiB + 4321;

let dir: string;
let server: ServerHandle;
const published: Array<{ contentId: string; sha256: string }> = [];
let nextAddress = 20;
const open: Array<CacheNode | NodeClient> = [];

beforeAll(async () => {
  dir = await makeTempDir('tabswarm-cache-node-');
  const contentDir = join(dir, 'content');
  for (const seed of [101, 102, 103]) {
    const p = await publishDeterministic(dir, contentDir, SIZE, seed);
    published.push({ contentId: p.contentId, sha256: p.metadata.fileSha256 });
  }
  server = await startServer(contentDir, { cacheNodeKeys: [KEY] });
});
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});
afterAll(async () => {
  await server?.close();
  if (dir) await removeDir(dir);
});

async function cacheNode(options: Partial<CacheNodeOptions> = {}): Promise<CacheNode> {
  const node = await startCacheNode({ serverUrl: server.url, directory: join(dir, `node-${nextAddress}`), cacheKey: KEY, bindAddress: `127.0.0.${nextAddress++}`, durable: false, ...options });
  open.push(node);
  // The node's watch is in once the service answered its hello.
  await waitFor(() => node.client.arrays().connected, 5000, 'the node connected');
  return node;
}

/** A "tab": a Node client that downloads `contentId` and closes; what came from where. */
async function tab(contentId: string, config: Parameters<typeof createNodeClient>[0]['config'] = {}, serverUrl = server.url): Promise<{ fromPeers: number; fromCdn: number; sha256: string }> {
  const client = await createNodeClient({ serverUrl, directory: join(dir, `tab-${nextAddress}`), bindAddress: `127.0.0.${nextAddress++}`, durable: false, seedCache: false, config });
  try {
    const download = await client.download(contentId);
    await download.done;
    const s = download.status();
    const sha256 = createHash('sha256').update(await readFile(client.pathOf(contentId))).digest('hex');
    return { fromPeers: s.BytesFromPeers, fromCdn: s.BytesFromHTTP, sha256 };
  } finally {
    await client.close();
  }
}

/**
 * A client served by a full node: the CDN held back 10 s, so that what is checked is that the
 * client finds the node and takes the file from it, not how fast it links on a loaded machine
 * (with the default 2 s, a link that took longer left it all to the CDN once in a CI-like run).
 * The benchmark measures the default settings (docs/benchmarks.md: 0 from the CDN for tabs 2-8).
 */
const SERVED = { httpDelayMs: 10_000 };

const storedComplete = async (node: CacheNode, contentId: string) => (await node.client.cache.list()).some((r) => r.contentId === contentId && r.complete);

describe('cache node', () => {
  it('fills on demand when a client announces a published content, and serves the next client all of it', { timeout: 60_000 }, async () => {
    const node = await cacheNode();
    const { contentId, sha256 } = published[0]!;
    const first = await tab(contentId);
    expect(first.sha256).toBe(sha256);
    await waitFor(() => storedComplete(node, contentId), 20_000, 'the node complete');
    expect(node.counters).toMatchObject({ joined: 1, refused: 0, fillsFailed: 0 });
    const cdn = server.cdnLog.bytesFor(contentId);
    // The node traded with the client (it took pieces from it) rather than fetching the whole
    // file from the CDN again. How close to one copy the CDN stays is the benchmark's figure
    // (256 MiB: 1.00); on 7 pieces it is timing: 1.0-1.67x seen in CI-like runs on a loaded machine.
    expect(node.client.status().TotalBytesFromPeers, 'the node took pieces from the client').toBeGreaterThan(0);
    expect(cdn, 'not two whole copies').toBeLessThan(2 * SIZE);
    const second = await tab(contentId, SERVED);
    expect(second).toEqual({ fromPeers: SIZE, fromCdn: 0, sha256 });
    expect(server.cdnLog.bytesFor(contentId)).toBe(cdn);
    expect(node.client.status().TotalBytesToPeers).toBeGreaterThanOrEqual(SIZE);

    // Its report: totals only.
    const report = await serveCacheReport(node, '127.0.0.1', 0);
    try {
      const text = await (await fetch(`${report.url}/metrics`)).text();
      const served = Number(/^tabswarm_cache_node_bytes_served_total (\d+)/m.exec(text)?.[1]);
      expect(served).toBeGreaterThanOrEqual(SIZE);
      expect(text).toMatch(/^tabswarm_cache_node_fills_total 1$/m);
      expect(text).toMatch(/^tabswarm_cache_node_contents 1$/m);
      const status = (await (await fetch(`${report.url}/status`)).json()) as { store: Array<{ contentId: string; complete: boolean }> };
      expect(status.store).toEqual([expect.objectContaining({ contentId, complete: true })]);
      expect((await fetch(`${report.url}/nope`)).status).toBe(404);
      expect((await fetch(`${report.url}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await report.close();
    }
  });

  it("with contents 'listed', refuses a wanted content that is not listed and fills one that is", { timeout: 60_000 }, async () => {
    const [a, b] = [published[0]!, published[1]!];
    const node = await cacheNode({ contents: 'listed', listed: [b.contentId] });
    await tab(a.contentId);
    await waitFor(() => node.counters.refused === 1, 5000, 'refused');
    expect(await node.client.cache.list()).toEqual([]);
    await tab(b.contentId);
    await waitFor(() => storedComplete(node, b.contentId), 20_000, 'the listed one complete');
    expect(node.counters).toMatchObject({ joined: 1, refused: 1 });
  });

  it('pre-fills its listed contents before any client asks, and serves them', { timeout: 60_000 }, async () => {
    const { contentId, sha256 } = published[2]!;
    const before = server.cdnLog.bytesFor(contentId);
    const node = await cacheNode({ contents: 'listed', listed: [contentId], prefill: true });
    await node.prefilled;
    expect(await storedComplete(node, contentId)).toBe(true);
    expect(server.cdnLog.bytesFor(contentId) - before).toBe(SIZE);
    expect(await tab(contentId, SERVED)).toEqual({ fromPeers: SIZE, fromCdn: 0, sha256 });
  });

  it('watching one group, fills for clients of that group and not for those of its LAN', { timeout: 60_000 }, async () => {
    const node = await cacheNode({ scopes: [{ mode: 'group', group: 'class-7b' }] });
    const { contentId } = published[1]!;
    await tab(contentId);
    await new Promise((r) => setTimeout(r, 500));
    expect(node.counters.wanted).toBe(0);
    const inGroup = await tab(contentId, { downloadMode: 'group', groupId: 'class-7b' });
    expect(inGroup.fromPeers + inGroup.fromCdn).toBeGreaterThanOrEqual(SIZE);
    await waitFor(() => node.counters.joined === 1, 5000, 'joined for the group');
    await waitFor(() => storedComplete(node, contentId), 20_000, 'complete');
  });

  it('keeps its store within maxCacheBytes, evicting the content used least', { timeout: 90_000 }, async () => {
    // Room for two of the three contents.
    const node = await cacheNode({ config: { maxCacheBytes: Math.floor(2.5 * SIZE) }});
    const [a, b, c] = [published[0]!, published[1]!, published[2]!];
    await tab(a.contentId);
    await waitFor(() => storedComplete(node, a.contentId), 20_000, 'a complete');
    await tab(b.contentId);
    await waitFor(() => storedComplete(node, b.contentId), 20_000, 'b complete');
    // `a` is served again (used more than `b`), then `c` comes and something must go: `b`.
    await tab(a.contentId);
    await node.client.cache.flush();
    await tab(c.contentId);
    await waitFor(() => storedComplete(node, c.contentId), 20_000, 'c complete');
    await waitFor(async () => (await node.client.cache.list()).length === 2, 10_000, 'one evicted');
    const kept = (await node.client.cache.list()).map((r) => r.contentId).sort();
    expect(kept).toEqual([a.contentId, c.contentId].sort());
  });

  it("with an Arrays service of its own named by the server's bootstrap document, fills and serves clients the server's service never told it of", { timeout: 60_000 }, async () => {
    const host = '127.0.0.8';
    const port = await freePort(host);
    const ownUrl = `ws://${host}:${port}/arrays`;
    const contentDir = join(dir, 'content-own');
    const p = await publishDeterministic(dir, contentDir, SIZE, 104);
    // No cache keys: the server's own service has no cache node; its bootstrap names this one.
    const other = await startServer(contentDir, { cacheNodes: [ownUrl] });
    try {
      const node = await startCacheNode({ serverUrl: other.url, directory: join(dir, 'node-own'), listen: { host, port }, bindAddress: `127.0.0.${nextAddress++}`, durable: false });
      open.push(node);
      expect(node.arraysUrl).toBe(ownUrl);
      await waitFor(() => node.client.arrays(ownUrl).connected, 5000, 'the node on its own service');
      const first = await tab(p.contentId, {}, other.url);
      expect(first.sha256).toBe(p.metadata.fileSha256);
      await waitFor(() => storedComplete(node, p.contentId), 20_000, 'the node complete');
      expect(node.counters.joined).toBe(1);
      expect(await tab(p.contentId, SERVED, other.url)).toEqual({ fromPeers: SIZE, fromCdn: 0, sha256: p.metadata.fileSha256 });
    } finally {
      for (const x of open.splice(0)) await x.close();
      await other.close();
    }
  });
});
