/**
 * A Node peer in its own process, driven over IPC by test/helpers/node-peer.ts. Messages in:
 * `{ type: 'start', options }`, `{ type: 'sync' }`, `{ type: 'stop' }`; out: `{ type: 'started',
 * peerId }` or `{ type: 'failed', message }`, `{ type: 'state', state }` (every 50 ms, and
 * on each sync), `{ type: 'stopped', state }`. The parent's channel uses advanced serialisation,
 * so the file's bytes arrive as a Uint8Array.
 */
import { runNodePeer, type LocalNodePeer, type NodePeerOptions } from './peer.js';

type ParentMessage = { type: 'start'; options: NodePeerOptions } | { type: 'sync' } | { type: 'stop' };

const send = (message: unknown): void => {
  if (process.connected) process.send?.(message);
};

let peer: LocalNodePeer | undefined;
let timer: ReturnType<typeof setInterval> | undefined;

process.on('message', (raw: unknown) => {
  const m = raw as ParentMessage;
  switch (m.type) {
    case 'start':
      runNodePeer(m.options).then(
        (p) => {
          peer = p;
          send({ type: 'started', peerId: p.peerId });
          timer = setInterval(() => send({ type: 'state', state: p.state() }), 50);
        },
        (e: unknown) => send({ type: 'failed', message: e instanceof Error ? e.message : String(e) }),
      );
      return;
    case 'sync':
      if (peer) send({ type: 'state', state: peer.state() });
      return;
    case 'stop':
      clearInterval(timer);
      void (async () => {
        await peer?.stop();
        send({ type: 'stopped', state: peer?.state() });
        process.disconnect?.();
        // Leave without running native destructors (the WebRTC module has crashed in them).
        setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);
      })();
      return;
  }
});
// The parent went away (its test ended or crashed): go too.
process.on('disconnect', () => {
  clearInterval(timer);
  void peer?.stop().finally(() => process.kill(process.pid, 'SIGKILL'));
});
