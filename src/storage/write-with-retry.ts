/**
 * A piece write to IndexedDB, tried again when the browser fails it. Chromium stores large
 * values as blobs of its own and sometimes fails such a write ("DataError: Failed to write
 * blobs"); one lost write must not fail a long download: the bytes are still in hand, so the
 * write is tried again after a pause that doubles. A full quota is not transient and fails at
 * once, as 'storage-full'.
 *
 * DOM-free (the write is passed in), so a Node test drives it.
 */
import { TabswarmError } from '../core/errors.js';

export interface WriteOutcome {
  /** The bytes written (the same bytes). */
  data: Uint8Array;
  /** Why the write failed, if it did. */
  error?: { name: string; message: string };
}

export interface RetryOptions {
  /** Writes tried in all. @default 6 */
  attempts?: number;
  /** Pause before the second try, doubled before each next one (0.25 + 0.5 + ... = 7.75 s in all by default). @default 250 */
  firstPauseMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export async function writeWithRetry(
  write: (data: Uint8Array) => Promise<WriteOutcome>,
  data: Uint8Array,
  what: string,
  options: RetryOptions = {},
): Promise<Uint8Array> {
  const attempts = Math.max(1, options.attempts ?? 6);
  const firstPauseMs = options.firstPauseMs ?? 250;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let bytes = data;
  for (let attempt = 1; ; attempt++) {
    const outcome = await write(bytes);
    bytes = outcome.data;
    if (!outcome.error) return bytes;
    const { name, message } = outcome.error;
    if (name === 'QuotaExceededError') {
      throw new TabswarmError('storage-full', `${what} failed: the browser's storage quota is exhausted (QuotaExceededError)`);
    }
    if (attempt >= attempts) throw new TabswarmError('storage-error', `${what} failed ${attempts} times, last: ${name}: ${message}`);
    await sleep(firstPauseMs * 2 ** (attempt - 1));
  }
}
