/**
 * The simulator's network (issue 18): when each message between two peers arrives, given each
 * peer's upload and download rate and latency. Store and forward, one message at a time per
 * direction of each peer's access link, which is where home and school links are narrow:
 *
 *   leaves the sender   = max(now, sender's uplink free) + bytes / sender's upload rate
 *   reaches the receiver = that + (sender's latency + receiver's latency)
 *   delivered           = max(reaches, receiver's downlink free) + bytes / receiver's download rate
 *
 * So a peer's upload is shared by everything it sends, in order; a peer's download by
 * everything it receives, in order of arrival; a 1 MiB piece sent in 64 KiB chunks
 * interleaves with others' chunks as on a real link. The core above sees it through its
 * PeerLink port. Rates in bytes per second, times in ms. Pure: the caller keeps the clock.
 */

export interface LinkProfile {
  uploadBps: number;
  downloadBps: number;
  /** One way, from the peer to the core of the network, ms. */
  latencyMs: number;
}

export class LinkModelError extends Error {
  readonly kind = 'link-model';
}

interface Access {
  profile: LinkProfile;
  upFreeAt: number;
  downFreeAt: number;
  /** Bytes it sent and received, for the figures. */
  sent: number;
  received: number;
}

export class LinkModel {
  private readonly peers = new Map<string, Access>();

  add(peerId: string, profile: LinkProfile): void {
    const ok = (x: number) => Number.isFinite(x) && x > 0;
    if (!ok(profile.uploadBps) || !ok(profile.downloadBps) || !(Number.isFinite(profile.latencyMs) && profile.latencyMs >= 0)) {
      throw new LinkModelError(`peer ${peerId}: rates must be > 0 and latency >= 0, got ${JSON.stringify(profile)}`);
    }
    this.peers.set(peerId, { profile, upFreeAt: 0, downFreeAt: 0, sent: 0, received: 0 });
  }

  remove(peerId: string): void {
    this.peers.delete(peerId);
  }

  /** When (ms) a message of `bytes` sent now from `from` is delivered to `to`; it takes its place on both links. */
  send(from: string, to: string, bytes: number, now: number): number {
    const a = this.access(from);
    const b = this.access(to);
    const leaves = Math.max(now, a.upFreeAt) + (bytes * 1000) / a.profile.uploadBps;
    a.upFreeAt = leaves;
    const reaches = leaves + a.profile.latencyMs + b.profile.latencyMs;
    const delivered = Math.max(reaches, b.downFreeAt) + (bytes * 1000) / b.profile.downloadBps;
    b.downFreeAt = delivered;
    a.sent += bytes;
    b.received += bytes;
    return delivered;
  }

  /** Bytes a peer's uplink still has to send at `now` (its send buffer, as a data channel's bufferedAmount). */
  queuedUp(peerId: string, now: number): number {
    const a = this.access(peerId);
    return Math.max(0, ((a.upFreeAt - now) * a.profile.uploadBps) / 1000);
  }

  totals(peerId: string): { sent: number; received: number } {
    const a = this.access(peerId);
    return { sent: a.sent, received: a.received };
  }

  private access(peerId: string): Access {
    const a = this.peers.get(peerId);
    if (!a) throw new LinkModelError(`no peer ${peerId} in the network`);
    return a;
  }
}
