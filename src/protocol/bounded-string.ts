/**
 * Strings bounded in UTF-16 code units, as LIMITS states them. zod's own `.max()` counts
 * code points, so an emoji-heavy string could be twice as long as the limit says.
 */
import { z } from 'zod';

export function boundedString(max: number, min = 0) {
  return z.string().refine((s) => s.length >= min && s.length <= max, {
    message: min > 0 ? `expected ${min} to ${max} UTF-16 code units` : `expected at most ${max} UTF-16 code units`,
  });
}

/** Bytes of `text` as UTF-8, without allocating. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
