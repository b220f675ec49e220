/**
 * Property-based fuzzing of the metadata parser (src/protocol/metadata.ts). Metadata comes
 * from the network, certified only by its hash, so `parseMetadata` must never throw, must
 * reject every malformed document, and must only accept documents whose invariants hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHA256_HEX, toHex } from '../../../src/protocol/hex.js';
import { LIMITS } from '../../../src/protocol/limits.js';
import { applyEdits, textEditArb } from '../../helpers/text-edits.js';
import { encodeMetadata, METADATA_FORMAT, METADATA_VERSION, parseMetadata, type Metadata, type MetadataParseResult } from '../../../src/protocol/metadata.js';

// Runs per property: 1500 + 1500 + 1000 + 2000 + 1500 + 1000 + 3500 + 2000 = 14,000.
const RUNS = { bytes: 1500, json: 1500, anything: 1000, shaped: 2000, roundTrip: 1500, reformatted: 1000, mutation: 3500, textMutation: 2000 };

const KEYS = ['format', 'version', 'name', 'mimeType', 'fileSize', 'pieceSize', 'fileSha256', 'pieceSha256'] as const;
type Key = (typeof KEYS)[number];

const utf8 = (s: string) => new TextEncoder().encode(s);
const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** Parses without letting an exception escape, and checks the invariants of anything accepted. */
function parseChecked(bytes: Uint8Array): MetadataParseResult {
  let r: MetadataParseResult;
  try {
    r = parseMetadata(bytes);
  } catch (e) {
    throw new Error(`parseMetadata threw on ${JSON.stringify(new TextDecoder().decode(bytes.subarray(0, 200)))}: ${String(e)}`);
  }
  if (!r.ok) {
    if (typeof r.reason !== 'string' || r.reason.length === 0) throw new Error('rejection without a reason');
    return r;
  }
  checkInvariants(r.metadata);
  return r;
}

function checkInvariants(m: Metadata): void {
  const fail = (why: string): never => {
    throw new Error(`accepted metadata breaks an invariant: ${why}: ${JSON.stringify({ ...m, pieceSha256: `[${m.pieceSha256.length}]` })}`);
  };
  if (Object.keys(m).sort().join() !== [...KEYS].sort().join()) fail('unexpected keys');
  if (m.format !== METADATA_FORMAT || m.version !== METADATA_VERSION) fail('format or version');
  if (typeof m.name !== 'string' || m.name.length < 1 || m.name.length > LIMITS.maxNameLength) fail('name');
  if (typeof m.mimeType !== 'string' || m.mimeType.length < 1 || m.mimeType.length > LIMITS.maxMimeLength) fail('mimeType');
  if (!Number.isInteger(m.fileSize) || m.fileSize < 0 || m.fileSize > LIMITS.maxFileSize) fail('fileSize');
  if (!isPowerOfTwo(m.pieceSize) || m.pieceSize < LIMITS.minPieceSize || m.pieceSize > LIMITS.maxPieceSize) fail('pieceSize');
  if (!Array.isArray(m.pieceSha256) || m.pieceSha256.length !== Math.ceil(m.fileSize / m.pieceSize)) fail('piece hash count');
  if (m.pieceSha256.length > LIMITS.maxPieces) fail('more than LIMITS.maxPieces pieces');
  if (!SHA256_HEX.test(m.fileSha256)) fail('fileSha256');
  for (const h of m.pieceSha256) if (typeof h !== 'string' || !SHA256_HEX.test(h)) fail('piece hash');
}

// ---------------------------------------------------------------- generators of valid metadata

const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);

/** Well-formed strings (no lone surrogates) of 1..max UTF-16 code units, with quotes, controls and astral characters. */
function textArb(max: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: max }),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: max }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: Math.floor(max / 2) }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.floor(max / 4) }),
      fc.constantFrom('x'.repeat(max), '\u{1F600}'.repeat(Math.floor(max / 2)), '"\\\u0000\u2028', 'a'),
    )
    .filter((s) => s.length >= 1 && s.length <= max);
}

const validMetadataArb: fc.Arbitrary<Metadata> = fc
  .record({
    log2: fc.integer({ min: Math.log2(LIMITS.minPieceSize), max: Math.log2(LIMITS.maxPieceSize) }),
    count: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 24 }), weight: 8 }, { arbitrary: fc.integer({ min: 25, max: 150 }), weight: 1 }),
    lastFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    name: textArb(LIMITS.maxNameLength),
    mimeType: textArb(LIMITS.maxMimeLength),
    fileSha256: hashArb,
  })
  .chain(({ log2, count, lastFraction, name, mimeType, fileSha256 }) => {
    const pieceSize = 2 ** log2;
    const last = Math.min(pieceSize, 1 + Math.floor(lastFraction * pieceSize));
    const fileSize = count === 0 ? 0 : (count - 1) * pieceSize + last;
    return fc.array(hashArb, { minLength: count, maxLength: count }).map(
      (pieceSha256): Metadata => ({ format: METADATA_FORMAT, version: METADATA_VERSION, name, mimeType, fileSize, pieceSize, fileSha256, pieceSha256 }),
    );
  });

// ---------------------------------------------------------------- mutations that must be rejected

/** Values that are not of the field's JSON type. */
const notString = fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'string');
const notNumber = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'number'),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1', '16384', '1e3', '0x10', '', ' 1', '1048576', 'null'),
);
const notArrayOfStrings = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((v) => !Array.isArray(v)),
  fc.array(fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'string'), { minLength: 1, maxLength: 4 }),
);
const wrongTypeFor: Record<Key, fc.Arbitrary<unknown>> = {
  format: notString,
  version: notNumber,
  name: notString,
  mimeType: notString,
  fileSize: notNumber,
  pieceSize: notNumber,
  fileSha256: notString,
  pieceSha256: notArrayOfStrings,
};

/** A raw JSON number literal, spliced into the text so that 1e400 and friends reach the parser as written. */
type Raw = { raw: string };
const raw = (text: string): Raw => ({ raw: text });

const NON_HEX = [...'ABCDEFGghijklmnopqrstuvwxyzG -_.:/\\"\u00e9\u0660\uff10\u{1F600}', '\u0000', '\n'];

function deep(depth: number, kind: 'array' | 'object', leaf: string): string {
  return kind === 'array' ? '['.repeat(depth) + leaf + ']'.repeat(depth) : '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
}

type Mutation =
  | { kind: 'wrong type'; key: Key; value: unknown }
  | { kind: 'drop'; key: Key }
  | { kind: 'add'; key: string; value: unknown }
  | { kind: 'hash count'; delta: number }
  | { kind: 'non-hex'; which: number; at: number; char: string }
  | { kind: 'hash length'; which: number; delta: number }
  | { kind: 'number'; key: 'fileSize' | 'pieceSize' | 'version'; value: number | Raw }
  | { kind: 'string length'; key: 'name' | 'mimeType' | 'format'; value: string }
  | { kind: 'deep'; key: Key | '(root)' | '(extra)'; depth: number; shape: 'array' | 'object' };

const KNOWN = new Set<string>(KEYS);
const extraKeyArb = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'Format', 'name ', 'pieceSha256s', '', 'extra'),
  fc.string({ unit: 'binary', maxLength: 12 }),
).filter((k) => !KNOWN.has(k));

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...KEYS).chain((key) => wrongTypeFor[key].map((value): Mutation => ({ kind: 'wrong type', key, value }))),
  fc.constantFrom(...KEYS).map((key): Mutation => ({ kind: 'drop', key })),
  fc.record({ kind: fc.constant('add' as const), key: extraKeyArb, value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant('hash count' as const), delta: fc.oneof(fc.integer({ min: -400, max: -1 }), fc.integer({ min: 1, max: 5 })) }),
  fc.record({ kind: fc.constant('non-hex' as const), which: fc.nat(), at: fc.nat({ max: 63 }), char: fc.constantFrom(...NON_HEX) }),
  fc.record({ kind: fc.constant('hash length' as const), which: fc.nat(), delta: fc.integer({ min: -64, max: 64 }).filter((d) => d !== 0) }),
  fc.record({
    kind: fc.constant('number' as const),
    key: fc.constantFrom('fileSize' as const, 'pieceSize' as const),
    value: fc.oneof(
      // huge
      fc.constantFrom<number | Raw>(LIMITS.maxFileSize + 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, Number.MAX_VALUE, raw('1e400'), raw('-1e400'), raw('1e309'), raw('123456789012345678901234567890')),
      fc.double({ min: LIMITS.maxFileSize + 1, max: Number.MAX_VALUE, noNaN: true }),
      // negative
      fc.integer({ min: -(2 ** 40), max: -1 }),
      fc.double({ min: -Number.MAX_VALUE, max: -Number.MIN_VALUE, noNaN: true }),
      // fractional
      fc.integer({ min: 0, max: 1 << 24 }).map((n) => n + 0.5),
      fc.constant<number | Raw>(raw('1.5e-300')),
    ),
  }),
  fc.record({
    kind: fc.constant('number' as const),
    key: fc.constant('pieceSize' as const),
    value: fc.oneof(
      // not a power of two, or a power of two out of range
      fc.integer({ min: LIMITS.minPieceSize, max: LIMITS.maxPieceSize }).filter((n) => !isPowerOfTwo(n)),
      fc.constantFrom(0, 1, 2, 1024, 8192, LIMITS.minPieceSize / 2, LIMITS.maxPieceSize * 2, 2 ** 31, 2 ** 32, 2 ** 33, 2 ** 52, LIMITS.minPieceSize - 1, LIMITS.maxPieceSize + 1),
    ),
  }),
  fc.record({
    kind: fc.constant('number' as const),
    key: fc.constant('version' as const),
    value: fc.constantFrom<number | Raw>(0, 2, -1, 1.5, 2 ** 32 + 1, raw('1e400'), raw('1.0000000000000002'), 255),
  }),
  fc.oneof(
    fc.record({ kind: fc.constant('string length' as const), key: fc.constant('name' as const), value: fc.constantFrom('', 'n'.repeat(LIMITS.maxNameLength + 1), '\u{1F600}'.repeat(LIMITS.maxNameLength + 1), 'x'.repeat(100_000)) }),
    fc.record({ kind: fc.constant('string length' as const), key: fc.constant('mimeType' as const), value: fc.constantFrom('', 'm'.repeat(LIMITS.maxMimeLength + 1), '\u{1F600}'.repeat(LIMITS.maxMimeLength + 1)) }),
    fc.record({ kind: fc.constant('string length' as const), key: fc.constant('format' as const), value: fc.constantFrom('', 'tabswarm-metadata ', 'Tabswarm-metadata', 'tabswarm-metadata\u0000', 'tabswarm') }),
  ),
  fc.record({
    kind: fc.constant('deep' as const),
    key: fc.constantFrom<Key | '(root)' | '(extra)'>(...KEYS, '(root)', '(extra)'),
    depth: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 100, max: 5000 })), // 100,000 levels: see the fixed test below
    shape: fc.constantFrom('array' as const, 'object' as const),
  }),
);

const NUMBER_SLOT = '"__FUZZ_NUMBER__"';

/** Applies a mutation; returns the JSON text, or undefined if it does not apply to this document. */
function applyMutation(meta: Metadata, m: Mutation): string | undefined {
  const doc: Record<string, unknown> = { ...meta, pieceSha256: [...meta.pieceSha256] };
  const hashes = doc.pieceSha256 as string[];
  switch (m.kind) {
    case 'wrong type':
      doc[m.key] = m.value;
      return JSON.stringify(doc);
    case 'drop':
      delete doc[m.key];
      return JSON.stringify(doc);
    case 'add': {
      // Spliced as text so that "__proto__" becomes an own key, as JSON.parse makes it.
      const text = JSON.stringify(doc);
      return `${text.slice(0, -1)},${JSON.stringify(m.key)}:${JSON.stringify(m.value)}}`;
    }
    case 'hash count': {
      const n = Math.max(0, hashes.length + m.delta);
      if (n === hashes.length) return undefined;
      doc.pieceSha256 = Array.from({ length: n }, (_, i) => hashes[i] ?? 'f'.repeat(64));
      return JSON.stringify(doc);
    }
    case 'non-hex':
    case 'hash length': {
      const slot = m.which % (hashes.length + 1); // slot 0 is fileSha256
      const old = slot === 0 ? meta.fileSha256 : hashes[slot - 1]!;
      const changed =
        m.kind === 'non-hex'
          ? old.slice(0, m.at) + m.char + old.slice(m.at + 1)
          : m.delta < 0
            ? old.slice(0, 64 + m.delta)
            : old + 'a'.repeat(m.delta);
      if (slot === 0) doc.fileSha256 = changed;
      else hashes[slot - 1] = changed;
      return JSON.stringify(doc);
    }
    case 'number': {
      if (typeof m.value === 'number') {
        doc[m.key] = m.value;
        return JSON.stringify(doc);
      }
      doc[m.key] = NUMBER_SLOT.slice(1, -1);
      return JSON.stringify(doc).replace(NUMBER_SLOT, m.value.raw);
    }
    case 'string length':
      doc[m.key] = m.value;
      return JSON.stringify(doc);
    case 'deep': {
      // Under pieceSha256 one level of array around a hash would be valid, so nest one deeper.
      const nested = m.key === 'pieceSha256' ? deep(m.depth + 1, m.shape, '"' + 'a'.repeat(64) + '"') : deep(m.depth, m.shape, '1');
      if (m.key === '(root)') return nested;
      if (m.key === '(extra)') return `${JSON.stringify(doc).slice(0, -1)},"nested":${nested}}`;
      doc[m.key] = NUMBER_SLOT.slice(1, -1);
      return JSON.stringify(doc).replace(NUMBER_SLOT, nested);
    }
  }
}

/** Text-level corruption of an encoded document: the result may or may not still be valid. */
const textEdit = textEditArb(['', '"', '\\', ',', ':', '{', '}', '[', ']', '0', '-', 'e', '1e9', 'null', ' ', '\uFEFF', '\uD800', 'A', 'g']);

function withRandomFormatting(meta: Metadata, order: number[], indent: number): string {
  const entries = order.map((i) => KEYS[i]!).map((k) => [k, meta[k]] as const);
  return JSON.stringify(Object.fromEntries(entries), null, indent);
}

describe('fuzz: metadata', () => {
  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.string({ unit: 'binary', maxLength: 500 }).map(utf8), fc.string({ unit: 'binary-ascii', maxLength: 500 }).map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)))),
        (bytes) => void parseChecked(bytes),
      ),
      { numRuns: RUNS.bytes },
    );
  });

  it('never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (v) => void parseChecked(utf8(JSON.stringify(v)))),
      { numRuns: RUNS.json },
    );
  });

  it('never throws on anything JSON.stringify can serialise', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (v) => {
        let text: string | undefined;
        try {
          text = JSON.stringify(v);
        } catch {
          return; // not serialisable: nothing a peer could send
        }
        void parseChecked(utf8(text ?? String(v)));
      }),
      { numRuns: RUNS.anything },
    );
  });

  it('never throws on metadata-shaped documents whose fields are each valid or arbitrary, and only accepts consistent ones', () => {
    const sometimes = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 });
    const fields = {
      format: sometimes(fc.constant(METADATA_FORMAT)),
      version: sometimes(fc.constantFrom(1, 1, 1, 2)),
      name: sometimes(textArb(LIMITS.maxNameLength)),
      mimeType: sometimes(textArb(LIMITS.maxMimeLength)),
      fileSize: sometimes(fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.integer({ min: 0, max: 3 * LIMITS.maxPieceSize }), fc.constant(LIMITS.maxFileSize))),
      pieceSize: sometimes(fc.oneof(fc.integer({ min: 14, max: 24 }).map((k) => 2 ** k), fc.integer({ min: 1, max: 2 ** 25 }))),
      fileSha256: sometimes(hashArb),
      pieceSha256: sometimes(fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, fc.array(hashArb, { maxLength: 4 }))),
    };
    // Mostly every key present (so some documents are valid), sometimes any subset of them.
    const shapedArb = fc.oneof({ arbitrary: fc.record(fields), weight: 3 }, { arbitrary: fc.record(fields, { requiredKeys: [] }), weight: 1 });
    let accepted = 0;
    fc.assert(
      fc.property(shapedArb, (doc) => {
        // JSON.stringify keeps the generator's key order, which is the canonical one; only a
        // trailing newline is missing to match encodeMetadata's bytes.
        if (parseChecked(utf8(JSON.stringify(doc) + '\n')).ok) accepted++;
      }),
      { numRuns: RUNS.shaped },
    );
    expect(accepted).toBeGreaterThan(0); // the generator does reach the accepting path
  });

  it('valid metadata round-trips through encodeMetadata and parseMetadata, byte for byte', () => {
    fc.assert(
      fc.property(validMetadataArb, (meta) => {
        const bytes = encodeMetadata(meta);
        const r = parseChecked(bytes);
        expect(r).toEqual({ ok: true, metadata: meta });
        if (r.ok) expect(Buffer.from(encodeMetadata(r.metadata)).equals(Buffer.from(bytes))).toBe(true); // the content ID is stable
      }),
      { numRuns: RUNS.roundTrip },
    );
  });

  it('accepts only the canonical bytes: any other key order or spacing of valid metadata is refused', () => {
    fc.assert(
      fc.property(validMetadataArb, fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 4 }), (meta, order, indent) => {
        const bytes = utf8(withRandomFormatting(meta, order, indent));
        const canonical = Buffer.from(bytes).equals(Buffer.from(encodeMetadata(meta)));
        expect(parseChecked(bytes)).toEqual(
          canonical ? { ok: true, metadata: meta } : { ok: false, reason: 'metadata is not in canonical form (as encodeMetadata writes it)' },
        );
      }),
      { numRuns: RUNS.reformatted },
    );
  });

  it('rejects every structural mutation of a valid document (wrong types, missing or extra fields, bad hashes, bad numbers, deep nesting)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(validMetadataArb, mutationArb, (meta, mutation) => {
        const text = applyMutation(meta, mutation);
        fc.pre(text !== undefined);
        seen.add(mutation.kind);
        const r = parseChecked(utf8(text));
        if (r.ok) throw new Error(`accepted a ${mutation.kind} mutation: ${text.slice(0, 400)}`);
      }),
      { numRuns: RUNS.mutation },
    );
    expect([...seen].sort()).toEqual(['add', 'deep', 'drop', 'hash count', 'hash length', 'non-hex', 'number', 'string length', 'wrong type']);
  });

  it('never throws on text-level corruption of a valid document, and anything still accepted is consistent', () => {
    fc.assert(
      fc.property(validMetadataArb, fc.array(textEdit, { minLength: 1, maxLength: 5 }), (meta, edits) => {
        const text = applyEdits(new TextDecoder().decode(encodeMetadata(meta)), edits);
        void parseChecked(utf8(text));
      }),
      { numRuns: RUNS.textMutation },
    );
  });

  // Regression: name and MIME limits are in UTF-16 code units; zod's `.max()` counts code points.
  it('rejects a name longer than LIMITS.maxNameLength UTF-16 code units', () => {
    fc.assert(
      fc.property(validMetadataArb, fc.integer({ min: Math.floor(LIMITS.maxNameLength / 2) + 1, max: LIMITS.maxNameLength }), (meta, emoji) => {
        const name = '\u{1F600}'.repeat(emoji); // > 255 code units, <= 255 code points
        expect(parseMetadata(utf8(JSON.stringify({ ...meta, name }))).ok).toBe(false);
      }),
      { numRuns: 20 },
    );
  });

  it('rejects 100,000 levels of nesting, at the root, in a field and in an extra key', () => {
    const valid = new TextDecoder().decode(encodeMetadata({ format: METADATA_FORMAT, version: 1, name: 'n', mimeType: 'm', fileSize: 0, pieceSize: LIMITS.minPieceSize, fileSha256: 'a'.repeat(64), pieceSha256: [] }));
    for (const shape of ['array', 'object'] as const) {
      const nested = deep(100_000, shape, '1');
      for (const text of [nested, valid.replace('"n"', nested), valid.replace('[]', nested), `${valid.trimEnd().slice(0, -1)},"x":${nested}}`]) {
        expect(parseChecked(utf8(text)).ok).toBe(false);
      }
    }
  });

  it('rejects a document over LIMITS.maxMetadataBytes on its length alone', () => {
    const r = parseChecked(new Uint8Array(LIMITS.maxMetadataBytes + 1)); // zero-filled: never decoded
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/over the .* limit/);
  });
});
