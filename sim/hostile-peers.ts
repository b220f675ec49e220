/**
 * The simulator's dishonest peers (issue 18), built from the core's own parts (Swarm,
 * PeerSession) over the simulated network, as the e2e tests' Node peers are:
 * - a liar claims every piece and serves each with one byte flipped (every piece fails SHA-256);
 * - a staller claims every piece and never sends a byte of any (the hostage of issue 12).
 * Both announce themselves as seeders, so the registry lists them first: the worst case.
 */
import { Bitfield } from '../src/core/bitfield.js';
import type { Clock } from '../src/core/clock.js';
import { DEFAULT_CONFIG, type ClientConfig } from '../src/core/config.js';
import { PeerSession } from '../src/core/peer-session.js';
import type { PeerConnector, Signaling } from '../src/core/ports.js';
import { Swarm } from '../src/core/swarm.js';
import { fromHex } from '../src/protocol/hex.js';
import type { SimContent } from './sim-content.js';

export type Hostility = 'liar' | 'staller';

export interface HostilePeer {
  /** Pieces it was asked for, over every link. */
  asked(): number;
  stop(): void;
}

export function startHostilePeer(
  kind: Hostility,
  o: { peerId: string; content: SimContent; signaling: Signaling; connector: PeerConnector; clock: Clock; config: Partial<ClientConfig>; mode: ClientConfig['downloadMode'] },
): HostilePeer {
  const pieceCount = o.content.metadata.pieceSha256.length;
  const have = new Bitfield(pieceCount);
  for (let i = 0; i < pieceCount; i++) have.set(i);
  const config = { ...DEFAULT_CONFIG, ...o.config, downloadMode: o.mode };
  let asked = 0;
  const sessions = new Set<PeerSession>();
  const swarm = new Swarm({
    contentId: o.content.contentId,
    peerId: o.peerId,
    signaling: o.signaling,
    connector: o.connector,
    config,
    clock: o.clock,
    report: () => ({ uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 0, peersWanted: config.peersWanted, isBackground: false, uploadedBps: 0, downloadBps: 0 }),
    onLink: (link) => {
      const session = new PeerSession(
        link,
        {
          contentId: fromHex(o.content.contentId)!,
          pieceCount,
          pieceLength: () => o.content.metadata.pieceSize,
          have,
          clock: o.clock,
          readPiece: (i) => {
            asked++;
            if (kind === 'staller') return new Promise<never>(() => undefined);
            const bytes = o.content.piece(i).slice();
            bytes[0]! ^= 0xff;
            return Promise.resolve(bytes);
          },
        },
        config,
      );
      sessions.add(session);
      session.events.on('closed', () => sessions.delete(session));
      session.start();
    },
  });
  swarm.start();
  return {
    asked: () => asked,
    stop: () => {
      for (const s of [...sessions]) s.close();
      swarm.stop();
    },
  };
}
