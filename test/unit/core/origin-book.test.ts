/**
 * The origin book (core/swarm/origin-book.ts): a banned liar's origin tag refuses its other
 * peer IDs, but never this tab's own tag, even when the liar was banned before the service
 * told us our own (one e2e run banned an honest seeder on the same address that way).
 */
import { describe, expect, it } from 'vitest';
import { OriginBook } from '../../../src/core/swarm/origin-book.js';

describe('OriginBook', () => {
  it('refuses another ID with a banned tag once our own tag is known, never ours', () => {
    const book = new OriginBook();
    book.note('liar', 'tag-liar');
    book.note('liar-2', 'tag-liar');
    book.note('neighbour', 'tag-ours');
    book.setOwn('tag-ours');
    expect(book.ban('liar')).toBe(true);
    expect(book.bannedTagOf('liar-2')).toBe('tag-liar');
    book.note('liar-3', 'tag-ours');
    expect(book.ban('liar-3'), 'our own tag is never kept').toBe(false);
    expect(book.bannedTagOf('neighbour')).toBeUndefined();
  });

  it('a liar banned before our own tag is known refuses no one on our tag once it is', () => {
    const book = new OriginBook();
    book.note('liar', 'tag-shared');
    book.note('honest', 'tag-shared');
    expect(book.ban('liar')).toBe(true);
    // Not known yet: no refusal at all (the tag may be ours).
    expect(book.bannedTagOf('honest')).toBeUndefined();
    book.setOwn('tag-shared');
    expect(book.bannedTagOf('honest')).toBeUndefined();
    // A liar on another address, banned before, is still refused by its tag.
    const other = new OriginBook();
    other.note('liar', 'tag-far');
    other.note('liar-2', 'tag-far');
    other.ban('liar');
    other.setOwn('tag-ours');
    expect(other.bannedTagOf('liar-2')).toBe('tag-far');
  });
});
