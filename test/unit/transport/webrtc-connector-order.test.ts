/**
 * The connector's signals in the order the Arrays service relays them, over node-datachannel
 * (the Node peers' WebRTC, src/node/node-webrtc.ts): it gathers host candidates while the offer
 * is set as the local description, so simple-peer emits them before the offer, and the service
 * drops a candidate that comes before its offer (`unsolicited-signal`, signaling/relay-rule.ts).
 * The initiator holds them until its offer is out.
 */
import { describe, expect, it } from 'vitest';
import type { PeerLink } from '../../../src/core/ports.js';
import type { SignalData } from '../../../src/protocol/arrays-messages.js';
import { loadNodeWebRtc } from '../../../src/node/node-webrtc.js';
import { createWebRtcConnector } from '../../../src/transport/webrtc-connector.js';

const A = 'aa'.repeat(16);
const B = 'bb'.repeat(16);

describe('createWebRtcConnector over node-datachannel', () => {
  it("sends the initiator's offer before any of its candidates", async () => {
    const connector = createWebRtcConnector({ wrtc: await loadNodeWebRtc() });
    for (let run = 0; run < 5; run++) {
      const link = connector.connect(B, true);
      const types: string[] = [];
      link.on('signal', (d) => types.push(d.type));
      await new Promise((r) => setTimeout(r, 500)); // gathering of host candidates is over by then
      link.close();
      expect(types[0], `run ${run}: ${types.join(', ')}`).toBe('offer');
      expect(types.filter((t) => t === 'candidate').length, `run ${run}: ${types.join(', ')}`).toBeGreaterThan(0);
    }
  });

  it('connects through a relay that drops candidates sent before their offer, as the Arrays service does', async () => {
    const connector = createWebRtcConnector({ wrtc: await loadNodeWebRtc() });
    for (let run = 0; run < 3; run++) {
      const a = connector.connect(B, true);
      const b = connector.connect(A, false);
      let offered = false;
      let dropped = 0;
      const relay = (from: PeerLink, to: PeerLink) =>
        from.on('signal', (data: SignalData) => {
          if (data.type === 'offer') offered = true;
          if (data.type === 'candidate' && !offered) return void dropped++;
          setTimeout(() => to.signal(JSON.parse(JSON.stringify(data)) as SignalData), 0);
        });
      relay(a, b);
      relay(b, a);
      const opened = Promise.all([a, b].map((l) => new Promise<void>((r) => l.on('open', () => r()))));
      const started = Date.now();
      await Promise.race([opened, new Promise((_, reject) => setTimeout(() => reject(new Error(`run ${run}: no link within 5 s`)), 5000))]);
      expect(dropped).toBe(0);
      console.log(`run ${run}: open in ${Date.now() - started} ms`);
      a.close();
      b.close();
    }
  }, 30_000);
});
