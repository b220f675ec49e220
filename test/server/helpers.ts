/**
 * Shared fixtures of the server tests: temporary content directories, deterministic files,
 * a server on 127.0.0.1 port 0, and a raw WebSocket client with a message queue.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import type { ServerConfig } from '../../signaling/config.js';
import { writeDeterministicFile } from '../../signaling/deterministic-content.js';
import { publishFile, type PublishResult } from '../../signaling/publish.js';
import { createServer, type ServerHandle } from '../../signaling/server.js';
import { peerIdOfSecret } from '../../src/protocol/peer-identity.js';

export const MiB = 1024 * 1024;
/** 3.5 MiB: four pieces of 1 MiB, the last one short. */
export const SMALL_SIZE = 3.5 * MiB;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function makeTempDir(prefix = 'tabswarm-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes a deterministic file of `size` bytes (seed `seed`) under `dir` and publishes it into `contentDir`. */
export async function publishDeterministic(
  dir: string,
  contentDir: string,
  size: number,
  seed: number,
  name = `test-${seed}-${size}.bin`,
): Promise<PublishResult> {
  const path = join(dir, `${name}.src`);
  await writeDeterministicFile(path, size, seed);
  return publishFile(path, { contentDir, name });
}

/** A server on 127.0.0.1, a free port, logging nothing, with no built app unless given. */
/**
 * Which transport the Arrays tests' sockets use: `ws` on the HTTP port (the default), or
 * uWebSockets on a port of its own when TABSWARM_TEST_ARRAYS=uws (the `arrays-uws` vitest
 * project runs the Arrays suites that way). Clients connect to `server.arraysUrl` either way.
 */
export const TEST_ARRAYS_TRANSPORT: 'ws' | 'uws' = process.env.TABSWARM_TEST_ARRAYS === 'uws' ? 'uws' : 'ws';

export async function startServer(contentDir: string, options: Partial<ServerConfig> = {}): Promise<ServerHandle> {
  return createServer({
    host: '127.0.0.1',
    port: 0,
    contentDir,
    appDir: join(contentDir, 'no-app-here'),
    logLevel: 'silent',
    ...(TEST_ARRAYS_TRANSPORT === 'uws' ? { arraysPort: 0 } : {}),
    ...options,
  });
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMessage = Record<string, any>;

/**
 * A raw `ws` client that queues every message it receives (parsed JSON). It says `hello` with
 * the secret of the first peer ID it announces (when that ID came from `peerId(n)`), as a
 * client does; `welcome` replies are kept apart (`welcomes`), not queued.
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The peer IDs the server bound to this socket (`welcome` replies). */
  readonly welcomes: string[] = [];
  #helloed = false;
  #queue: AnyMessage[] = [];
  #waiters: Array<(m: AnyMessage) => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data: RawData) => {
      const msg = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : String(data)) as AnyMessage;
      if (msg.type === 'welcome') return void this.welcomes.push(msg.peerId as string);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(msg);
      else this.#queue.push(msg);
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket to an Arrays URL (`server.arraysUrl`, `ws://…/arrays`). */
  static async connect(arraysUrl: string, headers?: Record<string, string>): Promise<TestClient> {
    const ws = new WebSocket(arraysUrl, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  send(message: AnyMessage | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Says hello with `secret` (64 hex characters), and a cache node's key if given. */
  hello(secret: string, cacheKey?: string): void {
    this.#helloed = true;
    this.send({ type: 'hello', secret, ...(cacheKey === undefined ? {} : { cacheKey }) });
  }

  /** The next message received (queued or future); fails after `timeoutMs`. */
  next(timeoutMs = 2000): Promise<AnyMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (m: AnyMessage): void => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Resolves true if no message arrives within `ms`, false (and requeues it) otherwise. */
  async silentFor(ms: number): Promise<boolean> {
    try {
      const m = await this.next(ms);
      this.#queue.unshift(m);
      return false;
    } catch {
      return true;
    }
  }

  /** Announces with DO's default mode, 'lan', unless told otherwise. */
  announce(
    contentId: string,
    peerId: string,
    opts: { left?: number; peersWanted?: number; mode?: 'lan' | 'group' | 'internet'; group?: string; cdnPieces?: number[] } = {},
  ): void {
    const secret = SECRETS.get(peerId);
    if (!this.#helloed && secret !== undefined) this.hello(secret);
    this.send({
      type: 'announce',
      contentId,
      peerId,
      report: {
        uploaded: 0,
        downloaded: 0,
        downloadedCdn: 0,
        left: opts.left ?? 0,
        peersWanted: opts.peersWanted ?? 10,
        isBackground: false,
        uploadedBps: 0,
        downloadBps: 0,
        mode: opts.mode ?? 'lan',
        ...(opts.group === undefined ? {} : { group: opts.group }),
      },
      ...(opts.cdnPieces === undefined ? {} : { cdnPieces: opts.cdnPieces }),
    });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The secret of test peer `n`: 64 hex characters derived from `n`. */
export function peerSecret(n: number): string {
  return sha256Hex(new TextEncoder().encode(`peer-secret-${n}`));
}

/** The secrets of the peer IDs handed out by `peerId`, for TestClient's hello. */
const SECRETS = new Map<string, string>();

/** Test peer `n`'s ID: the one its secret stands for (src/protocol/peer-identity.ts). */
export function peerId(n: number): string {
  const secret = peerSecret(n);
  const id = peerIdOfSecret(secret)!;
  SECRETS.set(id, secret);
  return id;
}

/** What `useContentServer` gives: read it inside tests (it is filled in `beforeAll`). */
export interface ContentServerFixture {
  readonly server: ServerHandle;
  /** The content ID of the one small deterministic file published. */
  readonly contentId: string;
}

/**
 * Registers, in the calling `describe`, a server on 127.0.0.1 (startServer with `options`)
 * publishing one 1,000-byte deterministic file of `seed`, and its removal after.
 */
export function useContentServer(seed: number, options: Partial<ServerConfig> = {}): ContentServerFixture {
  let dir: string | undefined;
  let server: ServerHandle | undefined;
  let contentId: string | undefined;
  beforeAll(async () => {
    dir = await makeTempDir();
    const contentDir = join(dir, 'content');
    contentId = (await publishDeterministic(dir, contentDir, 1000, seed)).contentId;
    server = await startServer(contentDir, options);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await removeDir(dir);
  });
  return {
    get server() {
      if (!server) throw new Error('the server starts in beforeAll');
      return server;
    },
    get contentId() {
      if (!contentId) throw new Error('the content is published in beforeAll');
      return contentId;
    },
  };
}
