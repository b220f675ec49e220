/**
 * The end of a run: the result per peer and the swarm's totals, as a table for people and as
 * one JSON object (`--json`, the last line) for scripts and the e2e test.
 */
import { fmt, table } from '../bench/table.js';
import { formatSize, MiB } from './units.js';

export interface PeerResult {
  /** 1-based. */
  peer: number;
  peerId: string;
  /** The download's last state (complete, failed, downloading…). */
  state: string;
  bytesFromPeers: number;
  bytesFromCdn: number;
  /** From the moment the page was told to open the link to its download's completion; null if it did not complete. */
  seconds: number | null;
  /** Strikes this peer gave, summed over the peers it struck. */
  strikesGiven: number;
  /** Peers this peer banned. */
  bansGiven: number;
  /** True when this peer banned at least one peer. */
  banned: boolean;
  /** The IDs of the peers it banned. */
  bannedPeers: string[];
  /** Whether the file saved from this peer's page has the metadata's SHA-256 (false if not checked: incomplete). */
  sha256Ok: boolean;
  /** Every strike it gave: to whom, and the reason its download gave. */
  strikeLog: Array<{ peerId: string; reason: string }>;
  /** The download's first 'peer' events (connected, disconnected, dropped, strike, banned) with ms since it began: who met whom, and when. */
  peerLog: Array<{ ms: number; peerId: string; event: string; reason?: string }>;
  /** Per liar (in liarIds' order), as the liar saw this peer: data channels opened with it, and REQUESTs it got from it. */
  liarContacts?: Array<{ linkOpens: number; requests: number }>;
  error?: string;
}

export interface SwarmTotals {
  fileBytes: number;
  /** Body bytes the CDN origin served for the content (server.cdnLog), over all peers. */
  cdnBytes: number;
  /** cdnBytes / fileBytes: 1.0 means each byte crossed the CDN once. */
  cdnBytesPerFile: number;
  /** Verified bytes the browser peers got from peers, summed. */
  bytesFromPeers: number;
  /** Verified bytes the browser peers got from the CDN, summed. */
  bytesFromCdn: number;
  /** bytesFromPeers / (bytesFromPeers + bytesFromCdn), 0-1 (DO's PercentPeerCaching / 100). */
  peerShare: number;
  /** From the first page opening to the last completion (or to the end of the run). */
  seconds: number;
}

export interface SwarmReport {
  peers: PeerResult[];
  totals: SwarmTotals;
  allSha256Match: boolean;
  /** Lying Node WebRTC peers in the swarm, and their peer IDs. */
  liars: number;
  liarIds: string[];
  /** Bans of peers that are not liars (browser peers banning each other), summed over the peers. */
  honestPeersBanned: number;
  /** Every peer completed with the right SHA-256 within the timeout. */
  ok: boolean;
  /** Why not, when ok is false. */
  problems: string[];
}

const mib = (bytes: number): string => fmt(bytes / MiB);

export function totalsOf(peers: PeerResult[], fileBytes: number, cdnBytes: number, seconds: number): SwarmTotals {
  const bytesFromPeers = peers.reduce((a, p) => a + p.bytesFromPeers, 0);
  const bytesFromCdn = peers.reduce((a, p) => a + p.bytesFromCdn, 0);
  return {
    fileBytes,
    cdnBytes,
    cdnBytesPerFile: cdnBytes / fileBytes,
    bytesFromPeers,
    bytesFromCdn,
    peerShare: bytesFromPeers + bytesFromCdn === 0 ? 0 : bytesFromPeers / (bytesFromPeers + bytesFromCdn),
    seconds,
  };
}

export function peerTable(report: SwarmReport): string {
  const rows = [['peer', 'MiB from peers', 'MiB from CDN', 'seconds', 'strikes given', 'peers banned', 'sha256 ok']];
  for (const p of report.peers) {
    rows.push([
      `${p.peer} (${p.peerId.slice(0, 8)})${p.state === 'complete' ? '' : ` ${p.state}`}`,
      mib(p.bytesFromPeers),
      mib(p.bytesFromCdn),
      p.seconds === null ? '—' : fmt(p.seconds),
      String(p.strikesGiven),
      String(p.bansGiven),
      p.sha256Ok ? 'yes' : 'NO',
    ]);
  }
  const t = report.totals;
  rows.push(['total', mib(t.bytesFromPeers), mib(t.bytesFromCdn), fmt(t.seconds), String(report.peers.reduce((a, p) => a + p.strikesGiven, 0)), String(report.peers.reduce((a, p) => a + p.bansGiven, 0)), report.allSha256Match ? 'all' : 'NO']);
  return table(rows);
}

export function summaryLines(report: SwarmReport, cdnRate: number): string[] {
  const t = report.totals;
  const lines = [
    `file ${formatSize(t.fileBytes)}, ${report.peers.length} browser peers` +
      `${report.liars ? `, ${report.liars} liar${report.liars > 1 ? 's' : ''}` : ''}, CDN ${cdnRate ? `${fmt(cdnRate / 1e6)} MB/s per connection` : 'uncapped'}`,
    `CDN served ${mib(t.cdnBytes)} MiB for ${report.peers.length} copies of ${mib(t.fileBytes)} MiB: ${fmt(t.cdnBytesPerFile)}x the file; ${fmt(100 * t.peerShare)}% of the bytes came from peers`,
  ];
  return lines;
}

/** One line per ban of a peer that is not a liar, with the reasons of the strikes that led to it. */
export function honestBanLines(report: SwarmReport): string[] {
  const liars = new Set(report.liarIds);
  const name = (id: string): string => {
    const p = report.peers.find((x) => x.peerId === id);
    return p ? `peer ${p.peer} (${id.slice(0, 8)})` : `${id.slice(0, 8)}`;
  };
  const lines: string[] = [];
  for (const p of report.peers) {
    for (const id of p.bannedPeers.filter((x) => !liars.has(x))) {
      const reasons = p.strikeLog.filter((s) => s.peerId === id).map((s) => s.reason);
      lines.push(`peer ${p.peer} banned honest ${name(id)}: ${reasons.join('; ') || 'no reason recorded'}`);
    }
  }
  return lines;
}
