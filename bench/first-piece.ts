/**
 * First piece: how long a tab that opens the link waits for its first verified piece from a
 * peer, with a seeder present. Context A downloads the file from the CDN and stays; then, one
 * after another, fresh contexts open the link with `?httpDelayMs=600000` (so the CDN is out of
 * the race), and each is closed once its first peer piece is in.
 *
 * Method: t0 is Date.now() in the runner just before page.goto; the first peer piece's time is
 * Date.now() in the page when the download emits its 'piece' event with kind 'peer' (the
 * piece was verified and stored), recorded by the probe of util.ts, which subscribes to the
 * download from an init script (found by 1 ms polling, long before any peer link opens). Both
 * clocks are the same machine's wall clock. No polling latency is in the figure.
 *
 *   first_piece_p50_s, first_piece_p95_s  (nearest rank over the joins)
 */
import type { BenchModule } from './types.js';
import { MiB, newProbedPage, percentile, round, startContentServer, waitProbe } from './util.js';

export const firstPieceBench: BenchModule = async (ctx) => {
  const joins = ctx.tiny ? 3 : 15;
  const content = await startContentServer(16 * MiB, 15);
  const seeder = await newProbedPage(ctx.browser);
  try {
    await seeder.page.goto(content.link({ httpDelayMs: 0 }));
    await waitProbe(seeder.page, 'completeAt', 120_000);
    const seconds: number[] = [];
    const connects: number[] = [];
    for (let j = 1; j <= joins; j++) {
      const peer = await newProbedPage(ctx.browser);
      try {
        const t0 = Date.now();
        await peer.page.goto(content.link({ httpDelayMs: 600_000 }));
        const p = await waitProbe(peer.page, 'firstPeerPieceAt', 60_000);
        seconds.push((p.firstPeerPieceAt - t0) / 1000);
        connects.push((p.firstPeerConnectedAt - t0) / 1000);
        ctx.log(
          `first-piece ${j}/${joins}: ${seconds.at(-1)!.toFixed(3)} s ` +
            `(download created ${((p.subscribedAt - t0) / 1000).toFixed(3)} s, peer link open ${connects.at(-1)!.toFixed(3)} s)`,
        );
      } finally {
        await peer.context.close();
      }
    }
    return {
      first_piece_p50_s: round(percentile(seconds, 50)),
      first_piece_p95_s: round(percentile(seconds, 95)),
      first_piece_min_s: round(Math.min(...seconds)),
      first_piece_max_s: round(Math.max(...seconds)),
      first_piece_connect_p50_s: round(percentile(connects, 50)),
      first_piece_joins: joins,
    };
  } finally {
    await seeder.context.close();
    await content.close();
  }
};
