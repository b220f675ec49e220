/** Room for one more link: maxPeers, of them maxOfferedPeers offered by this side, cache nodes beyond (core/swarm/link-room.ts). */
import { describe, expect, it } from 'vitest';
import { hasRoom } from '../../../src/core/swarm/link-room.js';

const config = { maxPeers: 4, maxOfferedPeers: 2, maxCacheNodeLinks: 1 };
const links = (...entries: Array<[string, boolean]>) => entries.map(([id, initiator]): [string, { initiator: boolean }] => [id, { initiator }]);
const cacheNode = (id: string) => id.startsWith('cache');

describe('hasRoom', () => {
  it('stops offering at maxOfferedPeers but still answers offers up to maxPeers', () => {
    const two = links(['a', true], ['b', true]);
    expect(hasRoom(config, 'x', true, links(['a', true]), cacheNode)).toBe(true);
    expect(hasRoom(config, 'x', true, two, cacheNode)).toBe(false);
    expect(hasRoom(config, 'x', false, two, cacheNode)).toBe(true);
    expect(hasRoom(config, 'x', false, [...two, ...links(['c', false])], cacheNode)).toBe(true);
    expect(hasRoom(config, 'x', false, [...two, ...links(['c', false], ['d', false])], cacheNode)).toBe(false);
    // Answered offers do not count against our own.
    expect(hasRoom(config, 'x', true, links(['a', true], ['c', false], ['d', false]), cacheNode)).toBe(true);
  });

  it('links a cache node beyond both bounds, and does not count it as an offer', () => {
    const full = links(['a', true], ['b', true], ['c', false], ['d', false]);
    expect(hasRoom(config, 'cache1', true, full, cacheNode)).toBe(true);
    expect(hasRoom(config, 'x', true, links(['cache1', true], ['a', true]), cacheNode)).toBe(true);
    // Past maxCacheNodeLinks a cache node takes an ordinary slot.
    expect(hasRoom(config, 'cache2', true, [...full, ...links(['cache1', true])], cacheNode)).toBe(false);
  });

  it('0 bounds offers by maxPeers alone', () => {
    const open = { ...config, maxOfferedPeers: 0 };
    expect(hasRoom(open, 'x', true, links(['a', true], ['b', true], ['c', true]), cacheNode)).toBe(true);
    expect(hasRoom(open, 'x', true, links(['a', true], ['b', true], ['c', true], ['d', true]), cacheNode)).toBe(false);
  });
});
