/** Text-level corruption for fuzzing parsers: insert and delete at random places. */
import fc from 'fast-check';

export type TextEdit = { at: number; del: number; insert: string };

/** Edits that insert one of `tokens` (characters that matter to the parser) or up to 4 random characters. */
export function textEditArb(tokens: readonly string[]): fc.Arbitrary<TextEdit> {
  return fc.record({
    at: fc.nat(),
    del: fc.integer({ min: 0, max: 4 }),
    insert: fc.oneof(fc.constantFrom(...tokens), fc.string({ unit: 'binary', maxLength: 4 })),
  });
}

export function applyEdits(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of edits) {
    const at = e.at % (out.length + 1);
    out = out.slice(0, at) + e.insert + out.slice(at + e.del);
  }
  return out;
}
