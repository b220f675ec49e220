/**
 * What the Arrays service knows of each content's swarm, aggregated from its members' last
 * announce reports: DO's report fields (Uploaded, Downloaded, DownloadedCdn, Left, UploadedBPS,
 * DownloadBPS) summed over the members, and the member counts. Served as JSON and as
 * Prometheus text (signaling/metrics.ts); produced by `ArraysService.contentReports()`.
 */

import type { DownloadMode } from '../src/protocol/arrays-messages.js';

/** DO download modes that take part in a swarm (the others never announce): arrays-messages' DownloadMode. */
export type PeeringScope = DownloadMode;

export interface ContentReport {
  contentId: string;
  /** Members of the swarm (every scope). */
  peers: number;
  /** Members with nothing left to download. */
  seeders: number;
  /** Members by the download mode they announced with. */
  peersByScope: Record<PeeringScope, number>;
  /** Sums over the members' last reports (bytes, and bytes per second). */
  uploaded: number;
  downloaded: number;
  downloadedCdn: number;
  left: number;
  uploadedBps: number;
  downloadBps: number;
}
