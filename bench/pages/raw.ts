/**
 * A bare RTCDataChannel between two pages, the ceiling tab-to-tab transfer is measured
 * against. The runner (bench/transfer.ts) carries the offer, the answer and every ICE
 * candidate between the two pages itself. The sender writes 256 KiB messages and keeps
 * `bufferedAmount` under 4 MiB with `bufferedAmountLowThreshold`; the receiver counts bytes.
 * Times are wall-clock milliseconds (Date.now()), comparable between the two pages.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

let pc: RTCPeerConnection | undefined;
let channel: RTCDataChannel | undefined;
let opened: Promise<RTCDataChannel> | undefined;
const candidates: RTCIceCandidateInit[] = [];

function setUp(role: 'sender' | 'receiver'): void {
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.addEventListener('icecandidate', (e) => {
    if (e.candidate) candidates.push(e.candidate.toJSON());
  });
  const ready = (ch: RTCDataChannel) =>
    new Promise<RTCDataChannel>((resolve, reject) => {
      ch.binaryType = 'arraybuffer';
      channel = ch;
      if (ch.readyState === 'open') return resolve(ch);
      ch.addEventListener('open', () => resolve(ch), { once: true });
      ch.addEventListener('error', () => reject(new Error('data channel error')), { once: true });
    });
  if (role === 'sender') {
    opened = ready(pc.createDataChannel('bench', { ordered: true }));
  } else {
    const p = pc;
    opened = new Promise((resolve, reject) => {
      p.addEventListener('datachannel', (e) => ready(e.channel).then(resolve, reject), { once: true });
    });
  }
}

const raw = {
  async offer(): Promise<RTCSessionDescriptionInit> {
    setUp('sender');
    await pc!.setLocalDescription(await pc!.createOffer());
    return pc!.localDescription!.toJSON();
  },

  async answer(offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
    setUp('receiver');
    await pc!.setRemoteDescription(offer);
    await pc!.setLocalDescription(await pc!.createAnswer());
    return pc!.localDescription!.toJSON();
  },

  async accept(answer: RTCSessionDescriptionInit): Promise<void> {
    await pc!.setRemoteDescription(answer);
  },

  /** Candidates gathered since the last call. */
  takeCandidates(): RTCIceCandidateInit[] {
    return candidates.splice(0);
  },

  async addCandidates(list: RTCIceCandidateInit[]): Promise<void> {
    for (const c of list) await pc!.addIceCandidate(c);
  },

  isOpen(): boolean {
    return channel?.readyState === 'open';
  },

  /** Receiver: resolves once `total` bytes arrived, with the first and last byte times. */
  receive(total: number): void {
    const state = { bytes: 0, firstAt: 0, lastAt: 0 };
    (window as unknown as { rawReceived: typeof state }).rawReceived = state;
    void opened!.then((ch) => {
      ch.addEventListener('message', (e: MessageEvent<ArrayBuffer>) => {
        if (state.bytes === 0) state.firstAt = Date.now();
        state.bytes += e.data.byteLength;
        if (state.bytes >= total) state.lastAt = Date.now();
      });
    });
  },

  received(): { bytes: number; firstAt: number; lastAt: number } | undefined {
    return (window as unknown as { rawReceived?: { bytes: number; firstAt: number; lastAt: number } }).rawReceived;
  },

  /** Sender: writes `total` bytes; resolves with when the first message was sent and when the last was queued. */
  async send(total: number, messageBytes = 256 * KiB, highWater = 4 * MiB, lowWater = 1 * MiB): Promise<{ firstAt: number; queuedAt: number }> {
    const ch = await opened!;
    ch.bufferedAmountLowThreshold = lowWater;
    const message = new Uint8Array(messageBytes);
    crypto.getRandomValues(message.subarray(0, 65536));
    let sent = 0;
    const firstAt = Date.now();
    while (sent < total) {
      while (sent < total && ch.bufferedAmount + messageBytes <= highWater) {
        const n = Math.min(messageBytes, total - sent);
        ch.send(n === messageBytes ? message : message.subarray(0, n));
        sent += n;
      }
      if (sent < total) {
        await new Promise<void>((resolve, reject) => {
          ch.addEventListener('bufferedamountlow', () => resolve(), { once: true });
          ch.addEventListener('close', () => reject(new Error('data channel closed while sending')), { once: true });
        });
      }
    }
    return { firstAt, queuedAt: Date.now() };
  },

  close(): void {
    channel?.close();
    pc?.close();
  },
};

export type RawApi = typeof raw;

declare global {
  interface Window {
    raw: RawApi;
  }
}
window.raw = raw;
document.title += ' (ready)';
