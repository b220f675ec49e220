/**
 * Property-based fuzzing of the Arrays (signaling) message parsers
 * (src/protocol/arrays-messages.ts). The server parses every client frame and the client every
 * server frame with these; they must never throw and must only accept bounded, well-formed
 * messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseClientMessage,
  parseServerMessage,
  type ClientMessage,
  type ParseResult,
  type ServerMessage,
  type SignalData,
} from '../../../src/protocol/arrays-messages.js';
import { PEER_ID_HEX, SHA256_HEX, toHex } from '../../../src/protocol/hex.js';
import { LIMITS } from '../../../src/protocol/limits.js';
import { applyEdits, textEditArb } from '../../helpers/text-edits.js';

// Runs per property: 3000 + 2000 + 1500 + 1500 + 3000 + 3000 + 300 = 14,300.
const RUNS = { strings: 3000, json: 2000, roundTripClient: 1500, roundTripServer: 1500, structural: 3000, textMutation: 3000, oversized: 300 };

type Side = 'client' | 'server';
const parsers = { client: parseClientMessage, server: parseServerMessage } as const;

/** Limits are in UTF-16 code units (src/protocol/bounded-string.ts). */
const boundedText = (s: unknown, max: number) => typeof s === 'string' && s.length <= max;

function parseChecked(side: Side, text: string): ParseResult<ClientMessage | ServerMessage> {
  let r: ParseResult<ClientMessage | ServerMessage>;
  try {
    r = parsers[side](text);
  } catch (e) {
    throw new Error(`parse ${side} message threw on ${JSON.stringify(text.slice(0, 200))}: ${String(e)}`);
  }
  if (!r.ok) {
    if (typeof r.reason !== 'string' || r.reason.length === 0) throw new Error('rejection without a reason');
    return r;
  }
  const fail = (why: string): never => {
    throw new Error(`accepted ${side} message breaks an invariant: ${why}: ${text.slice(0, 300)}`);
  };
  if (text.length > LIMITS.maxSignalingMessageBytes) fail('longer than LIMITS.maxSignalingMessageBytes');
  checkMessage(side, r.value as unknown as Record<string, unknown>, fail);
  return r;
}

const keysAre = (o: object, keys: string[]) => Object.keys(o).every((k) => keys.includes(k));
const isCount = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isRate = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 1e12;

function checkSignal(d: Record<string, unknown>, fail: (why: string) => never): void {
  switch (d.type) {
    case 'offer':
    case 'answer':
      if (!keysAre(d, ['type', 'sdp'])) fail('extra keys in sdp');
      if (!boundedText(d.sdp, LIMITS.maxSdpLength)) fail('sdp too long');
      return;
    case 'candidate': {
      const c = d.candidate as Record<string, unknown>;
      if (!keysAre(d, ['type', 'candidate']) || typeof c !== 'object' || c === null) fail('candidate shape');
      if (!keysAre(c, ['candidate', 'sdpMid', 'sdpMLineIndex', 'usernameFragment'])) fail('extra keys in candidate');
      if (!boundedText(c.candidate, LIMITS.maxCandidateLength)) fail('candidate line too long');
      if (c.sdpMid != null && !boundedText(c.sdpMid, 64)) fail('sdpMid');
      if (c.usernameFragment != null && !boundedText(c.usernameFragment, 256)) fail('usernameFragment');
      if (c.sdpMLineIndex != null && !(Number.isInteger(c.sdpMLineIndex) && (c.sdpMLineIndex as number) >= 0 && (c.sdpMLineIndex as number) <= 64)) fail('sdpMLineIndex');
      return;
    }
    case 'renegotiate':
      if (d.renegotiate !== true || !keysAre(d, ['type', 'renegotiate'])) fail('renegotiate');
      return;
    default:
      fail(`unknown signal type ${String(d.type)}`);
  }
}

function checkMessage(side: Side, m: Record<string, unknown>, fail: (why: string) => never): void {
  const contentId = () => {
    if (typeof m.contentId !== 'string' || !SHA256_HEX.test(m.contentId)) fail('contentId');
  };
  const peer = (v: unknown, what: string) => {
    if (typeof v !== 'string' || !PEER_ID_HEX.test(v)) fail(what);
  };
  if (side === 'client') {
    switch (m.type) {
      case 'announce': {
        contentId();
        peer(m.peerId, 'peerId');
        const r = m.report as Record<string, unknown>;
        if (!keysAre(m, ['type', 'contentId', 'peerId', 'report'])) fail('extra keys');
        if (![r.uploaded, r.downloaded, r.downloadedCdn, r.left].every(isCount)) fail('report counts');
        if (!(Number.isInteger(r.peersWanted) && (r.peersWanted as number) >= 0 && (r.peersWanted as number) <= LIMITS.maxPeersPerReply)) fail('peersWanted');
        if (typeof r.isBackground !== 'boolean' || !isRate(r.uploadedBps) || !isRate(r.downloadBps)) fail('report fields');
        if (!['lan', 'group', 'internet'].includes(r.mode as string)) fail('mode');
        if ((r.mode === 'group') !== (r.group !== undefined)) fail('group only with mode group');
        if (r.group !== undefined && !(typeof r.group === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(r.group))) fail('group');
        return;
      }
      case 'signal':
        contentId();
        peer(m.to, 'to');
        if (!keysAre(m, ['type', 'contentId', 'to', 'data'])) fail('extra keys');
        return checkSignal(m.data as Record<string, unknown>, fail);
      case 'leave':
        contentId();
        if (!keysAre(m, ['type', 'contentId'])) fail('extra keys');
        return;
      default:
        fail(`unknown client message type ${String(m.type)}`);
    }
  }
  switch (m.type) {
    case 'peers': {
      contentId();
      const peers = m.peers as Array<Record<string, unknown>>;
      if (!Array.isArray(peers) || peers.length > LIMITS.maxPeersPerReply) fail('peers list too long');
      for (const p of peers) {
        peer(p.peerId, 'peers[].peerId');
        if (!isCount(p.left) || !keysAre(p, ['peerId', 'left'])) fail('peers[] entry');
      }
      if (!(Number.isInteger(m.intervalMs) && (m.intervalMs as number) >= 1000 && (m.intervalMs as number) <= 3_600_000)) fail('intervalMs');
      return;
    }
    case 'signal':
      contentId();
      peer(m.from, 'from');
      return checkSignal(m.data as Record<string, unknown>, fail);
    case 'error':
      if (!boundedText(m.code, 64) || !boundedText(m.message, 1024)) fail('error text');
      return;
    default:
      fail(`unknown server message type ${String(m.type)}`);
  }
}

// ---------------------------------------------------------------- valid messages

const contentIdArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
const peerIdArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(toHex);
const countArb = fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const rateArb = fc.oneof(fc.constantFrom(0, 1e12), fc.double({ min: 0, max: 1e12, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)));

function textArb(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'grapheme-ascii', maxLength: Math.min(max, 200) }),
    fc.string({ unit: 'binary', maxLength: Math.min(max, 100) }),
    fc.constantFrom('', 'x'.repeat(max)),
  );
}

const sdpArb = fc.oneof(
  textArb(LIMITS.maxSdpLength),
  fc.constant('v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n'),
  fc.integer({ min: 0, max: LIMITS.maxSdpLength }).map((n) => 'a'.repeat(n)),
);

const signalDataArb: fc.Arbitrary<SignalData> = fc.oneof(
  fc.record({ type: fc.constantFrom('offer' as const, 'answer' as const), sdp: sdpArb }),
  fc.record({
    type: fc.constant('candidate' as const),
    candidate: fc.record(
      {
        candidate: textArb(LIMITS.maxCandidateLength),
        sdpMid: fc.option(textArb(64), { nil: null }),
        sdpMLineIndex: fc.option(fc.integer({ min: 0, max: 64 }), { nil: null }),
        usernameFragment: fc.option(textArb(256), { nil: null }),
      },
      { requiredKeys: ['candidate'] },
    ),
  }),
  fc.constant({ type: 'renegotiate' as const, renegotiate: true as const }),
);

const clientMessageArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({
    type: fc.constant('announce' as const),
    contentId: contentIdArb,
    peerId: peerIdArb,
    report: fc.record({
      uploaded: countArb,
      downloaded: countArb,
      downloadedCdn: countArb,
      left: countArb,
      peersWanted: fc.integer({ min: 0, max: LIMITS.maxPeersPerReply }),
      isBackground: fc.boolean(),
      uploadedBps: rateArb,
      downloadBps: rateArb,
    }).chain((progress) =>
      fc.oneof(
        fc.constantFrom('lan' as const, 'internet' as const).map((mode) => ({ ...progress, mode })),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).map((group) => ({ ...progress, mode: 'group' as const, group })),
      ),
    ),
  }),
  fc.record({ type: fc.constant('signal' as const), contentId: contentIdArb, to: peerIdArb, data: signalDataArb }),
  fc.record({ type: fc.constant('leave' as const), contentId: contentIdArb }),
);

const serverMessageArb: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    type: fc.constant('peers' as const),
    contentId: contentIdArb,
    peers: fc.array(fc.record({ peerId: peerIdArb, left: countArb }), { maxLength: LIMITS.maxPeersPerReply }),
    intervalMs: fc.integer({ min: 1000, max: 3_600_000 }),
  }),
  fc.record({ type: fc.constant('signal' as const), contentId: contentIdArb, from: peerIdArb, data: signalDataArb }),
  fc.record({ type: fc.constant('error' as const), code: textArb(64), message: textArb(1024) }),
);

const messageArb = fc.oneof(
  clientMessageArb.map((m) => ['client', m] as const),
  serverMessageArb.map((m) => ['server', m] as const),
);

// ---------------------------------------------------------------- mutations

/** Paths to every value in a JSON tree. */
function paths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

type Structural =
  | { kind: 'replace'; pick: number; value: unknown }
  | { kind: 'drop'; pick: number }
  | { kind: 'add'; pick: number; key: string; value: unknown }
  | { kind: 'id'; pick: number; value: string }
  | { kind: 'grow'; pick: number; count: number };

const badIdArb = fc.oneof(
  fc.constantFrom('', 'A'.repeat(32), 'A'.repeat(64), 'g'.repeat(32), 'a'.repeat(31), 'a'.repeat(33), 'a'.repeat(63), 'a'.repeat(65), 'a'.repeat(32) + '\n', ' ' + 'a'.repeat(32)),
  fc.string({ unit: 'binary', maxLength: 70 }),
);

const structuralArb: fc.Arbitrary<Structural> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(-1, 1.5, 1e300, 'NaN', true, null, [], {})) }),
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), pick: fc.nat(), key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'type', 'extra', ''), fc.string({ maxLength: 8 })), value: fc.jsonValue({ maxDepth: 1 }) }),
  fc.record({ kind: fc.constant('id' as const), pick: fc.nat(), value: badIdArb }),
  fc.record({ kind: fc.constant('grow' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 60 }) }),
);

function getAt(root: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);
}

/** Applies a structural mutation; the result may still be valid (e.g. replacing with an equal value). */
function applyStructural(msg: unknown, m: Structural): string {
  const doc = clone(msg) as Record<string, unknown>;
  const all = paths(doc);
  const target = all[m.pick % all.length]!;
  const parent = target.length === 0 ? undefined : (getAt(doc, target.slice(0, -1)) as Record<string | number, unknown>);
  const key = target[target.length - 1];
  switch (m.kind) {
    case 'replace':
      if (!parent || key === undefined) return JSON.stringify(m.value);
      parent[key] = m.value;
      return JSON.stringify(doc);
    case 'drop':
      if (!parent || key === undefined) return '';
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return JSON.stringify(doc);
    case 'add': {
      // Added as text to the first object along the path, so "__proto__" arrives as an own key.
      const text = JSON.stringify(doc);
      const close = text.lastIndexOf('}');
      return `${text.slice(0, close)},${JSON.stringify(m.key)}:${JSON.stringify(m.value)}${text.slice(close)}`;
    }
    case 'id': {
      const ids = all.filter((p) => ['contentId', 'peerId', 'to', 'from'].includes(String(p[p.length - 1])));
      const p = ids[m.pick % Math.max(1, ids.length)];
      if (!p) return JSON.stringify(doc);
      (getAt(doc, p.slice(0, -1)) as Record<string | number, unknown>)[p[p.length - 1]!] = m.value;
      return JSON.stringify(doc);
    }
    case 'grow': {
      if (doc === null || typeof doc !== 'object') return JSON.stringify(doc);
      // Over-long lists and strings: the peers list past maxPeersPerReply, text fields past their caps.
      if (Array.isArray(doc.peers)) {
        const first = (doc.peers[0] as object | undefined) ?? { peerId: 'a'.repeat(32), left: 0 };
        doc.peers = Array.from({ length: LIMITS.maxPeersPerReply + m.count }, () => first);
      }
      const data = doc.data as Record<string, unknown> | undefined;
      if (data && typeof data.sdp === 'string') data.sdp = 's'.repeat(LIMITS.maxSdpLength + m.count);
      if (data && typeof data.candidate === 'object' && data.candidate) (data.candidate as Record<string, unknown>).candidate = 'c'.repeat(LIMITS.maxCandidateLength + m.count);
      if (typeof doc.message === 'string') doc.message = 'm'.repeat(1024 + m.count);
      return JSON.stringify(doc);
    }
  }
}

const textEdit = textEditArb(['', '"', '\\', ',', ':', '{', '}', '[', ']', '0', '-', 'e', 'null', 'true', ' ', '\uD800', 'A', 'g', '\\u0000']);

const sideArb = fc.constantFrom<Side>('client', 'server');

describe('fuzz: Arrays messages', () => {
  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(
        sideArb,
        fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme-ascii', maxLength: 300 }), fc.json({ maxDepth: 3 }), fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789abcdef -etrufnl\\'), maxLength: 200 })),
        (side, text) => void parseChecked(side, text),
      ),
      { numRuns: RUNS.strings },
    );
  });

  it('never throws on arbitrary JSON, including message-shaped objects with arbitrary fields', () => {
    const shaped = fc.record(
      {
        type: fc.oneof(fc.constantFrom('announce', 'signal', 'leave', 'peers', 'error'), fc.jsonValue({ maxDepth: 1 })),
        contentId: fc.oneof(contentIdArb, fc.jsonValue({ maxDepth: 1 })),
        peerId: fc.oneof(peerIdArb, fc.jsonValue({ maxDepth: 1 })),
        to: fc.oneof(peerIdArb, fc.jsonValue({ maxDepth: 1 })),
        from: fc.oneof(peerIdArb, fc.jsonValue({ maxDepth: 1 })),
        data: fc.oneof(signalDataArb, fc.jsonValue({ maxDepth: 2 })),
        peers: fc.oneof(fc.array(fc.record({ peerId: peerIdArb, left: countArb }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
        intervalMs: fc.oneof(fc.integer({ min: 0, max: 4_000_000 }), fc.jsonValue({ maxDepth: 1 })),
        code: fc.jsonValue({ maxDepth: 1 }),
        message: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(sideArb, fc.oneof(fc.jsonValue({ stringUnit: 'binary' }), shaped), (side, v) => void parseChecked(side, JSON.stringify(v))),
      { numRuns: RUNS.json },
    );
  });

  it('valid client messages round-trip through JSON and parseClientMessage', () => {
    fc.assert(
      fc.property(clientMessageArb, (m) => {
        expect(parseChecked('client', JSON.stringify(m))).toEqual({ ok: true, value: m });
      }),
      { numRuns: RUNS.roundTripClient },
    );
  });

  it('valid server messages round-trip through JSON and parseServerMessage', () => {
    fc.assert(
      fc.property(serverMessageArb, (m) => {
        expect(parseChecked('server', JSON.stringify(m))).toEqual({ ok: true, value: m });
      }),
      { numRuns: RUNS.roundTripServer },
    );
  });

  it('structurally mutated messages never throw, and whatever is accepted is bounded', () => {
    fc.assert(
      fc.property(messageArb, fc.array(structuralArb, { minLength: 1, maxLength: 3 }), sideArb, ([side, msg], mutations, parseAs) => {
        let text = JSON.stringify(msg);
        for (const mu of mutations) text = applyStructural(safeParse(text), mu);
        parseChecked(side, text);
        parseChecked(parseAs, text); // and as the other direction's message
        // Targeted mutations that can never be valid.
        const [first] = mutations;
        if (mutations.length === 1 && first && (first.kind === 'id' || first.kind === 'grow')) {
          const r = parseChecked(side, text);
          const changed = text !== JSON.stringify(msg);
          if (changed && r.ok) throw new Error(`accepted a ${first.kind} mutation: ${text.slice(0, 300)}`);
        }
      }),
      { numRuns: RUNS.structural },
    );
  });

  it('text-level corruption of valid messages never throws, and whatever is accepted is bounded', () => {
    fc.assert(
      fc.property(messageArb, fc.array(textEdit, { minLength: 1, maxLength: 5 }), sideArb, ([side, msg], edits, parseAs) => {
        const text = applyEdits(JSON.stringify(msg), edits);
        parseChecked(side, text);
        parseChecked(parseAs, text);
      }),
      { numRuns: RUNS.textMutation },
    );
  });

  it('rejects any string longer than LIMITS.maxSignalingMessageBytes, even a valid message padded with whitespace', () => {
    fc.assert(
      fc.property(messageArb, fc.integer({ min: 1, max: 4096 }), fc.constantFrom(' ', '\n', '\t', '\r'), fc.boolean(), ([side, msg], extra, ws, front) => {
        const text = JSON.stringify(msg);
        const pad = ws.repeat(Math.max(0, LIMITS.maxSignalingMessageBytes - text.length) + extra);
        const padded = front ? pad + text : text + pad;
        expect(padded.length).toBeGreaterThan(LIMITS.maxSignalingMessageBytes);
        const r = parseChecked(side, padded);
        expect(r).toEqual({ ok: false, reason: 'message too large' });
        // The same message padded to exactly the limit, in bytes of UTF-8, is still accepted (when it fits).
        const bytes = new TextEncoder().encode(text).byteLength;
        if (bytes <= LIMITS.maxSignalingMessageBytes) {
          const exact = text + ws.repeat(LIMITS.maxSignalingMessageBytes - bytes);
          expect(parseChecked(side, exact).ok).toBe(true);
        }
      }),
      { numRuns: RUNS.oversized },
    );
    // And a long string that is not JSON at all: rejected on length, before JSON.parse.
    expect(parseClientMessage('{'.repeat(LIMITS.maxSignalingMessageBytes + 1))).toEqual({ ok: false, reason: 'message too large' });
    expect(parseServerMessage('['.repeat(10 * LIMITS.maxSignalingMessageBytes))).toEqual({ ok: false, reason: 'message too large' });
  });

  // Regression: the limit is in bytes of UTF-8, not in UTF-16 code units (found by this fuzzer).
  it('rejects a message over LIMITS.maxSignalingMessageBytes bytes of UTF-8', () => {
    const sdp = '\u4e2d'.repeat(30_000); // 30,000 characters, 90,000 bytes of UTF-8
    const text = JSON.stringify({ type: 'signal', contentId: 'a'.repeat(64), from: 'b'.repeat(32), data: { type: 'offer', sdp } });
    expect(new TextEncoder().encode(text).byteLength).toBeGreaterThan(LIMITS.maxSignalingMessageBytes);
    expect(parseServerMessage(text).ok).toBe(false);
  });

  // Regression: zod's `.max()` counts code points; the limits are in UTF-16 code units.
  it('rejects an sdp longer than LIMITS.maxSdpLength UTF-16 code units', () => {
    const sdp = '\u{1F600}'.repeat(20_000); // 40,000 code units, 20,000 code points
    const r = parseClientMessage(JSON.stringify({ type: 'signal', contentId: 'a'.repeat(64), to: 'b'.repeat(32), data: { type: 'offer', sdp } }));
    expect(r.ok && r.value.type === 'signal' && r.value.data.type === 'offer' && r.value.data.sdp.length).toBe(false);
  });
});

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
