/**
 * WebRTC for Node: node-datachannel's W3C polyfill (libdatachannel under N-API, prebuilt for
 * every platform npm installs it on, so nothing is compiled or downloaded at install time),
 * shaped for simple-peer. docs/architecture.md says why this stack and not @roamhq/wrtc.
 *
 * - `bindAddress`: every peer connection's ICE host candidates are this one address (a cache
 *   node on a machine with several interfaces offers the LAN one only; the tests give each
 *   Node peer an address of its own). Default: every address of the machine.
 * - `maxMessageSize`: the SCTP message size advertised and accepted (the tests' oversize peer).
 * - simple-peer assigns to a description's `sdp`, a getter in the polyfill: offers and answers
 *   are handed over as plain objects.
 */
export interface NodeWebRtcOptions {
  bindAddress?: string;
  maxMessageSize?: number;
}

interface Description {
  type: string;
  sdp: string;
}
interface Pc {
  createOffer(...a: unknown[]): Promise<Description>;
  createAnswer(...a: unknown[]): Promise<Description>;
}
type PcClass = new (config?: Record<string, unknown>) => Pc;

let polyfill: Promise<{ RTCPeerConnection: PcClass } & Record<string, unknown>> | undefined;

/** The `wrtc` object simple-peer takes (RTCPeerConnection, RTCSessionDescription, RTCIceCandidate). */
export async function loadNodeWebRtc(options: NodeWebRtcOptions = {}): Promise<unknown> {
  polyfill ??= import('node-datachannel/polyfill') as unknown as Promise<{ RTCPeerConnection: PcClass } & Record<string, unknown>>;
  const mod = await polyfill;
  const Base = mod.RTCPeerConnection;
  const extra = {
    ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
    ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
  };
  const plain = (d: Description): Description => ({ type: d.type, sdp: d.sdp });
  function RTCPeerConnection(config: Record<string, unknown> = {}): Pc {
    const pc = new Base({ ...config, ...extra });
    const offer = pc.createOffer.bind(pc);
    const answer = pc.createAnswer.bind(pc);
    pc.createOffer = (...a: unknown[]) => offer(...a).then(plain);
    pc.createAnswer = (...a: unknown[]) => answer(...a).then(plain);
    return pc;
  }
  RTCPeerConnection.prototype = Base.prototype;
  return { ...mod, RTCPeerConnection };
}
