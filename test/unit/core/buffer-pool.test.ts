import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../../src/core/buffer-pool.js';

describe('BufferPool', () => {
  it('hands back a given buffer of the size asked for, and a new one otherwise', () => {
    const pool = new BufferPool();
    const a = pool.take(1024);
    expect(a.byteLength).toBe(1024);
    pool.give(a);
    expect(pool.bytes).toBe(1024);
    expect(pool.take(1024)).toBe(a);
    expect(pool.reused).toBe(1);
    expect(pool.take(1024)).not.toBe(a);
    pool.give(a);
    expect(pool.take(512).byteLength).toBe(512); // another size: a new buffer, `a` kept
    expect(pool.bytes).toBe(1024);
  });

  it('ignores a detached buffer', () => {
    const pool = new BufferPool();
    const a = new ArrayBuffer(64);
    structuredClone(a, { transfer: [a] });
    expect(a.byteLength).toBe(0);
    pool.give(a);
    expect(pool.bytes).toBe(0);
  });

  it('keeps no more than its bound', () => {
    const pool = new BufferPool(3 * 1024);
    for (let i = 0; i < 10; i++) pool.give(new ArrayBuffer(1024));
    expect(pool.bytes).toBe(3 * 1024);
  });

  it('keeps two sizes at most: a third drops the oldest', () => {
    const pool = new BufferPool();
    pool.give(new ArrayBuffer(100));
    pool.give(new ArrayBuffer(200));
    pool.give(new ArrayBuffer(300));
    expect(pool.bytes).toBe(500);
    expect(pool.take(100).byteLength).toBe(100);
    expect(pool.reused).toBe(0);
  });
});
