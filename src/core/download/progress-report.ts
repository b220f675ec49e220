/** What a download tells the Arrays service at each announce (DO's progress report; the swarm adds the mode and group). */
import type { ClientConfig } from '../config.js';
import type { StatsSnapshot } from '../stats.js';
import type { ProgressReport } from '../../protocol/arrays-messages.js';

export function progressReport(s: StatsSnapshot, bytesLeft: number, config: Pick<ClientConfig, 'peersWanted' | 'isBackground'>): ProgressReport {
  return {
    uploaded: s.bytesUploaded,
    downloaded: s.bytesFromPeers,
    downloadedCdn: s.bytesFromCdn,
    left: bytesLeft,
    peersWanted: Math.min(config.peersWanted, 50),
    isBackground: config.isBackground,
    uploadedBps: s.uploadBps,
    downloadBps: s.downloadBps,
  };
}
