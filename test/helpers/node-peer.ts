/**
 * A real adversarial tabswarm peer in Node, for the e2e tests: the core Swarm and PeerSession
 * over the real Arrays WebSocket and real WebRTC (@roamhq/wrtc), seeding a file honestly or
 * lying in one of the ways of `Behaviour`. The peer itself is test/helpers/node-peer/peer.ts.
 *
 * By default each peer runs in its own child process (`tsx`), so that a crash of the native
 * WebRTC module (it has segfaulted now and then while links close) takes down that peer only,
 * never the Playwright worker; `crashed` then says how it died. The peer's counters are
 * mirrored here every 50 ms; `sync()` fetches them at once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nextLoopbackAddress, runNodePeer, type NodePeerOptions, type NodePeerState, type NodePeerStats } from './node-peer/peer.js';

export { BEHAVIOURS, FLOOD_REQUESTS, OVERSIZE_BYTES, type Behaviour, type NodePeerOptions, type NodePeerStats } from './node-peer/peer.js';

export interface NodePeer {
  peerId: string;
  behaviour: NodePeerOptions['behaviour'];
  /** framesSent, piecesServed and the other counters (as of the last mirror or sync). */
  readonly stats: NodePeerStats;
  /** REQUEST frames received from one remote peer. */
  requestsFrom(remoteId: string): number;
  /** When (Date.now()) each data channel with one remote peer opened, over this peer's life. */
  linkOpensWith(remoteId: string): number[];
  /** Remote peers currently linked. */
  linkedPeers(): string[];
  /** Every peer ID it announced under, the first one (`peerId`) first. */
  peerIds(): string[];
  /** `churn`: REQUEST frames it sent to one remote peer. */
  churnRequestsTo(remoteId: string): number;
  /** Fetches the counters now (child process) or does nothing (in process). */
  sync(): Promise<void>;
  /** How the child process died if it did so on its own (e.g. 'signal SIGSEGV'). */
  readonly crashed: string | undefined;
  stop(): Promise<void>;
}

export interface StartNodePeerOptions extends NodePeerOptions {
  /** Run in the test's own process instead of a child process. @default false */
  inProcess?: boolean;
}

export async function startNodePeer(options: StartNodePeerOptions): Promise<NodePeer> {
  const { inProcess, ...peerOptions } = options;
  if (inProcess) {
    const p = await runNodePeer(peerOptions);
    return {
      peerId: p.peerId,
      behaviour: p.behaviour,
      stats: p.stats,
      requestsFrom: (id) => p.state().requests[id] ?? 0,
      linkOpensWith: (id) => p.state().opens[id] ?? [],
      linkedPeers: () => p.state().linked,
      peerIds: () => p.state().peerIds,
      churnRequestsTo: (id) => p.state().churnRequestsTo[id] ?? 0,
      sync: async () => undefined,
      crashed: undefined,
      stop: () => p.stop(),
    };
  }
  // The address is picked here, not in the child: children picking each from its own random
  // start gave two peers of a test one address with odds of 1 in 249 a pair (an honest one was then
  // refused by origin tag with the liar: CI, adversarial garbage).
  const wrtcOnly = peerOptions.handshake === 'hasty' || peerOptions.stack === 'wrtc';
  return startChild(wrtcOnly || peerOptions.bindAddress !== undefined ? peerOptions : { ...peerOptions, bindAddress: nextLoopbackAddress() });
}

type ChildMessage =
  | { type: 'started'; peerId: string }
  | { type: 'failed'; message: string }
  | { type: 'state'; state: NodePeerState }
  | { type: 'stopped'; state: NodePeerState | undefined };

const CHILD = fileURLToPath(new URL('./node-peer/child.ts', import.meta.url));

async function startChild(options: NodePeerOptions): Promise<NodePeer> {
  const child: ChildProcess = fork(CHILD, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: 'inherit' });
  let state: NodePeerState = {
    stats: { framesSent: 0, piecesServed: 0, requestsReceived: 0, linksOpened: 0, violationsSeen: 0, floods: 0, churnRequests: 0, churnCancels: 0, churnBytesReceived: 0, rotations: 0 },
    peerIds: [],
    requests: {},
    churnRequestsTo: {},
    opens: {},
    linked: [],
  };
  let crashed: string | undefined;
  let stopping = false;
  const waiters = new Set<(m: ChildMessage) => void>();
  child.on('message', (raw) => {
    const m = raw as ChildMessage;
    if (m.type === 'state' || (m.type === 'stopped' && m.state)) state = m.state!;
    for (const w of [...waiters]) w(m);
  });
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      if (!stopping) crashed = signal ? `signal ${signal}` : `exit code ${code}`;
      state = { ...state, linked: [] };
      for (const w of [...waiters]) w({ type: 'failed', message: `node peer process ended: ${crashed ?? 'stopped'}` });
      resolve();
    });
  });
  const next = <T extends ChildMessage['type']>(types: T[], timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`node peer process: no ${types.join('/')} within ${timeoutMs} ms`));
      }, timeoutMs);
      const w = (m: ChildMessage): void => {
        if (m.type === 'failed' && !types.includes('failed' as T)) {
          clearTimeout(timer);
          waiters.delete(w);
          reject(new Error(m.message));
        } else if (types.includes(m.type as T)) {
          clearTimeout(timer);
          waiters.delete(w);
          resolve(m as Extract<ChildMessage, { type: T }>);
        }
      };
      waiters.add(w);
    });

  const started = next(['started'], 30_000);
  child.send({ type: 'start', options });
  let peerId: string;
  try {
    peerId = (await started).peerId;
  } catch (e) {
    stopping = true;
    child.kill('SIGKILL');
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return {
    peerId,
    behaviour: options.behaviour,
    get stats() {
      return state.stats;
    },
    requestsFrom: (id) => state.requests[id] ?? 0,
    linkOpensWith: (id) => [...(state.opens[id] ?? [])],
    linkedPeers: () => [...state.linked],
    peerIds: () => [...state.peerIds],
    churnRequestsTo: (id) => state.churnRequestsTo[id] ?? 0,
    async sync() {
      if (crashed || stopping || !child.connected) return;
      const reply = next(['state'], 5_000);
      child.send({ type: 'sync' });
      await reply.catch(() => undefined);
    },
    get crashed() {
      return crashed;
    },
    stop() {
      stopped ??= (async () => {
        if (crashed || !child.connected) return;
        stopping = true;
        const done = next(['stopped'], 5_000).catch(() => undefined);
        child.send({ type: 'stop' });
        await done;
        const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}
