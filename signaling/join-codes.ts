/**
 * Join codes for classroom sharing: a short code (9 characters from an alphabet without the
 * look-alikes 0/O, 1/I/L, shown as three groups, "K7P-3QX-M4A") that a teacher reads out or
 * writes on the board, mapped to the shared content ID and the group its receivers join
 * (download mode Group, DO's GroupID).
 *
 * Why 9: a code gives the content ID and the group, enough to join a class's swarm, so it must
 * not be found by guessing while it lives (`joinCodeTtlMs`, 24 h). Guesses are bounded by
 * join-guard.ts: failed lookups from all addresses together at 600 a minute, plus one lookup
 * per fresh address (an address that failed lately is refused while that budget is spent), and
 * 10 a minute per address. An attacker with 1,000 addresses thus makes at most about
 * 600 + 1,000 / 10 = 700 guesses a minute, about 1.0 M in a code's 24 h. With the most live
 * codes the table holds (`maxCodes`, 100,000) the expected number of codes found is
 * 1.0e6 × 1e5 / 31^9 (2.6e13) ≈ 0.004; with 6 characters it was 1.0e6 × 1e5 / 8.9e8, about 100.
 *
 * Codes live in memory and expire; a server restart forgets them (the long link, which carries
 * the content ID and the group, keeps working). The table is bounded: expired codes are swept
 * as new ones are made, and at `maxCodes` live codes `create` makes none (the share is refused
 * with 503): nobody's live code is ever dropped to make room for another's.
 */
import { randomInt } from 'node:crypto';

/** 31 characters: digits and capitals without 0, 1, I, L, O. */
export const JOIN_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const JOIN_CODE_LENGTH = 9;
const JOIN_CODE_RE = new RegExp(`^[${JOIN_CODE_ALPHABET}]{${JOIN_CODE_LENGTH}}$`);

export interface JoinEntry {
  code: string;
  contentId: string;
  groupId: string;
  /** When the code stops resolving (ms since the epoch). */
  expiresAt: number;
}

export interface JoinCodesOptions {
  ttlMs: number;
  /** Most live codes; the oldest is dropped past it. @default 100000 */
  maxCodes?: number;
  /** The clock (ms), for tests. @default Date.now */
  now?: () => number;
}

/** A code as typed by a person: upper-cased, spaces and dashes dropped; undefined if it cannot be a code. */
export function normalizeJoinCode(input: string): string | undefined {
  const code = input.replace(/[\s-]/g, '').toUpperCase();
  return JOIN_CODE_RE.test(code) ? code : undefined;
}

export class JoinCodes {
  readonly #entries = new Map<string, JoinEntry>();
  readonly #ttlMs: number;
  readonly #maxCodes: number;
  readonly #now: () => number;

  constructor(options: JoinCodesOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxCodes = options.maxCodes ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Whether `create` can make a code now (expired ones swept first). */
  hasRoom(): boolean {
    this.#sweep();
    return this.#entries.size < this.#maxCodes;
  }

  /**
   * A new code for `contentId` and `groupId`, unique among the live ones; undefined when
   * `maxCodes` codes are live (no live code is dropped to make room).
   */
  create(contentId: string, groupId: string): JoinEntry | undefined {
    if (!this.hasRoom()) return undefined;
    let code: string;
    do {
      code = Array.from({ length: JOIN_CODE_LENGTH }, () => JOIN_CODE_ALPHABET[randomInt(JOIN_CODE_ALPHABET.length)]).join('');
    } while (this.#entries.has(code));
    const entry: JoinEntry = { code, contentId, groupId, expiresAt: this.#now() + this.#ttlMs };
    this.#entries.set(code, entry);
    return entry;
  }

  /** Drops every code of `contentId` (its share was deleted). */
  dropContent(contentId: string): void {
    for (const [code, e] of this.#entries) if (e.contentId === contentId) this.#entries.delete(code);
  }

  /** The live entry of `input` (normalized first), or undefined if unknown or expired. */
  resolve(input: string): JoinEntry | undefined {
    const code = normalizeJoinCode(input);
    if (code === undefined) return undefined;
    const entry = this.#entries.get(code);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(code);
      return undefined;
    }
    return entry;
  }

  /** Drops expired codes (insertion order is expiry order: one TTL for all). */
  #sweep(): void {
    const now = this.#now();
    for (const [code, entry] of this.#entries) {
      if (entry.expiresAt > now) break;
      this.#entries.delete(code);
    }
  }
}
