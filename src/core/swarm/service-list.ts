/**
 * What the Arrays service said in its last `peers` reply: the peers it listed with the bytes
 * each had left then, and this tab's CDN slot (docs/protocol.md, "CDN slots"), if it gave one.
 */
import type { CdnSlot } from '../../protocol/arrays-messages.js';
import type { SignalingEvents } from '../ports.js';

export class ServiceList {
  private listed = new Map<string, number>();
  /** This tab's slot among its partition's downloaders; undefined when the service gave none. */
  cdnSlot: CdnSlot | undefined;

  /** The reply `m` replaces the last one (`self` is never listed to itself, but a merge might). */
  update(m: SignalingEvents['peers'], self: string): void {
    this.listed = new Map(m.peers.filter((p) => p.peerId !== self).map((p) => [p.peerId, p.left]));
    this.cdnSlot = m.cdnSlot;
  }

  has(peerId: string): boolean {
    return this.listed.has(peerId);
  }

  /** Bytes `peerId` had left when listed; undefined if it was not. */
  leftOf(peerId: string): number | undefined {
    return this.listed.get(peerId);
  }

  /** Listed peers that had something left, but those `excluded` says no to. */
  downloaders(excluded: (peerId: string) => boolean): string[] {
    const out: string[] = [];
    for (const [id, left] of this.listed) if (left > 0 && !excluded(id)) out.push(id);
    return out;
  }
}
