/**
 * A source of pieces: one peer, or the CDN. The scheduler treats them alike; only its
 * policy (HTTP delay, which pieces go to the CDN) tells them apart.
 */
export type SourceKind = 'peer' | 'cdn';

export interface PieceSource {
  /** 'cdn' or the remote peer ID. */
  readonly id: string;
  readonly kind: SourceKind;
  /** Whether the source claims to hold piece `index` (and has not refused it). */
  has(index: number): boolean;
  /** How many more requests the source takes now. */
  freeSlots(): number;
  /**
   * Fetches piece `index`, `length` bytes. Rejects with a TabswarmError (peer-gone, timeout,
   * peer-rejected, cdn-error, protocol-violation). The bytes are unverified.
   */
  fetch(index: number, length: number): Promise<Uint8Array>;
}
