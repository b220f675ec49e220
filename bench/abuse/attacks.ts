/**
 * The attacks of issue 12's table, each bounded in count and time (`tiny` for CI), and the
 * legitimate request each must leave working. An attack returns what it sent and how much of
 * it the server refused (a 4xx/5xx status, a refused or closed connection, a WebSocket error).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { buildMetadata, encodeMetadata } from '../../src/protocol/metadata.js';
import { peerIdentityOf } from '../../src/protocol/peer-identity.js';
import { attackerAddress, httpRequest, LEGIT_ADDRESS, pool, rawSocket } from './client.js';
import type { ServerUnderTest } from './server.js';

export interface AttackResult {
  sent: number;
  refused: number;
  /** Anything worth printing beside the counts. */
  note?: string;
  /** join-guess: live codes the guesses found. */
  found?: number;
  /** Held connections the server closed on its own (timeouts). */
  closedByServer?: number;
}

/** All a legitimate request knows of the server: its URL (bench/abuse/legit.ts runs it in a process of its own). */
export type LegitTarget = Pick<ServerUnderTest, 'url'>;

export interface Attack {
  name: string;
  /** What the tester saw, in a few words. */
  what: string;
  run(server: ServerUnderTest, tiny: boolean): Promise<AttackResult>;
  /** The legitimate client's request during (or right after) the attack: true if it got what it asked. */
  legit(server: LegitTarget): Promise<boolean>;
  /**
   * Whether the server did its part beyond surviving (refused what it must refuse, closed
   * what it must close); undefined: surviving is all.
   */
  refusedEnough?(r: AttackResult): boolean;
}

const MiB = 1024 * 1024;

/**
 * Canonical metadata of a file of `pieces` 1 MiB pieces (random hashes: the server cannot check
 * them). `hashes` reuses a piece list (a fresh name still makes a new content ID).
 */
export function fakeMetadata(pieces: number, name = `abuse-${randomBytes(4).toString('hex')}.bin`, hashes?: string[]): Uint8Array {
  return encodeMetadata(
    buildMetadata({
      name,
      mimeType: 'application/octet-stream',
      fileSize: pieces * MiB,
      pieceSize: MiB,
      fileSha256: randomBytes(32).toString('hex'),
      pieceSha256: hashes ?? Array.from({ length: pieces }, () => randomBytes(32).toString('hex')),
    }),
  );
}

const refusedStatus = (status: number) => status === 0 || status >= 400;

async function share(server: LegitTarget, body: Uint8Array | string, localAddress: string, timeoutMs = 20_000) {
  return httpRequest(`${server.url}/api/share`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' }, localAddress, timeoutMs });
}

/** A legitimate teacher shares a small file and a pupil resolves its join code. */
async function shareAndJoin(server: LegitTarget): Promise<boolean> {
  const r = await share(server, fakeMetadata(8), LEGIT_ADDRESS);
  if (r.status !== 201) return false;
  const { joinCode } = JSON.parse(r.body.toString()) as { joinCode: string };
  const j = await httpRequest(`${server.url}/api/join/${joinCode}`, { localAddress: '127.0.0.201' });
  return j.status === 200;
}

async function catalog(server: LegitTarget): Promise<boolean> {
  return (await httpRequest(`${server.url}/api/catalog`, { localAddress: LEGIT_ADDRESS })).status === 200;
}

async function demoContent(server: LegitTarget): Promise<{ contentId: string; name: string }> {
  const r = await httpRequest(`${server.url}/api/catalog`, { localAddress: LEGIT_ADDRESS });
  const c = (JSON.parse(r.body.toString()) as { contents: Array<{ contentId: string; name: string }> }).contents[0];
  if (!c) throw new Error('the server published no demo content');
  return c;
}

/** A WebSocket to the Arrays service from `localAddress`, said hello; resolves once open. */
function arraysSocket(server: LegitTarget, localAddress: string): Promise<{ ws: WebSocket; peerId: string } | undefined> {
  const { secret, peerId } = peerIdentityOf(randomBytes(32));
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/arrays`, { localAddress });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(undefined);
    }, 5000);
    ws.on('open', () => {
      clearTimeout(timer);
      ws.send(JSON.stringify({ type: 'hello', secret }));
      resolve({ ws, peerId });
    });
    ws.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

function report(peersWanted = 20) {
  return { uploaded: 0, downloaded: 0, downloadedCdn: 0, left: 1000, peersWanted, isBackground: false, uploadedBps: 0, downloadBps: 0, mode: 'lan' };
}

/** A legitimate tab joins the demo content's swarm and gets its `peers` reply. */
async function announce(server: LegitTarget): Promise<boolean> {
  const { contentId } = await demoContent(server);
  const s = await arraysSocket(server, LEGIT_ADDRESS);
  if (!s) return false;
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      s.ws.on('message', (m) => {
        const msg = JSON.parse(String(m)) as { type: string };
        if (msg.type === 'peers') {
          clearTimeout(timer);
          resolve(true);
        }
      });
      s.ws.send(JSON.stringify({ type: 'announce', contentId, peerId: s.peerId, report: report() }));
    });
  } finally {
    s.ws.terminate();
  }
}

export function attacks(): Attack[] {
  return [
    {
      name: 'share-big-valid',
      what: 'valid shares of the largest metadata, 4 addresses',
      async run(server, tiny) {
        // As large as the cap allows (the were 67 MiB; over the cap is refused before
        // it is read), each a content of its own.
        const pieces = tiny ? 20_000 : 64_000;
        const hashes = Array.from({ length: pieces }, () => randomBytes(32).toString('hex'));
        const n = tiny ? 8 : 41;
        let refused = 0;
        let size = 0;
        await pool([...Array(n).keys()], 4, async (i) => {
          const big = fakeMetadata(pieces, `big-${i}.bin`, hashes);
          size = big.byteLength;
          const r = await share(server, big, attackerAddress(i % 4), 60_000);
          if (refusedStatus(r.status)) refused++;
        });
        return { sent: n, refused, note: `${(size / MiB).toFixed(1)} MiB each, every one a new content` };
      },
      legit: shareAndJoin,
    },
    {
      name: 'share-invalid',
      what: '2 MB of invalid metadata, 30 times',
      async run(server, tiny) {
        const junk = `{"format":"tabswarm-metadata","pieceSha256":[${'"x",'.repeat(500_000)}"x"]}`;
        const n = tiny ? 6 : 30;
        let refused = 0;
        await pool([...Array(n).keys()], 4, async (i) => {
          if (refusedStatus((await share(server, junk, attackerAddress(i % 4), 60_000)).status)) refused++;
        });
        return { sent: n, refused };
      },
      legit: shareAndJoin,
    },
    {
      name: 'share-many-small',
      what: 'many small shares from many addresses',
      async run(server, tiny) {
        const n = tiny ? 400 : 6000;
        const addresses = tiny ? 20 : 200;
        let refused = 0;
        await pool([...Array(n).keys()], 16, async (i) => {
          if (refusedStatus((await share(server, fakeMetadata(2), attackerAddress(i % addresses))).status)) refused++;
        });
        return { sent: n, refused };
      },
      legit: shareAndJoin,
    },
    {
      name: 'join-guess',
      what: 'guessing join codes, from 1 address and from many',
      async run(server, tiny) {
        const n = tiny ? 2000 : 30_000;
        const alphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
        const guess = () => Array.from({ length: 8 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
        let refused = 0;
        let found = 0;
        await pool([...Array(n).keys()], 32, async (i) => {
          // Half from one address, half spread over 100.
          const from = i % 2 === 0 ? attackerAddress(0) : attackerAddress(1 + (i % 100));
          const r = await httpRequest(`${server.url}/api/join/${guess()}`, { localAddress: from });
          if (r.status === 200) found++;
          else if (r.status !== 404) refused++;
        });
        return { sent: n, refused, found, note: `${found} live codes found` };
      },
      legit: shareAndJoin,
      // Past the per-address burst, guesses are refused; none finds a code.
      refusedEnough: (r) => r.refused > 0 && r.found === 0,
    },
    {
      name: 'slow-headers',
      what: 'sockets that send headers slowly, from one address',
      async run(server, tiny) {
        const n = tiny ? 400 : 6000;
        // Past the headers timeout (10 s by default; the tiny run sets 3 s).
        const holdMs = tiny ? 5000 : 15_000;
        const sockets: Socket[] = [];
        let refused = 0;
        const fdsBefore = server.fdCount();
        await pool([...Array(n).keys()], 64, async () => {
          const s = await rawSocket(server.url, attackerAddress(0));
          if (!s) {
            refused++;
            return;
          }
          s.on('error', () => undefined);
          s.on('close', () => undefined);
          s.write('GET /api/catalog HTTP/1.1\r\nHost: x\r\n');
          sockets.push(s);
        });
        const drip = setInterval(() => {
          for (const s of sockets) if (!s.destroyed) s.write('X-a: b\r\n');
        }, 2000);
        await new Promise((r) => setTimeout(r, holdMs));
        clearInterval(drip);
        // Counted on the server: of the sockets the clients still hold, those it holds no
        // descriptor for any more (refused at a cap, or closed at its timeout).
        const stillHeld = Math.max(0, server.fdCount() - fdsBefore);
        const closedByServer = Math.max(0, sockets.length - stillHeld);
        for (const s of sockets) s.destroy();
        return { sent: n, refused: refused + closedByServer, closedByServer, note: `${closedByServer} held sockets closed by the server within ${holdMs / 1000} s` };
      },
      legit: catalog,
      refusedEnough: (r) => r.refused >= 0.95 * r.sent,
    },
    {
      name: 'slow-cdn-readers',
      what: '/cdn downloads that never read',
      async run(server, tiny) {
        const { contentId, name } = await demoContent(server);
        const n = tiny ? 60 : 1000;
        // Past the send timeout (30 s by default; the tiny run sets 3 s).
        const holdMs = tiny ? 6000 : 40_000;
        const sockets: Socket[] = [];
        let refused = 0;
        const fdsBefore = server.fdCount();
        await pool([...Array(n).keys()], 32, async (i) => {
          const s = await rawSocket(server.url, attackerAddress(i % 8));
          if (!s) {
            refused++;
            return;
          }
          s.on('error', () => undefined);
          s.write(`GET /cdn/${contentId}/${encodeURIComponent(name)} HTTP/1.1\r\nHost: x\r\n\r\n`);
          s.pause(); // never read: the server's send buffer fills and stays full
          sockets.push(s);
        });
        await new Promise((r) => setTimeout(r, holdMs));
        // Counted on the server (a reader that reads nothing never sees the server's FIN): of
        // the readers still connected, those it holds no descriptor for any more.
        const stillHeld = Math.max(0, server.fdCount() - fdsBefore);
        const closedByServer = Math.max(0, sockets.length - stillHeld);
        for (const s of sockets) s.destroy();
        return { sent: n, refused: refused + closedByServer, closedByServer, note: `${closedByServer} stalled readers closed by the server within ${holdMs / 1000} s` };
      },
      refusedEnough: (r) => r.refused >= 0.95 * r.sent,
      legit: async (server) => {
        const { contentId, name } = await demoContent(server);
        const r = await httpRequest(`${server.url}/cdn/${contentId}/${encodeURIComponent(name)}`, { headers: { Range: `bytes=0-${MiB - 1}` }, localAddress: LEGIT_ADDRESS, maxBody: 2 * MiB });
        return r.status === 206 && r.body.byteLength === MiB;
      },
    },
    {
      name: 'ban-flood',
      what: '`ban` messages, as fast as a socket can send',
      async run(server, tiny) {
        const { contentId } = await demoContent(server);
        const sockets = tiny ? 4 : 32;
        const perSocket = tiny ? 2000 : 20_000;
        let refused = 0;
        let cut = 0;
        await pool([...Array(sockets).keys()], sockets, async (i) => {
          const s = await arraysSocket(server, attackerAddress(i % 4));
          if (!s) {
            refused += perSocket;
            return;
          }
          s.ws.on('message', (m) => {
            if ((JSON.parse(String(m)) as { type: string }).type === 'error') refused++;
          });
          // A flood past 256 unhandled frames is cut (1008) before its bans are even read.
          s.ws.on('close', (code) => {
            if (code === 1008) cut++;
          });
          s.ws.send(JSON.stringify({ type: 'announce', contentId, peerId: s.peerId, report: report() }));
          for (let k = 0; k < perSocket; k++) s.ws.send(JSON.stringify({ type: 'ban', contentId, peerId: randomBytes(16).toString('hex') }));
          await new Promise((r) => setTimeout(r, 2000));
          s.ws.terminate();
        });
        return { sent: sockets * perSocket, refused, closedByServer: cut, note: `${refused} answered rate-limited, ${cut} of ${sockets} sockets cut for flooding; server output ${(server.output().length / 1024).toFixed(0)} KiB so far` };
      },
      legit: announce,
      // Past each socket's burst, bans are answered rate-limited, or the flooding socket is cut.
      refusedEnough: (r) => r.refused > 0 || (r.closedByServer ?? 0) > 0,
    },
    {
      name: 'metrics-scrape',
      what: 'anonymous scrapes of /metrics and /api/swarms',
      async run(server, tiny) {
        const n = tiny ? 100 : 1000;
        let refused = 0;
        await pool([...Array(n).keys()], 8, async (i) => {
          const path = i % 2 === 0 ? '/metrics' : '/api/swarms';
          if (refusedStatus((await httpRequest(`${server.url}${path}`, { localAddress: attackerAddress(i % 10) })).status)) refused++;
        });
        return { sent: n, refused };
      },
      legit: catalog,
      // No one but the operator reads them.
      refusedEnough: (r) => r.refused === r.sent,
    },
  ];
}
