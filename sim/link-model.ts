/**
 * The simulator's network (issue 18): when each message between two peers arrives, given each
 * peer's upload and download rate and latency. The narrow part of a home or school link is
 * its access link, so that is what is modelled: each peer's uplink is shared by the flows it
 * sends (one per receiver), and its downlink by the flows it receives (one per sender), fairly,
 * as TCP-friendly congestion control shares them (WebRTC's SCTP is such a flow):
 *
 *   k_up      = flows of the sender with data on its uplink at `now`, this one included
 *   up start  = max(now, this flow's uplink free);  leaves = up start + bytes · k_up / upload rate
 *   down start = max(up start + both latencies, this flow's downlink free)
 *   k_down    = flows on the receiver's downlink at down start, this one included
 *   delivered = max(leaves + both latencies, down start + bytes · k_down / download rate)
 *
 * (cut through: a message crosses the receiver's downlink while its sender still sends it, so
 * a piece sent as one message costs the slower of the two links, not their sum).
 * Each message is charged its flow's share when it is sent (a flow that starts while others
 * run gets its share from then on). Messages of one flow keep their order. A 1 MiB piece sent
 * in 64 KiB chunks interleaves with other flows chunk by chunk, as on a real link. The core
 * above sees it through its PeerLink port. Rates in bytes per second, times in ms. Pure: the
 * caller keeps the clock, and the `now` of successive sends never goes back.
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
  /** When each flow it sends (by receiver) has left its uplink; flows that are done are dropped. */
  up: Map<string, number>;
  /** When each flow it receives (by sender) has crossed its downlink. */
  down: Map<string, number>;
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
    this.peers.set(peerId, { profile, up: new Map(), down: new Map(), sent: 0, received: 0 });
  }

  remove(peerId: string): void {
    this.peers.delete(peerId);
  }

  /** When (ms) a message of `bytes` sent now from `from` is delivered to `to`; it takes its share of both links. */
  send(from: string, to: string, bytes: number, now: number): number {
    const a = this.access(from);
    const b = this.access(to);
    let kUp = 1;
    for (const [flow, freeAt] of a.up) {
      if (freeAt <= now) a.up.delete(flow);
      else if (flow !== to) kUp++;
    }
    const upStart = Math.max(now, a.up.get(to) ?? 0);
    const leaves = upStart + (bytes * 1000 * kUp) / a.profile.uploadBps;
    a.up.set(to, leaves);
    const latency = a.profile.latencyMs + b.profile.latencyMs;
    // Cut through: the message's first bytes reach the downlink while the rest is still sent.
    const downStart = Math.max(upStart + latency, b.down.get(from) ?? 0);
    let kDown = 1;
    for (const [flow, freeAt] of b.down) if (flow !== from && freeAt > downStart) kDown++;
    const delivered = Math.max(leaves + latency, downStart + (bytes * 1000 * kDown) / b.profile.downloadBps);
    b.down.set(from, delivered);
    a.sent += bytes;
    b.received += bytes;
    return delivered;
  }

  /** When (ms) everything `from` has sent to `to` so far has left its uplink (after `send`: when that message left). */
  upFreeAt(from: string, to: string): number {
    return this.access(from).up.get(to) ?? 0;
  }

  /** Whether the network has this peer. */
  has(peerId: string): boolean {
    return this.peers.has(peerId);
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
