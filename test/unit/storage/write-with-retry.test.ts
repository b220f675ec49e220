import { describe, expect, it } from 'vitest';
import { isTabswarmError } from '../../../src/core/errors.js';
import { writeWithRetry, type WriteOutcome } from '../../../src/storage/write-with-retry.js';

/** A write that fails with `errors` in turn, then succeeds; records what it was given. */
function flakyWrite(errors: string[]) {
  const given: Uint8Array[] = [];
  const write = async (data: Uint8Array): Promise<WriteOutcome> => {
    given.push(data);
    // Like the worker: the bytes come back in a new view.
    const back = new Uint8Array(data);
    const name = errors.shift();
    return name ? { data: back, error: { name, message: `${name} happened` } } : { data: back };
  };
  return { write, given };
}

describe('piece writes tried again', () => {
  it('writes the same bytes again after transient failures, with doubling pauses', async () => {
    const { write, given } = flakyWrite(['DataError', 'DataError']);
    const pauses: number[] = [];
    const bytes = new Uint8Array([1, 2, 3]);
    const out = await writeWithRetry(write, bytes, 'piece 3', { sleep: async (ms) => void pauses.push(ms) });
    expect([...out]).toEqual([1, 2, 3]);
    expect(given.map((g) => [...g])).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expect(pauses).toEqual([250, 500]);
  });

  it('gives up with a storage error after its attempts', async () => {
    const { write, given } = flakyWrite(['DataError', 'DataError', 'DataError']);
    const error = await writeWithRetry(write, new Uint8Array(4), 'piece 5', { attempts: 3, sleep: async () => {} }).catch((e: unknown) => e);
    expect(isTabswarmError(error, 'storage-error')).toBe(true);
    expect(String((error as Error).message)).toContain('DataError');
    expect(given).toHaveLength(3);
  });

  it('does not try again when the quota is exhausted', async () => {
    const { write, given } = flakyWrite(['QuotaExceededError']);
    const error = await writeWithRetry(write, new Uint8Array(4), 'piece 1', { sleep: async () => {} }).catch((e: unknown) => e);
    expect(isTabswarmError(error, 'storage-full')).toBe(true);
    expect(String((error as Error).message)).toContain('quota');
    expect(given).toHaveLength(1);
  });
});
