// The part of bittorrent-tracker's server that the WebTorrent benchmark uses (the package
// ships no types). `bittorrent-tracker/server` is imported rather than the package root,
// which would load a native WebRTC module for its Node client.
declare module 'bittorrent-tracker/server' {
  import type { EventEmitter } from 'node:events';
  import type { Server as HttpServer } from 'node:http';

  export interface TrackerServerOptions {
    udp?: boolean;
    http?: boolean;
    ws?: boolean | object;
    stats?: boolean;
    trustProxy?: boolean;
    interval?: number;
    peersCacheLength?: number;
  }

  export interface TrackerSwarm {
    complete: number;
    incomplete: number;
  }

  export default class Server extends EventEmitter {
    constructor(opts?: TrackerServerOptions);
    /** The HTTP server the WebSocket server is attached to (created when `ws` is on). */
    http: HttpServer | null;
    /** Swarms by hex info hash. */
    torrents: Record<string, TrackerSwarm | undefined>;
    listen(port: number, hostname: string, onlistening?: () => void): void;
    close(cb?: (err?: Error | null) => void): void;
  }
}
