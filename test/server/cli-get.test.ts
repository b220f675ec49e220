/**
 * `tabswarm get` from a clone (signaling/bin.ts through tsx's loader, test/helpers/get-process.ts)
 * against a real server on 127.0.0.1: a download from the CDN alone, byte for byte, into the
 * current directory under the metadata's name made safe; resumed after a SIGKILL and after a
 * SIGINT with only the missing pieces fetched (the server's CDN log counts them); a file there
 * already; bad links, unknown contents and an unreachable server; tampered metadata and a
 * broken CDN behind a proxy; wrong command lines. Contents are deterministic
 * (test/helpers/content.ts), in pieces of 256 KiB to keep them small.
 */
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFile } from '../../signaling/publish.js';
import type { ServerHandle } from '../../signaling/server.js';
import { makeContent, type TestContent } from '../helpers/content.js';
import { runGet, startGet } from '../helpers/get-process.js';
import { makeTempDir, MiB, removeDir, sha256Hex, startServer, waitFor } from './helpers.js';

const PIECE = 256 * 1024;

let dir: string;
let contentDir: string;
let server: ServerHandle;

/** Publishes `makeContent(size, seed, PIECE)` under `name`; the published ID is the content's own. */
async function publish(size: number, seed: number, name?: string): Promise<TestContent & { name: string }> {
  const content = makeContent(size, seed, PIECE);
  const source = join(dir, `source-${seed}.bin`);
  await writeFile(source, content.bytes);
  const published = await publishFile(source, { contentDir, name: name ?? content.metadata.name, pieceSize: PIECE, mimeType: content.metadata.mimeType });
  return { ...content, contentId: published.contentId, metadataBytes: published.metadataBytes, name: published.metadata.name };
}

/** A fresh working directory for one run of the command. */
async function workDir(name: string): Promise<string> {
  const cwd = join(dir, name);
  await mkdir(cwd, { recursive: true });
  return cwd;
}

const link = (contentId: string, query = '?httpDelayMs=0', origin = server.url) => `${origin}/${query}#c=${contentId}`;

beforeAll(async () => {
  dir = await makeTempDir('tabswarm-get-');
  contentDir = join(dir, 'content');
  await mkdir(contentDir, { recursive: true });
  server = await startServer(contentDir);
});
afterAll(async () => {
  await server?.close();
  await removeDir(dir);
});

describe('tabswarm get', () => {
  it('downloads a file from the CDN alone into ./<name>, removes its store, and finds it there the next time', async () => {
    const content = await publish(6 * MiB + 1000, 31);
    const cwd = await workDir('cdn-alone');
    server.cdnLog.reset();
    const run = await runGet([link(content.contentId)], cwd);
    expect(run.code, run.stderr).toBe(0);
    const out = await readFile(join(cwd, content.name));
    expect(sha256Hex(out)).toBe(content.metadata.fileSha256);
    expect(Buffer.compare(out, Buffer.from(content.bytes))).toBe(0);
    expect(await readdir(cwd)).toEqual([content.name]); // the store beside it is gone
    expect(server.cdnLog.bytesFor(content.contentId)).toBe(content.metadata.fileSize);
    expect(run.stderr).toContain(`SHA-256 ${content.metadata.fileSha256} verified`);
    expect(run.stderr).toContain('from peers 0 B (0 pieces), from the CDN 6.00 MiB (25 pieces), 0 of 25 pieces already stored');
    // Not a terminal: plain lines, no bar drawing.
    expect(run.stderr).not.toContain('\x1b[');

    const again = await runGet([link(content.contentId), '--mode', 'http'], cwd);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('is this file already');
    expect(server.cdnLog.bytesFor(content.contentId)).toBe(content.metadata.fileSize);
  }, 60_000);

  it('resumes after a SIGKILL and after a SIGINT (exit 130), fetching only the pieces it lacks', async () => {
    const content = await publish(8 * MiB, 32);
    const cwd = await workDir('resume');
    const out = join(cwd, 'out.bin');
    const store = `${out}.tabswarm`;
    server.cdnLog.reset();
    const cdn = () => server.cdnLog.bytesFor(content.contentId);
    const args = [link(content.contentId), '-o', 'out.bin', '--mode', 'http'];

    // 1: killed outright once about 3 MiB came from the CDN (2 MB/s: about 4 s for the file).
    const first = startGet([...args, '--max-download', '2M'], cwd);
    await waitFor(() => cdn() >= 3 * MiB, 20_000, 'the first run to fetch 3 MiB');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect((await stat(store)).isDirectory()).toBe(true);
    await expect(stat(out)).rejects.toThrow();

    // 2: interrupted by SIGINT after another MiB: stops cleanly, keeps the store, says so.
    const before = cdn();
    const second = startGet([...args, '--max-download', '2M'], cwd);
    await waitFor(() => cdn() >= before + MiB, 20_000, 'the second run to fetch 1 MiB');
    second.child.kill('SIGINT');
    expect((await second.exited).code, second.stderr()).toBe(130);
    expect(second.stderr()).toMatch(/interrupted \(SIGINT\): \d+ of 32 pieces .* kept in .*run the same command again to resume/);
    expect((await stat(store)).isDirectory()).toBe(true);

    // 3: completes with the missing pieces only, each fetched once.
    const third0 = cdn();
    const third = await runGet(args, cwd);
    expect(third.code, third.stderr).toBe(0);
    const stored = Number(/(\d+) of 32 pieces already stored/.exec(third.stderr)?.[1]);
    expect(stored, third.stderr).toBeGreaterThan(0);
    expect(stored).toBeLessThan(32);
    expect(cdn() - third0).toBe((32 - stored) * PIECE);
    expect(sha256Hex(await readFile(out))).toBe(content.metadata.fileSha256);
    await expect(stat(store)).rejects.toThrow();
  }, 90_000);

  it('--seed: once complete it seeds another get (which never asks the CDN) until SIGTERM, then moves its file out', async () => {
    const content = await publish(4 * MiB, 36);
    const [seederDir, leecherDir] = [await workDir('seeder'), await workDir('leecher')];
    server.cdnLog.reset();
    const seeder = startGet([link(content.contentId), '--seed'], seederDir);
    try {
      await waitFor(() => seeder.stderr().includes('seeding test-36.bin'), 20_000, 'the seeder to complete');
      expect(server.cdnLog.bytesFor(content.contentId)).toBe(content.metadata.fileSize);
      await expect(stat(join(seederDir, content.name))).rejects.toThrow(); // still in the store while it seeds
      // The leecher's HTTP delay is 10 minutes: every byte must come from the seeder, over WebRTC.
      // (A link that fails to form is tried again after connectTimeoutMs and a back-off: the
      // stall timeout leaves room for one such retry on a loaded machine.)
      const leecher = await runGet([link(content.contentId, '?httpDelayMs=600000'), '--stall-timeout', '45'], leecherDir, {}, 60_000);
      expect(leecher.code, `leecher:\n${leecher.stderr}\nseeder:\n${seeder.stderr()}`).toBe(0);
      expect(leecher.stderr).toContain('from peers 4.00 MiB (16 pieces), from the CDN 0 B (0 pieces)');
      expect(sha256Hex(await readFile(join(leecherDir, content.name)))).toBe(content.metadata.fileSha256);
      expect(server.cdnLog.bytesFor(content.contentId)).toBe(content.metadata.fileSize);
    } finally {
      seeder.child.kill('SIGTERM');
    }
    expect((await seeder.exited).code, seeder.stderr()).toBe(0);
    expect(seeder.stderr()).toMatch(/stopped seeding: uploaded 4\.\d\d MiB/);
    expect(sha256Hex(await readFile(join(seederDir, content.name)))).toBe(content.metadata.fileSha256);
    expect(await readdir(seederDir)).toEqual([content.name]);
  }, 90_000);

  it('never replaces a different file without --force, and keeps a hostile name in the current directory', async () => {
    const content = await publish(MiB, 33, '../../evil.bin');
    const cwd = await workDir('names');
    const safe = '_._.._evil.bin';
    await writeFile(join(cwd, safe), 'something else');
    const refused = await runGet([link(content.contentId), '--mode', 'http'], cwd);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${join(cwd, safe)} exists and is a different file: use --force`);
    expect(await readFile(join(cwd, safe), 'utf8')).toBe('something else');
    const forced = await runGet([link(content.contentId), '--mode', 'http', '--force'], cwd);
    expect(forced.code, forced.stderr).toBe(0);
    expect(sha256Hex(await readFile(join(cwd, safe)))).toBe(content.metadata.fileSha256);
    expect(await readdir(cwd)).toEqual([safe]);
    await expect(stat(join(dir, 'evil.bin'))).rejects.toThrow();
    await expect(stat(join(cwd, '..', '..', 'evil.bin'))).rejects.toThrow();
  }, 60_000);

  it('a bad link, an unknown content ID and an unreachable server exit 1 with the reason', async () => {
    const cwd = await workDir('bad');
    const unknown = 'ab'.repeat(32);
    // A port nothing listens on: one just closed.
    const closed = createHttpServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const [garbage, noContent, notKnown, unreachable, ftp] = await Promise.all([
      runGet(['not-a-link'], cwd),
      runGet([`${server.url}/#nothing-here`], cwd),
      runGet([unknown, '--server', server.url], cwd),
      runGet([unknown], cwd, { TABSWARM_SERVER: `http://127.0.0.1:${deadPort}` }),
      runGet([`ftp://127.0.0.1/#c=${unknown}`], cwd),
    ]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('"not-a-link" is neither a content ID (64 hex characters) nor a link');
    expect(noContent.code).toBe(1);
    expect(noContent.stderr).toContain('is not a tabswarm link: it names no content');
    expect(notKnown.code).toBe(1);
    expect(notKnown.stderr).toContain(`${server.url} does not serve content ${unknown}`);
    expect(notKnown.stderr).toContain('HTTP 404');
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('ECONNREFUSED');
    expect(ftp.code).toBe(1);
    expect(ftp.stderr).toContain('http: or https:, not ftp:');
    for (const r of [garbage, noContent, notKnown, unreachable, ftp]) expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await readdir(cwd)).toEqual([]);
  }, 60_000);

  it('wrong command lines exit 2 with the usage', async () => {
    const cwd = await workDir('usage');
    const id = 'cd'.repeat(32);
    const runs = await Promise.all([
      runGet([], cwd),
      runGet(['a', 'b'], cwd),
      runGet([id, '--bogus'], cwd),
      runGet([id, '--server', server.url, '--mode', 'warp'], cwd),
      runGet([id], cwd, { TABSWARM_SERVER: '' }),
      runGet([id, '--server', server.url, '--max-download', 'fast'], cwd),
      runGet([id, '--server', server.url, '--mode', 'http', '--seed'], cwd),
      runGet([id, '--server', server.url, '--mode', 'group'], cwd),
    ]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('usage: tabswarm get <app link | content ID>');
    }
    const messages = runs.map((r) => r.stderr.split('\n')[0]);
    expect(messages).toEqual([
      'tabswarm get: which file? give an app link or a content ID',
      'tabswarm get: one link or content ID at a time, got 2',
      "tabswarm get: Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--bogus\"",
      'tabswarm get: --mode must be one of lan, group, internet, http, simple, got "warp"',
      'tabswarm get: a bare content ID needs the server: --server URL (or TABSWARM_SERVER)',
      'tabswarm get: --max-download must be a rate in bytes per second such as 500k, 2M or 1.5MiB, got "fast"',
      'tabswarm get: --seed needs a mode that peers (lan, group, internet), not http',
      'tabswarm get: --mode group needs --group ID (or a share link, which carries its group)',
    ]);
    const help = await runGet(['--help'], cwd);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--max-download RATE');
  }, 60_000);

  describe('behind a proxy that lies', () => {
    let proxy: Server;
    let proxyUrl: string;
    /** What the proxy does to a request: undefined passes it to the server. */
    let rule: (path: string) => { status: number; body: Uint8Array } | undefined = () => undefined;

    beforeAll(async () => {
      const upstream = new URL(server.url);
      proxy = createHttpServer((req, res) => {
        const answer = rule(req.url ?? '/');
        if (answer) {
          res.writeHead(answer.status, { 'Content-Length': answer.body.byteLength });
          return void res.end(answer.body);
        }
        const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        forward.on('error', () => res.destroy());
        req.pipe(forward);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((r) => proxy?.close(r));
    });

    it('tampered metadata (its SHA-256 is not the content ID) exits 1 before anything is stored', async () => {
      const content = await publish(2 * MiB, 34);
      const tampered = Buffer.from(content.metadataBytes);
      const at = tampered.indexOf('"fileSize":') + 11;
      tampered[at] = tampered[at]! ^ 1; // one digit of the size changed
      rule = (path) => (path === `/meta/${content.contentId}` ? { status: 200, body: tampered } : undefined);
      const cwd = await workDir('tampered');
      server.cdnLog.reset();
      const run = await runGet([link(content.contentId, '', proxyUrl)], cwd);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`content ${content.contentId} cannot be verified: the metadata's SHA-256`);
      expect(run.stderr).toContain('is not the content ID');
      expect(await readdir(cwd)).toEqual([]);
      expect(server.cdnLog.requestsFor(content.contentId)).toBe(0);
    }, 30_000);

    it('a broken CDN and no peers: no progress for the stall timeout, exit 1 naming what the CDN answers', async () => {
      const content = await publish(2 * MiB, 35);
      rule = (path) => (path.startsWith('/cdn/') ? { status: 500, body: new TextEncoder().encode('broken') } : undefined);
      const cwd = await workDir('broken-cdn');
      const run = await runGet([link(content.contentId, '', proxyUrl), '--mode', 'http', '--stall-timeout', '2'], cwd);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/no piece came for 2 s: the CDN \(http:\/\/127\.0\.0\.1:\d+\/cdn\/[0-9a-f]{64}\/.*\) answers HTTP 500 and failed \d+ requests?; no peers in this mode; nothing was stored\n/);
      expect(await readdir(cwd)).toEqual([]); // its empty store is gone
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }, 30_000);
  });
});
