/**
 * The cache node (issue 17), as a school or an office would run it: one always-on Node peer
 * (src/node/cache-node.ts, in this process, on 127.0.0.5) that starts empty, and browser tabs
 * that open the same file one after another, each closed when it is done, so that no tab can
 * serve the next: only the cache node carries the file from one to the next.
 *
 * - `cache_node_cdn_bytes_per_file`: bytes the CDN served over the whole run / the file's size
 *   (1.0: the CDN carried one copy; the first tab and the node split the CDN's pieces).
 * - `cache_node_share`: the share of the tabs' bytes that came from the cache node.
 * - `cache_node_mbps_vs_raw`: the node, full, serves 4 tabs at once (their CDN held back by a
 *   long HTTP delay): their aggregate rate over the raw data channel's rate between two tabs of
 *   one browser, measured in the same run (the median of one raw run before and one after),
 *   with the node's CPU meanwhile (`cache_node_cpu_share_of_core`), and against the same 4 tabs
 *   served by a seeding browser tab (`cache_node_together_vs_tab_seed`): if the node served
 *   slower than a tab, it would be the bottleneck.
 */
import { startTestServer, openPeer, stats, waitComplete } from '../test/e2e/fixtures.js';
import { startCacheNode } from '../src/node/cache-node.js';
import { profileBrowser, rawRun } from './transfer.js';
import type { BenchModule } from './types.js';
import { MiB, mbps, median, round, startBenchPages, tempDir } from './util.js';

const KEY = 'bench-cache-node-key-0123456789';

export const cacheNodeBench: BenchModule = async (ctx) => {
  const tabs = ctx.tiny ? 3 : 8;
  const size = ctx.tiny ? 16 * MiB : 256 * MiB;
  const together = 4;
  const swarm = await startTestServer(size, 47, { cacheNodeKeys: [KEY] });
  const dir = await tempDir('tabswarm-bench-cache-node-');
  const node = await startCacheNode({ serverUrl: swarm.server.url, directory: dir.path, cacheKey: KEY, bindAddress: '127.0.0.5', log: () => undefined });
  const link = (query = '') => `${swarm.server.url}/${query ? `?${query}` : ''}#c=${swarm.contentId}`;
  try {
    ctx.log(`cache node: ${tabs} tabs one after another, ${size / MiB} MiB, the node empty at the start`);
    let fromPeers = 0;
    let fromCdn = 0;
    /** Seconds from `page.goto` to `complete` of each tab after the first (served by the full node alone). */
    const alone: number[] = [];
    for (let i = 0; i < tabs; i++) {
      const opened = Date.now();
      const tab = await openPeer(ctx.browser, link());
      await waitComplete(tab.page, 600_000);
      if (i > 0) alone.push((Date.now() - opened) / 1000);
      const s = await stats(tab.page);
      await tab.context.close();
      fromPeers += s.bytesFromPeers;
      fromCdn += s.bytesFromCdn;
      ctx.log(`cache node: tab ${i + 1}: ${(s.bytesFromPeers / MiB).toFixed(1)} MiB from the node, ${(s.bytesFromCdn / MiB).toFixed(1)} MiB from the CDN`);
    }
    const cdnBytes = swarm.server.cdnLog.bytesFor(swarm.contentId);
    const served = node.client.status().TotalBytesToPeers;

    ctx.log(`cache node: ${together} tabs at once from the full node; the raw data channel between two tabs before and after`);
    const pages = await startBenchPages();
    const browser = await profileBrowser();
    let rawBefore: number;
    let rawAfter: number;
    let togetherSeconds: number;
    let togetherFromPeers = 0;
    let nodeCpuSeconds = 0;
    try {
      rawBefore = mbps(size, (await rawRun(browser, pages.url, size)).seconds);
      const started = Date.now();
      const cpuBefore = process.cpuUsage();
      const peers = await Promise.all(Array.from({ length: together }, () => openPeer(ctx.browser, link('httpDelayMs=600000'))));
      await Promise.all(peers.map((p) => waitComplete(p.page, 600_000)));
      togetherSeconds = (Date.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      // This process: the node, and Playwright's side of the tabs (small beside it).
      nodeCpuSeconds = (cpu.user + cpu.system) / 1e6;
      for (const p of peers) {
        togetherFromPeers += (await stats(p.page)).bytesFromPeers;
        await p.context.close();
      }
      rawAfter = mbps(size, (await rawRun(browser, pages.url, size)).seconds);
    } finally {
      await browser.close();
      await pages.close();
    }

    // The reference a tab gives: the node leaves, a browser tab seeds the file, and 4 tabs at once take it from that tab.
    await node.close();
    ctx.log(`cache node: the same ${together} tabs at once from a seeding browser tab instead`);
    const seed = await openPeer(ctx.browser, link('httpDelayMs=0'));
    let fromTabSeconds: number;
    try {
      await waitComplete(seed.page, 600_000);
      const started = Date.now();
      const peers = await Promise.all(Array.from({ length: together }, () => openPeer(ctx.browser, link('httpDelayMs=600000'))));
      await Promise.all(peers.map((p) => waitComplete(p.page, 600_000)));
      fromTabSeconds = (Date.now() - started) / 1000;
      for (const p of peers) await p.context.close();
    } finally {
      await seed.context.close();
    }
    const fromTab = mbps(together * size, fromTabSeconds);
    const aggregate = mbps(together * size, togetherSeconds);
    const raw = median([rawBefore, rawAfter]);
    ctx.log(`cache node: ${together} tabs at once ${aggregate.toFixed(1)} MB/s together (${togetherSeconds.toFixed(2)} s, from goto); from a seeding tab ${fromTab.toFixed(1)} MB/s; raw ${rawBefore.toFixed(1)} / ${rawAfter.toFixed(1)} MB/s`);
    return {
      cache_node_tabs: tabs,
      cache_node_file_mib: size / MiB,
      cache_node_cdn_bytes_per_file: round(cdnBytes / size),
      cache_node_share: round(fromPeers / (tabs * size)),
      cache_node_tabs_cdn_share: round(fromCdn / (tabs * size)),
      /** What the node says it sent, over what the tabs say they received from peers (1.0: the same bytes). */
      cache_node_served_vs_received: round(served / Math.max(1, fromPeers)),
      cache_node_together_mbps: round(aggregate, 2),
      cache_node_together_peer_share: round(togetherFromPeers / (together * size)),
      cache_node_raw_mbps: round(raw, 2),
      /** The same 4 tabs at once served by a seeding browser tab instead (same run). */
      cache_node_together_from_tab_mbps: round(fromTab, 2),
      cache_node_together_vs_tab_seed: round(aggregate / fromTab),
      /** One tab alone served by the full node (tabs 2-8, median, from goto: page load and link included). */
      cache_node_one_tab_mbps: round(mbps(size, median(alone)), 2),
      cache_node_one_tab_vs_raw: round(mbps(size, median(alone)) / raw),
      /** CPU seconds of the node's process while it served the 4 tabs, and the share of one core that was. */
      cache_node_cpu_s_per_gib: round(nodeCpuSeconds / ((together * size) / 1024 ** 3), 2),
      cache_node_cpu_share_of_core: round(nodeCpuSeconds / togetherSeconds),
      cache_node_mbps_vs_raw: round(aggregate / raw),
    };
  } finally {
    await node.close();
    await dir.remove();
    await swarm.close();
  }
};
