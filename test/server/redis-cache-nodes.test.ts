/**
 * Cache nodes across two server instances on one real Redis: a cache node on instance A is
 * told (`wanted`) of joins through instance B in the scopes it watches, once per repeat time,
 * and is listed first with `cache: true` to a peer of B (the Redis registry keeps the flag).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverMessageSchema } from '../../src/protocol/arrays-messages.js';
import type { ServerHandle } from '../../signaling/server.js';
import { TestClient, makeTempDir, peerId, peerSecret, publishDeterministic, removeDir, startServer, waitFor, type AnyMessage } from './helpers.js';
import { RedisProcess, testPrefix } from './redis-harness.js';

const KEY = 'cache-node-key_redis_0123456789';

let redisProc: RedisProcess;
let dir: string;
let a: ServerHandle;
let b: ServerHandle;
let content: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  redisProc = await RedisProcess.start();
  dir = await makeTempDir();
  const contentDir = join(dir, 'content');
  content = (await publishDeterministic(dir, contentDir, 1000, 41)).contentId;
  const options = { redisUrl: redisProc.url, redisKeyPrefix: testPrefix('cache'), cacheNodeKeys: [KEY], announceIntervalMs: 1000, peerExpiryMs: 3000 };
  a = await startServer(contentDir, { ...options, instanceId: 'inst-a' });
  b = await startServer(contentDir, { ...options, instanceId: 'inst-b' });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await a?.close();
  await b?.close();
  await redisProc?.stop();
  await removeDir(dir);
});

/** Every message until the socket is quiet for `ms`, each checked against the server schema. */
async function drain(c: TestClient, ms = 300): Promise<AnyMessage[]> {
  const out: AnyMessage[] = [];
  for (;;) {
    try {
      const m = await c.next(ms);
      expect(serverMessageSchema.safeParse(m).success).toBe(true);
      out.push(m);
    } catch {
      return out;
    }
  }
}

async function tab(server: ServerHandle, n: number, opts: Parameters<TestClient['announce']>[2]) {
  const c = await TestClient.connect(server.arraysUrl);
  clients.push(c);
  c.announce(content, peerId(n), opts);
  const reply = await c.next();
  expect(reply.type).toBe('peers');
  return { client: c, reply };
}

describe('cache nodes on two instances', () => {
  it('tells a cache node on A of joins through B in the scopes it watches, and lists it first to peers of B', async () => {
    const node = await TestClient.connect(a.arraysUrl);
    clients.push(node);
    node.hello(peerSecret(1), KEY);
    node.send({ type: 'watch', mode: 'internet' });
    node.send({ type: 'watch', mode: 'lan' });
    await waitFor(async () => (await a.scaleOut!.relay.watchersOf('internet')).includes('inst-a'), 3000, 'the watch registered in Redis');
    await waitFor(async () => (await b.scaleOut!.relay.watchersOf('lan:private')).includes('inst-a'), 3000, 'the LAN watch registered');
    expect(node.welcomes).toEqual([peerId(1)]);

    // Through B, in internet mode, then in the LAN of the cache node (127.0.0.1: `private`).
    await tab(b, 2, { mode: 'internet' });
    expect(await drain(node)).toEqual([{ type: 'wanted', contentId: content, mode: 'internet' }]);
    await tab(b, 3, { mode: 'lan' });
    expect(await drain(node)).toEqual([{ type: 'wanted', contentId: content, mode: 'lan' }]);
    // Once per repeat time (30 s by default), and nothing of a scope it does not watch.
    await tab(b, 4, { mode: 'internet' });
    await tab(b, 5, { mode: 'group', group: 'nobody-watches' });
    expect(await node.silentFor(300)).toBe(true);
    expect(a.arrays.wantedSent).toBe(2);
    expect(b.arrays.wantedSent).toBe(0);

    // The cache node joins the internet swarm through A: a peer of B gets it first, flagged,
    // ahead of the seeders there, though it holds less than they do.
    node.announce(content, peerId(1), { mode: 'internet', left: 700 });
    expect((await node.next()).type).toBe('peers');
    const asker = await tab(b, 6, { mode: 'internet', left: 1000, peersWanted: 2 });
    expect(asker.reply.peers[0]).toEqual({ peerId: peerId(1), left: 700, cache: true });
    expect(asker.reply.peers[1].cache).toBeUndefined();

    // Its socket gone, A no longer stands for the scope.
    node.close();
    await waitFor(async () => (await b.scaleOut!.relay.watchersOf('internet')).length === 0, 3000, 'the watch removed');
  });
});
