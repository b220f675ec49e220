/**
 * The WebRTC connector between two in-process peers, over Node's WebRTC (@roamhq/wrtc) and
 * simple-peer's browser bundle. The browser itself is covered by the e2e suite.
 */
import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import type { PeerLink, PeerLinkEvents } from '../../../src/core/ports.js';
import { signalDataSchema } from '../../../src/protocol/arrays-messages.js';
import { channelDied, createWebRtcConnector } from '../../../src/transport/webrtc-connector.js';

const A = 'aa'.repeat(16);
const B = 'bb'.repeat(16);

function next<K extends keyof PeerLinkEvents>(link: PeerLink, event: K, ms = 10_000): Promise<PeerLinkEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${String(event)}' within ${ms} ms`)), ms);
    const off = link.on(event, (payload) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Two links wired through a fake signaling relay that round-trips JSON and checks the schema. */
function pair(lowWaterMark?: number): { a: PeerLink; b: PeerLink; signals: unknown[] } {
  const connector = createWebRtcConnector({ wrtc, lowWaterMark });
  const a = connector.connect(B, true);
  const b = connector.connect(A, false);
  const signals: unknown[] = [];
  const relay = (from: PeerLink, to: PeerLink) =>
    from.on('signal', (data) => {
      const wire: unknown = JSON.parse(JSON.stringify(data));
      signals.push(wire);
      const parsed = signalDataSchema.safeParse(wire);
      if (parsed.success) setTimeout(() => to.signal(parsed.data), 0);
    });
  relay(a, b);
  relay(b, a);
  return { a, b, signals };
}

describe('createWebRtcConnector', () => {
  it('connects, moves binary messages intact, and closes both ends once', async () => {
    const { a, b, signals } = pair();
    await Promise.all([next(a, 'open'), next(b, 'open')]);
    // Every signal simple-peer made fits the Arrays schema (nothing was dropped on the way).
    expect(signals.length).toBeGreaterThanOrEqual(2);
    for (const s of signals) expect(signalDataSchema.safeParse(s).success).toBe(true);
    expect(signals.some((s) => (s as { type: string }).type === 'offer')).toBe(true);
    expect(signals.some((s) => (s as { type: string }).type === 'answer')).toBe(true);

    const sizes = [1, 1000, 256 * 1024, 17];
    const got: Uint8Array[] = [];
    const done = new Promise<void>((resolve) =>
      b.on('message', (m) => {
        got.push(m.slice());
        if (got.length === sizes.length) resolve();
      }),
    );
    const sent = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 255));
    for (const m of sent) a.send(m);
    await done;
    expect(got).toEqual(sent);

    let aCloses = 0;
    let bCloses = 0;
    a.on('close', () => aCloses++);
    const bClosed = next(b, 'close');
    b.on('close', () => bCloses++);
    a.close();
    a.close();
    const closedB = await bClosed;
    expect(closedB.reason).toBeTypeOf('string');
    // A peer closing the link is not a channel that died under it (no violation).
    expect(closedB.died ?? false).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(aCloses).toBe(1);
    expect(bCloses).toBe(1);
    // After close: no-ops, no exceptions.
    a.signal({ type: 'offer', sdp: 'v=0' });
    a.send(new Uint8Array(1));
    expect(a.bufferedAmount).toBe(0);
  });

  it('sends a subarray view as exactly its bytes', async () => {
    const { a, b } = pair();
    await Promise.all([next(a, 'open'), next(b, 'open')]);
    const backing = Uint8Array.from({ length: 100 }, (_, i) => i);
    const received = next(b, 'message');
    a.send(backing.subarray(10, 20));
    expect(Array.from(await received)).toEqual(Array.from(backing.subarray(10, 20)));
    a.close();
    await next(b, 'close');
  });

  it("emits 'drain' once the queue falls to the low-water mark", async () => {
    const { a, b } = pair(64 * 1024);
    await Promise.all([next(a, 'open'), next(b, 'open')]);
    let received = 0;
    b.on('message', (m) => (received += m.byteLength));
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    while (a.bufferedAmount <= 512 * 1024 && sent < 64 * 1024 * 1024) {
      a.send(chunk);
      sent += chunk.byteLength;
    }
    expect(a.bufferedAmount).toBeGreaterThan(64 * 1024);
    await next(a, 'drain');
    expect(a.bufferedAmount).toBeLessThanOrEqual(64 * 1024);
    while (received < sent) await new Promise((r) => setTimeout(r, 10));
    expect(received).toBe(sent);
    a.close();
    await next(b, 'close');
  });

  it('closes on a bad signal instead of throwing', async () => {
    const connector = createWebRtcConnector({ wrtc });
    const b = connector.connect(A, false);
    const closed = next(b, 'close');
    expect(() => b.signal({ type: 'answer', sdp: 'this is not SDP' })).not.toThrow();
    expect((await closed).reason).toMatch(/error/i);
  });
});

describe('channelDied', () => {
  const err = (code: string, message: string) => Object.assign(new Error(message), { code });
  it('is a channel error that is not Chromium closing a page or a link', () => {
    // What a Chromium tab saw when a Node peer's stack aborted on its own 300 KiB frame.
    expect(channelDied(err('ERR_DATA_CHANNEL', 'User-Initiated Abort, reason='))).toBe(true);
    // What it saw when the tab at the other end was closed.
    expect(channelDied(err('ERR_DATA_CHANNEL', 'User-Initiated Abort, reason=Close called'))).toBe(false);
    expect(channelDied(err('ERR_ICE_CONNECTION_FAILURE', 'Ice connection failed.'))).toBe(false);
    expect(channelDied(new Error('User-Initiated Abort, reason='))).toBe(false);
  });
});
