/**
 * Swarm offload: N tabs (8; 3 in the tiny run) open the same file at the same moment while
 * the CDN origin is held to a set rate per connection. Reported: CDN bytes over the file size
 * (1.0 is ideal: each byte crosses the CDN once), the share of bytes that came from peers
 * (DO's PercentPeerCaching), and the swarm's completion time beside one tab alone on the same
 * throttled CDN (the reference, measured in the same run).
 */
import { openPeer, startTestServer, stats, waitComplete } from '../test/e2e/fixtures.js';
import type { BenchContext, BenchResult } from './types.js';

const MiB = 1024 * 1024;

export async function swarmOffload(ctx: BenchContext): Promise<BenchResult> {
  const tabs = ctx.tiny ? 3 : 8;
  const size = ctx.tiny ? 16 * MiB : 128 * MiB;
  const rate = ctx.tiny ? 8 * MiB : 4 * MiB;
  const swarm = await startTestServer(size, 41, { cdnRateBytesPerSec: rate });
  const link = `${swarm.server.url}/#c=${swarm.contentId}`;
  try {
    ctx.log(`swarm offload: ${tabs} tabs, ${size / MiB} MiB, CDN ${rate / MiB} MiB/s per connection`);
    const started = Date.now();
    const peers = await Promise.all(Array.from({ length: tabs }, () => openPeer(ctx.browser, link)));
    await Promise.all(peers.map((p) => waitComplete(p.page, 900_000)));
    const swarmSeconds = (Date.now() - started) / 1000;
    const snaps = await Promise.all(peers.map((p) => stats(p.page)));
    const cdnBytes = swarm.server.cdnLog.bytesFor(swarm.contentId);
    const fromPeers = snaps.reduce((n, s) => n + s.bytesFromPeers, 0);
    const fromCdn = snaps.reduce((n, s) => n + s.bytesFromCdn, 0);
    for (const p of peers) await p.context.close();

    ctx.log('swarm offload: one tab alone on the same CDN');
    swarm.server.cdnLog.reset();
    const aloneStarted = Date.now();
    const alone = await openPeer(ctx.browser, link);
    await waitComplete(alone.page, 900_000);
    const aloneSeconds = (Date.now() - aloneStarted) / 1000;
    await alone.context.close();

    return {
      swarm_tabs: tabs,
      swarm_file_mib: size / MiB,
      swarm_cdn_rate_mib_s: rate / MiB,
      cdn_bytes_per_file: cdnBytes / size,
      peer_share: fromPeers / (fromPeers + fromCdn),
      swarm_seconds: swarmSeconds,
      cdn_alone_seconds: aloneSeconds,
    };
  } finally {
    await swarm.close();
  }
}
