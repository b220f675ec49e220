/**
 * Child process of the signaling load benchmark: bittorrent-tracker's WebSocket tracker, the
 * one WebTorrent peers use, as its README starts it for WebSocket only:
 * `new Server({ udp: false, http: false, ws: true, stats: false })` on 127.0.0.1 port 0,
 * every other option at its default (so a swarm keeps at most 1,000 peers: `peersCacheLength`).
 * Alone in its process so that its memory and CPU can be read from /proc.
 */
import type { AddressInfo } from 'node:net';
import TrackerServer from 'bittorrent-tracker/server';
import { exitWithParent, toParent, type ServerCommand } from './common.js';

const tracker = new TrackerServer({ udp: false, http: false, ws: true, stats: false });
// Warnings are what the tracker emits for a client's bad message or a send error; count none.
tracker.on('warning', () => {});
tracker.on('error', (err: Error) => {
  process.stderr.write(`tracker error: ${err.message}\n`);
});
await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', () => resolve()));
const { port } = tracker.http!.address() as AddressInfo;

process.on('message', (msg: ServerCommand) => {
  if (msg.cmd === 'gc') {
    globalThis.gc?.();
    toParent({ ev: 'gc-done' });
  }
});
exitWithParent();
toParent({ ev: 'ready', port, url: `ws://127.0.0.1:${port}`, overrides: {} });
