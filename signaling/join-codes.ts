/**
 * Join codes for classroom sharing: a short code (6 characters from an alphabet without the
 * look-alikes 0/O, 1/I/L) that a teacher reads out or writes on the board, mapped to the
 * shared content ID and the group its receivers join (download mode Group, DO's GroupID).
 *
 * Codes live in memory and expire (`ttlMs`, 24 h by default); a server restart forgets them
 * (the long link, which carries the content ID and the group, keeps working). The table is
 * bounded: expired codes are swept as new ones are made, and past `maxCodes` live codes the
 * oldest goes first.
 */
import { randomInt } from 'node:crypto';

/** 31 characters: digits and capitals without 0, 1, I, L, O. */
export const JOIN_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const JOIN_CODE_LENGTH = 6;
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

  /** A new code for `contentId` and `groupId`, unique among the live ones. */
  create(contentId: string, groupId: string): JoinEntry {
    this.#sweep();
    while (this.#entries.size >= this.#maxCodes) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    let code: string;
    do {
      code = Array.from({ length: JOIN_CODE_LENGTH }, () => JOIN_CODE_ALPHABET[randomInt(JOIN_CODE_ALPHABET.length)]).join('');
    } while (this.#entries.has(code));
    const entry: JoinEntry = { code, contentId, groupId, expiresAt: this.#now() + this.#ttlMs };
    this.#entries.set(code, entry);
    return entry;
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
