/**
 * IndexedDB failures as TabswarmError('storage-error'), with a message that says which
 * database, what was being done, and why it failed in words (a full quota named as such).
 */
import { TabswarmError } from '../core/errors.js';

export function describeStorageFailure(e: unknown): string {
  if (e instanceof DOMException && e.name === 'QuotaExceededError') return "the browser's storage quota is exhausted (QuotaExceededError)";
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Runs `fn`, turning any failure into TabswarmError('storage-error') naming `dbName` and `what`. */
export async function asStorageError<T>(dbName: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TabswarmError) throw e;
    throw new TabswarmError('storage-error', `IndexedDB "${dbName}": ${what} failed: ${describeStorageFailure(e)}`, { cause: e });
  }
}
