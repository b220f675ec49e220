/**
 * For the app page (main.ts) when it downloads peer-only content (a classroom share: no CDN
 * copy): what to say while no peer is connected, instead of an idle-looking progress bar.
 */
import type { ClientDownload } from '../../client/create-client.js';

/** The waiting note for `d`, or undefined when there is nothing to wait for. */
export function waitingForPeersNote(d: Pick<ClientDownload, 'content' | 'download'>): string | undefined {
  const peerOnly = d.content.mode === 'verified' && d.content.cdnUrls.length === 0;
  if (!peerOnly || d.download.state !== 'downloading' || d.download.connectedPeers > 0) return undefined;
  return 'Waiting for the sharer or other receivers: this file has no copy on a server, it comes only from their tabs. Keep this page open.';
}
