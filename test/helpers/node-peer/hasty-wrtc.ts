/**
 * For the Node peer's `hasty` handshake: a wrtc module whose data channels send given frames
 * the instant they open, before simple-peer's 'connect' (which waits for a getStats round trip),
 * as a peer on another WebRTC stack would.
 */
import createDebug from 'debug';

const debug = createDebug('tabswarm:node-peer');

/**
 * A wrtc whose data channels send `frames` the moment they open (both the channel this side
 * creates and the one the remote announces), ahead of simple-peer's 'connect'.
 */
export function hastyWrtc(base: unknown, frames: Uint8Array[], sent: () => void): unknown {
  interface Channel {
    readyState: string;
    send(data: Uint8Array): void;
    addEventListener(type: string, listener: () => void): void;
  }
  interface Pc {
    createDataChannel(...args: unknown[]): Channel | undefined;
    addEventListener(type: string, listener: (e: { channel?: Channel }) => void): void;
  }
  const mod = base as { RTCPeerConnection: new (...args: unknown[]) => Pc };
  const arm = (ch: Channel | undefined): void => {
    if (!ch) return;
    let done = false;
    const go = (): void => {
      if (done) return;
      done = true;
      try {
        for (const f of frames) ch.send(f);
        sent();
      } catch (e) {
        debug('hasty send failed: %O', e);
      }
    };
    if (ch.readyState === 'open') go();
    else ch.addEventListener('open', go);
  };
  function RTCPeerConnection(...args: unknown[]): Pc {
    const pc = new mod.RTCPeerConnection(...args);
    pc.addEventListener('datachannel', (e) => arm(e.channel));
    const create = pc.createDataChannel.bind(pc);
    pc.createDataChannel = (...a: unknown[]) => {
      const ch = create(...a);
      arm(ch);
      return ch;
    };
    return pc;
  }
  RTCPeerConnection.prototype = mod.RTCPeerConnection.prototype;
  return { ...mod, RTCPeerConnection };
}

