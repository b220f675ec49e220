/**
 * Property-based fuzzing of PeerSession (src/core/peer-session.ts) from the remote end of a
 * memory link pair: arbitrary sequences of random bytes and valid-but-hostile frames. No
 * exception may escape, every bad frame must be reported as a 'violation' event, and the
 * upload queue must stay within config.maxIncomingRequests.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield } from '../../../src/core/bitfield.js';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { PeerSession, type PeerSessionConfig } from '../../../src/core/peer-session.js';
import {
  decodeFrame,
  encodeBitfield,
  encodeCancel,
  encodeHandshake,
  encodeHave,
  encodePiece,
  encodeReject,
  encodeRequest,
  WIRE_VERSION,
  type WireContext,
} from '../../../src/protocol/wire.js';
import { openLinkPair } from '../../helpers/memory-network.js';

const SEQUENCES = 200;
const MAX_OPS = 50;

/** Lets every pending setTimeout(0) delivery (and the microtasks after it) run. */
const turn = () => new Promise<void>((r) => setTimeout(r, 0));

const pair = openLinkPair;

// ---------------------------------------------------------------- the content and the session

interface Setup {
  pieceCount: number;
  pieceSize: number;
  lastLength: number;
  held: boolean[];
  missingOnRead: boolean[]; // readPiece returns undefined for these (a piece evicted from storage)
  wireChunkBytes: number;
  maxIncomingRequests: number;
}

const setupArb: fc.Arbitrary<Setup> = fc
  .record({
    pieceCount: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 100 })),
    pieceSize: fc.constantFrom(1024, 4096, 16_384),
    wireChunkBytes: fc.constantFrom(512, 1024, 4096, 65_536),
    maxIncomingRequests: fc.integer({ min: 1, max: 6 }),
  })
  .chain((s) =>
    fc.record({
      pieceCount: fc.constant(s.pieceCount),
      pieceSize: fc.constant(s.pieceSize),
      lastLength: fc.integer({ min: 1, max: s.pieceSize }),
      held: fc.array(fc.boolean(), { minLength: s.pieceCount, maxLength: s.pieceCount }),
      missingOnRead: fc.array(fc.nat({ max: 9 }).map((n) => n === 0), { minLength: s.pieceCount, maxLength: s.pieceCount }),
      wireChunkBytes: fc.constant(s.wireChunkBytes),
      maxIncomingRequests: fc.constant(s.maxIncomingRequests),
    }),
  );

const CONTENT_ID = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);

// ---------------------------------------------------------------- what the remote does

type Op =
  | { op: 'raw'; bytes: Uint8Array }
  | { op: 'handshake'; variant: 'good' | 'other content' | 'other count' | 'version' }
  | { op: 'bitfield'; variant: 'good' | 'short' | 'long' | 'spare bits'; seed: number }
  | { op: 'index'; type: 'have' | 'request' | 'cancel' | 'reject'; index: number }
  | { op: 'requests'; indexes: number[] } // a burst of requests, back to back
  | { op: 'piece'; index: number; offset: number; length: number }
  | { op: 'whole piece'; index: number; chunk: number; upTo: number }
  | { op: 'fetch'; index: number } // local: the download asks the session for a piece
  | { op: 'turn' } // local: let deliveries happen
  | { op: 'buffer'; full: boolean }; // local: the send buffer fills or drains

/** Piece indexes: mostly in range for this content, sometimes just past it, sometimes anything. */
function indexArb(pieceCount: number): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: pieceCount - 1 }), weight: 6 },
    { arbitrary: fc.integer({ min: 0, max: pieceCount + 10 }), weight: 2 },
    { arbitrary: fc.constantFrom(0xffffffff, 0x80000000, 2 ** 20), weight: 1 },
    { arbitrary: fc.nat({ max: 0xffffffff }), weight: 1 },
  );
}

const opArb = (pieceCount: number): fc.Arbitrary<Op> => {
  const indexes = indexArb(pieceCount);
  return fc.oneof(
    { arbitrary: fc.record({ op: fc.constant('raw' as const), bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 2048 })) }), weight: 3 },
    { arbitrary: fc.record({ op: fc.constant('handshake' as const), variant: fc.constantFrom('good' as const, 'good' as const, 'other content' as const, 'other count' as const, 'version' as const) }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('bitfield' as const), variant: fc.constantFrom('good' as const, 'good' as const, 'short' as const, 'long' as const, 'spare bits' as const), seed: fc.nat() }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('index' as const), type: fc.constantFrom('have' as const, 'request' as const, 'request' as const, 'cancel' as const, 'reject' as const), index: indexes }), weight: 6 },
    { arbitrary: fc.record({ op: fc.constant('requests' as const), indexes: fc.array(indexes, { minLength: 2, maxLength: 12 }) }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant('piece' as const), index: indexes, offset: fc.oneof(fc.constant(0), fc.nat({ max: 20_000 }), fc.nat({ max: 0xffffffff })), length: fc.integer({ min: 0, max: 17_000 }) }), weight: 3 },
    { arbitrary: fc.record({ op: fc.constant('whole piece' as const), index: indexes, chunk: fc.constantFrom(256, 1000, 4096, 65_536), upTo: fc.double({ min: 0, max: 1, noNaN: true }) }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant('fetch' as const), index: fc.integer({ min: 0, max: pieceCount }) }), weight: 2 },
    { arbitrary: fc.constant({ op: 'turn' as const }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant('buffer' as const), full: fc.boolean() }), weight: 1 },
  );
};

/** Most sequences open with a proper handshake and bitfield, so the later frames reach the deeper states. */
const prefixArb = fc.constantFrom<Op[]>(
  [{ op: 'handshake', variant: 'good' }, { op: 'bitfield', variant: 'good', seed: 1 }],
  [{ op: 'handshake', variant: 'good' }, { op: 'bitfield', variant: 'good', seed: 2 }],
  [{ op: 'handshake', variant: 'good' }, { op: 'bitfield', variant: 'good', seed: 3 }, { op: 'buffer', full: true }], // uploads queue up
  [{ op: 'handshake', variant: 'good' }],
  [],
);

const sequenceArb = setupArb.chain((setup) => fc.tuple(fc.constant(setup), prefixArb, fc.array(opArb(setup.pieceCount), { maxLength: MAX_OPS })));

function bitfieldBytes(setup: Setup, variant: 'good' | 'short' | 'long' | 'spare bits', seed: number): Uint8Array {
  const n = Math.ceil(setup.pieceCount / 8);
  const len = variant === 'short' ? n - 1 : variant === 'long' ? n + 1 + (seed % 3) : n;
  const bits = Uint8Array.from({ length: Math.max(0, len) }, (_, i) => (seed * 31 + i * 17) & 0xff);
  const spare = n * 8 - setup.pieceCount;
  if (variant === 'good' && spare > 0 && bits.length === n) bits[n - 1]! &= ~((1 << spare) - 1) & 0xff;
  if (variant === 'spare bits' && bits.length === n) {
    if (spare === 0) return encodeBitfield(bits.subarray(0, n - 1)); // no spare bits to set: send a short one instead
    bits[n - 1]! |= 1;
  }
  return encodeBitfield(bits);
}

// ---------------------------------------------------------------- exceptions escaping anywhere

/**
 * The Emitter re-throws a listener's exception from a microtask, and pumpUploads runs detached
 * (`void`), so an exception from the session would surface only as an uncaughtException or
 * unhandledRejection. Record both and fail the sequence that caused them.
 */
const escaped: unknown[] = [];
const onUncaught = (e: unknown) => escaped.push(e);
beforeAll(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

/** The upload queue: its cap is exactly the property under test. */
const uploadQueue = (s: PeerSession): readonly number[] => s.uploadState().queued;
const uploadQueueLength = (s: PeerSession): number => uploadQueue(s).length;

/** The piece the upload side is sending (or reading to send), -1 if none. */
const sendingIndex = (s: PeerSession): number => s.uploadState().sending;

async function runSequence(setup: Setup, ops: Op[]): Promise<void> {
  escaped.length = 0;
  const problems: string[] = [];
  const [a, b] = await pair();
  const have = new Bitfield(setup.pieceCount);
  setup.held.forEach((h, i) => h && have.set(i));
  const pieceLength = (i: number) => (i === setup.pieceCount - 1 ? setup.lastLength : setup.pieceSize);
  const wire: WireContext = { pieceCount: setup.pieceCount, pieceLength };
  const config: PeerSessionConfig = {
    ...DEFAULT_CONFIG,
    wireChunkBytes: setup.wireChunkBytes,
    maxIncomingRequests: setup.maxIncomingRequests,
    peerDeadlineGraceMs: 60_000, // deadlines never pass within a sequence; close() clears them
  };

  // The model of what the session has accepted so far, from the frames it was delivered, in order.
  let handshakeDone = false;
  let bitfieldDone = false;
  const fetched = new Set<number>();
  let before = 0;
  let queuedBefore = 0;
  /** For a REQUEST: already queued or going out; announced by the remote; refused by the waste budget. */
  let duplicateBefore = false;
  let remoteHeldBefore = false;
  let wasteRefusedBefore = false;
  let decodedBefore: ReturnType<typeof decodeFrame> | undefined;
  let delivered = 0;

  const violations: string[] = [];
  // Registered before the session, so it runs just before the session sees each message...
  a.on('message', (m) => {
    before = violations.length;
    queuedBefore = uploadQueueLength(session);
    decodedBefore = decodeFrame(m, wire);
    if (decodedBefore.ok && decodedBefore.frame.type === 'request') {
      const i = decodedBefore.frame.index;
      duplicateBefore = uploadQueue(session).includes(i) || sendingIndex(session) === i;
      remoteHeldBefore = session.remoteHave.has(i);
      wasteRefusedBefore = session.budget.request(i, false) !== undefined;
    }
  });

  const session = new PeerSession(
    a,
    {
      contentId: CONTENT_ID,
      pieceCount: setup.pieceCount,
      pieceLength,
      have,
      readPiece: async (i) => (setup.missingOnRead[i] ? undefined : new Uint8Array(pieceLength(i)).fill(i & 0xff)),
    },
    config,
  );
  session.events.on('violation', (v) => {
    if (typeof v !== 'string' || v.length === 0) problems.push(`violation without a reason: ${String(v)}`);
    violations.push(v);
  });
  session.start();

  // ...and this one just after: check what the session did with it.
  a.on('message', () => {
    delivered++;
    const d = decodedBefore!;
    const delta = violations.length - before;
    const expectViolations = (min: number, max: number, what: string) => {
      if (delta < min || delta > max) problems.push(`${what}: ${delta} violations, expected ${min}..${max} (${violations.slice(before).join('; ')})`);
    };
    if (!d.ok) expectViolations(1, 1, `undecodable frame (${d.reason})`);
    else if (!handshakeDone && d.frame.type !== 'handshake') expectViolations(1, 1, `${d.frame.type} before handshake`);
    else if (!bitfieldDone && d.frame.type !== 'handshake' && d.frame.type !== 'bitfield') expectViolations(1, 1, `${d.frame.type} before bitfield`);
    else {
      const f = d.frame;
      switch (f.type) {
        case 'handshake': {
          if (handshakeDone) {
            expectViolations(1, 1, 'second handshake');
            break;
          }
          const good = f.version === WIRE_VERSION && f.pieceCount === setup.pieceCount && f.contentId.every((x, i) => x === CONTENT_ID[i]);
          expectViolations(good ? 0 : 1, good ? 0 : 1, good ? 'good handshake' : 'bad handshake');
          if (good) handshakeDone = true;
          else if (!a.closed) problems.push('a bad handshake did not close the link');
          break;
        }
        case 'bitfield':
          expectViolations(bitfieldDone ? 1 : 0, bitfieldDone ? 1 : 0, bitfieldDone ? 'second bitfield' : 'bitfield');
          bitfieldDone = true;
          if (!session.ready) problems.push('not ready after a bitfield');
          break;
        case 'have':
          expectViolations(0, 0, f.type);
          break;
        case 'cancel':
          // Past the churn budget (a token bucket) a CANCEL is a violation.
          expectViolations(0, 1, f.type);
          break;
        case 'request':
          if (!have.has(f.index)) expectViolations(1, 1, 'request for a piece never announced');
          else if (duplicateBefore) expectViolations(1, 1, 'request for a piece already queued or going out');
          else if (remoteHeldBefore) expectViolations(1, 1, 'request for a piece the remote announced');
          else if (wasteRefusedBefore) expectViolations(1, 1, 'request past the waste budget');
          else if (queuedBefore >= setup.maxIncomingRequests) expectViolations(1, 1, `request with ${queuedBefore} queued`);
          else expectViolations(0, 0, `request with ${queuedBefore} queued`);
          break;
        case 'reject':
          expectViolations(fetched.has(f.index) ? 0 : 1, 1, 'reject');
          break;
        case 'piece':
          // One for a piece cut short by this one, one for this chunk itself.
          expectViolations(fetched.has(f.index) ? 0 : 1, 2, `piece ${f.index}@${f.offset}+${f.data.byteLength}`);
          break;
      }
    }
    const queued = uploadQueueLength(session);
    if (queued > setup.maxIncomingRequests) problems.push(`upload queue at ${queued}, over maxIncomingRequests ${setup.maxIncomingRequests}`);
  });

  // What the session sends back must itself be well formed, and pieces only ones we hold.
  b.on('message', (m) => {
    const d = decodeFrame(m, wire);
    if (!d.ok) return void problems.push(`session sent an undecodable frame: ${d.reason}`);
    if (d.frame.type === 'piece' && !have.has(d.frame.index)) problems.push(`session uploaded piece ${d.frame.index}, which it does not hold`);
    if (d.frame.type === 'piece' && d.frame.data.byteLength > setup.wireChunkBytes) problems.push('session sent a chunk over wireChunkBytes');
  });

  const fetches: Array<Promise<unknown>> = [];
  let settled = 0;
  for (const op of ops) {
    if (a.closed || b.closed) break;
    try {
      switch (op.op) {
        case 'raw':
          b.send(op.bytes);
          break;
        case 'handshake': {
          const id = op.variant === 'other content' ? CONTENT_ID.map((x) => x ^ 0x55) : CONTENT_ID;
          const frame = encodeHandshake(id, op.variant === 'other count' ? setup.pieceCount + 1 : setup.pieceCount);
          if (op.variant === 'version') frame[5] = WIRE_VERSION + 1;
          b.send(frame);
          break;
        }
        case 'bitfield':
          b.send(bitfieldBytes(setup, op.variant, op.seed));
          break;
        case 'index':
          b.send({ have: encodeHave, request: encodeRequest, cancel: encodeCancel, reject: encodeReject }[op.type](op.index));
          break;
        case 'requests':
          for (const i of op.indexes) b.send(encodeRequest(i));
          break;
        case 'piece':
          b.send(encodePiece(op.index, op.offset, new Uint8Array(op.length)));
          break;
        case 'whole piece': {
          // A piece's chunks back to back, possibly stopping early; past the end for out-of-range indexes.
          const len = op.index < setup.pieceCount ? pieceLength(op.index) : setup.pieceSize;
          const stop = Math.ceil(len * op.upTo);
          for (let off = 0; off < Math.max(stop, 1); off += op.chunk) b.send(encodePiece(op.index, off, new Uint8Array(Math.min(op.chunk, len - off))));
          break;
        }
        case 'fetch': {
          if (op.index >= setup.pieceCount) break;
          fetched.add(op.index);
          const p = session.fetch(op.index, pieceLength(op.index)).then(
            (data) => {
              settled++;
              if (data.byteLength !== pieceLength(op.index)) problems.push(`fetch ${op.index} resolved with ${data.byteLength} bytes`);
            },
            () => void settled++,
          );
          fetches.push(p);
          break;
        }
        case 'turn':
          await turn();
          break;
        case 'buffer':
          a.buffered = op.full ? 64 * 1024 * 1024 : 0;
          if (!op.full) a.emitter.emit('drain', undefined);
          break;
      }
    } catch (e) {
      problems.push(`driving the session threw: ${String(e)}`);
    }
    const queued = uploadQueueLength(session);
    if (queued > setup.maxIncomingRequests) problems.push(`upload queue at ${queued}, over maxIncomingRequests ${setup.maxIncomingRequests}`);
  }

  // Let everything in flight arrive (with the send buffer as the sequence left it), drain the
  // uploads, then close: every fetch must settle, none may hang.
  for (let i = 0; i < 2; i++) await turn();
  a.buffered = 0;
  a.emitter.emit('drain', undefined);
  for (let i = 0; i < 3; i++) await turn();
  session.close();
  await turn();
  await Promise.race([Promise.all(fetches), turn().then(turn)]);
  if (settled !== fetches.length) problems.push(`${fetches.length - settled} fetches still pending after close`);
  if (uploadQueueLength(session) !== 0) problems.push('upload queue not emptied by close');
  if (escaped.length > 0) problems.push(`exception escaped: ${escaped.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n')}`);
  if (violations.length > 2 * delivered) problems.push(`${violations.length} violations for ${delivered} frames`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

describe('fuzz: PeerSession against a hostile remote', () => {
  it(`survives ${SEQUENCES} random sequences of up to ${MAX_OPS + 3} remote frames and local steps, reports every violation and caps the upload queue`, async () => {
    await fc.assert(
      fc.asyncProperty(sequenceArb, async ([setup, prefix, ops]) => runSequence(setup, [...prefix, ...ops])),
      { numRuns: SEQUENCES },
    );
  });

  it('caps the upload queue under a flood of requests for held pieces while the send buffer is full', async () => {
    await fc.assert(
      fc.asyncProperty(setupArb, fc.integer({ min: 1, max: 200 }), async (setup, n) => {
        const held = setup.held.map(() => true);
        const ops: Op[] = [{ op: 'handshake', variant: 'good' }, { op: 'bitfield', variant: 'good', seed: 0 }, { op: 'buffer', full: true }];
        for (let i = 0; i < n; i++) ops.push({ op: 'index', type: 'request', index: i % setup.pieceCount });
        ops.push({ op: 'turn' }, { op: 'buffer', full: false }, { op: 'turn' });
        await runSequence({ ...setup, held }, ops);
      }),
      { numRuns: 30 },
    );
    expect(escaped).toEqual([]);
  });
});
