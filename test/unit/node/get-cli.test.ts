/**
 * `tabswarm get`'s pure parts: the metadata's name made a safe file name, rates, the link's
 * settings and targets, and failed fetches explained. The command itself runs in
 * test/server/cli-get.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseGetArgs, parseRate } from '../../../src/node/cli/get-args.js';
import { safeFileName } from '../../../src/node/cli/get-output.js';
import { createProgressView, formatBytes, formatEta } from '../../../src/node/cli/get-progress.js';
import { configFromQuery } from '../../../src/core/config-query.js';
import { resolveTarget } from '../../../src/node/cli/get-target.js';
import { causeOf } from '../../../src/node/cli/get.js';

const ID = '0123456789abcdef'.repeat(4);

describe('safeFileName', () => {
  it('keeps a plain name and makes a hostile one a plain name of the current directory', () => {
    expect(safeFileName('ubuntu-24.04.iso', ID)).toBe('ubuntu-24.04.iso');
    expect(safeFileName('../../etc/passwd', ID)).toBe('_._.._etc_passwd');
    expect(safeFileName('/etc/passwd', ID)).toBe('_etc_passwd');
    expect(safeFileName('..\\..\\win.ini', ID)).toBe('_._.._win.ini');
    expect(safeFileName('.bashrc', ID)).toBe('_bashrc');
    expect(safeFileName('-rf', ID)).toBe('_rf');
    expect(safeFileName('a\u0000b\nc\u009b.bin', ID)).toBe('a_b_c_.bin');
    expect(safeFileName('CON', ID)).toBe('_CON');
    expect(safeFileName('nul.txt', ID)).toBe('_nul.txt');
    expect(safeFileName('name. . .', ID)).toBe('name');
    for (const nothing of ['', '.', '..', '...', ' ', '/']) expect(safeFileName(nothing, ID)).toBe('0123456789abcdef.bin');
  });

  it('cuts a long name to 200 bytes of UTF-8, keeping its extension and whole characters', () => {
    const long = safeFileName(`${'é'.repeat(300)}.tar.gz`, ID);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long.endsWith('é.gz')).toBe(true);
    expect(long).not.toContain('\ufffd');
  });
});

describe('parseRate', () => {
  it('reads bytes per second with decimal and binary units', () => {
    expect(parseRate('500000')).toBe(500_000);
    expect(parseRate('500k')).toBe(500_000);
    expect(parseRate('2M')).toBe(2_000_000);
    expect(parseRate('2MB/s')).toBe(2_000_000);
    expect(parseRate('1.5MiB')).toBe(1_572_864);
    expect(parseRate('1GiB/s')).toBe(1024 ** 3);
    for (const bad of ['', 'fast', '0', '-1M', '2 parsecs', '1e9']) expect(() => parseRate(bad), bad).toThrow(/--max-download must be a rate/);
  });
});

describe('the command line', () => {
  it('takes the server from TABSWARM_SERVER, --group implies group mode, and refuses what is wrong', () => {
    const o = parseGetArgs([ID, '--group', 'class-7', '-o', 'x.bin', '-q'], { TABSWARM_SERVER: 'http://h:1' });
    expect(o).toMatchObject({ target: ID, server: 'http://h:1', mode: 'group', group: 'class-7', output: 'x.bin', quiet: true, stallTimeoutMs: 60_000 });
    expect(parseGetArgs([ID, '--stall-timeout', '0.5'], {}).stallTimeoutMs).toBe(500);
    expect(() => parseGetArgs([ID, '--group', 'no spaces'], {})).toThrow(/--group must be/);
    expect(() => parseGetArgs([ID, '--mode', 'lan', '--group', 'g'], {})).toThrow(/--group goes with --mode group/);
    expect(() => parseGetArgs([ID, '--mode', 'bypass'], {})).toThrow(/--mode must be one of/);
    expect(() => parseGetArgs([ID, '--stall-timeout', 'soon'], {})).toThrow(/--stall-timeout must be a number/);
    expect(() => parseGetArgs([ID, '-o', ''], {})).toThrow(/--output needs a value/);
  });
});

describe('targets', () => {
  const noFetch = (() => Promise.reject(new Error('no fetch expected'))) as typeof fetch;

  it('reads app links, share links and bare IDs; the link query carries settings, --server wins over the link', async () => {
    expect(await resolveTarget(`http://10.0.0.5:8080/#c=${ID}`, undefined, noFetch)).toEqual({ contentId: ID, serverUrl: 'http://10.0.0.5:8080', linkConfig: {} });
    expect(await resolveTarget(`https://swarm.example/app/?c=${ID.toUpperCase()}`, undefined, noFetch)).toMatchObject({ contentId: ID, serverUrl: 'https://swarm.example' });
    expect(await resolveTarget(`http://h:1/?downloadMode=group&groupId=g1&httpDelayMs=0&maxPeers=nope#c=${ID}`, 'http://other:2/x', noFetch)).toEqual({
      contentId: ID,
      serverUrl: 'http://other:2',
      linkConfig: { downloadMode: 'group', groupId: 'g1', httpDelayMs: 0 },
    });
    expect(await resolveTarget(ID, 'http://h:1', noFetch)).toMatchObject({ contentId: ID, serverUrl: 'http://h:1' });
    await expect(resolveTarget(ID, undefined, noFetch)).rejects.toMatchObject({ kind: 'usage' });
    await expect(resolveTarget(ID, 'ftp://h', noFetch)).rejects.toMatchObject({ kind: 'usage' });
    await expect(resolveTarget('http://h:1/#c=123', undefined, noFetch)).rejects.toMatchObject({ kind: 'bad-target' });
  });

  it('asks the server for a join link, and trusts only a well-formed answer', async () => {
    const answering = (status: number, body: unknown) => (async (url: string | URL | Request) => {
      expect(String(url)).toBe('http://h:1/api/join/K7P3QXM4A');
      return new Response(JSON.stringify(body), { status });
    }) as typeof fetch;
    const share = { contentId: ID, joinCode: 'K7P3QXM4A', groupId: 'grp', link: 'x', shortLink: 'y', expiresAt: 'z', lanLinks: [] };
    expect(await resolveTarget('http://h:1/j/K7P3QXM4A', undefined, answering(200, share))).toEqual({ contentId: ID, serverUrl: 'http://h:1', linkConfig: { downloadMode: 'group', groupId: 'grp' } });
    await expect(resolveTarget('http://h:1/j/K7P3QXM4A', undefined, answering(404, {}))).rejects.toThrow(/unknown or has expired/);
    await expect(resolveTarget('http://h:1/j/K7P3QXM4A', undefined, answering(200, { ...share, contentId: '../x' }))).rejects.toThrow(/did not answer with a share/);
  });

  it('reads engine settings from a query as the app does', () => {
    expect(configFromQuery('?httpDelayMs=250&uploadsEnabled=0&downloadMode=internet&bogus=1')).toEqual({ httpDelayMs: 250, uploadsEnabled: false, downloadMode: 'internet' });
  });
});

describe('causeOf', () => {
  it('names the system error under a failed fetch', () => {
    const system = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const wrapped = new Error('the content policy is unavailable (fetch failed)', { cause: new TypeError('fetch failed', { cause: system }) });
    expect(causeOf(wrapped)).toBe('the content policy is unavailable (fetch failed) (connect ECONNREFUSED 127.0.0.1:9)');
    expect(causeOf(new TypeError('fetch failed', { cause: new Error('bad port') }))).toBe('fetch failed (bad port)');
    expect(causeOf('plain')).toBe('plain');
  });
});

describe('progress', () => {
  it('formats sizes and times left', () => {
    expect([0, 1023, 1024, 1536 * 1024, 12 * 1024 ** 2, 3 * 1024 ** 4].map(formatBytes)).toEqual(['0 B', '1023 B', '1.00 KiB', '1.50 MiB', '12.0 MiB', '3.00 TiB']);
    expect([formatEta(0, 0), formatEta(10, 0), formatEta(45e6, 1e6), formatEta(185e6, 1e6), formatEta(7620e6, 1e6)]).toEqual(['0s', '--', '45s', '3m05s', '2h07m']);
  });

  it('off a terminal prints a plain line at most every interval, and nothing with --quiet', () => {
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const figures = { fileSize: 8 * 1024 ** 2, bytesDone: 2 * 1024 ** 2, bytesFromPeers: 1024 ** 2, bytesFromCdn: 1024 ** 2, downloadBps: 2_500_000, peers: 1 };
    const view = createProgressView('lines', stream, 60_000);
    view.update(figures); // within the first interval: nothing yet
    view.say('hello');
    expect(lines).toEqual(['tabswarm get: hello\n']);
    const every = createProgressView('lines', stream, 0);
    every.update(figures);
    expect(lines[1]).toBe('tabswarm get: 25% of 8.00 MiB, 2.50 MB/s; from peers 1.00 MiB, from the CDN 1.00 MiB; 1 peer\n');
    const quiet = createProgressView('quiet', stream, 0);
    quiet.update(figures);
    quiet.say('not shown');
    quiet.stop();
    expect(lines).toHaveLength(2);
  });
});
