/**
 * The npm package as a consumer gets it: `npm pack` (its prepack build) gives a tarball of only
 * what a consumer needs; installed into a fresh project, `createClient` imports by name,
 * type-checks with tsc and bundles with Vite; `npx tabswarm serve` from it serves the app and
 * the demo, and `npx tabswarm get` downloads it; `npm publish --dry-run` runs no project script that fails.
 *
 * Slow (a build, an install from the registry) and needs the registry: it runs in its own
 * vitest project, outside the tests' private network namespace (`npm run test:package`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SEED, demoNameFor } from '../../signaling/content-store.js';
import { deterministicChunk } from '../../signaling/deterministic-content.js';
import { startServeProcess } from '../helpers/serve-process.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** What the tarball may weigh (the app, the library and the server, with the library's source maps). */
const MAX_TARBALL_BYTES = 6 * 1024 * 1024;

let work: string;
let tarball: string;
let files: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tabswarm-pack-'));
  // --json: the file list; the prepack script builds dist/ first, and its output (coloured where
  // FORCE_COLOR is set, as on CI, so full of `[`) comes before npm's JSON, which opens a line with `[`.
  const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 });
  const jsonStart = stdout.search(/^\[\s*\{/m);
  expect(jsonStart, `npm pack --json printed no JSON:\n${stdout.slice(-2000)}`).toBeGreaterThanOrEqual(0);
  const [info] = JSON.parse(stdout.slice(jsonStart)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, info!.filename);
  files = info!.files.map((f) => f.path);
}, 300_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('holds what a consumer needs and nothing else', async () => {
    for (const needed of ['package.json', 'README.md', 'LICENSE', 'dist/lib/tabswarm.js', 'dist/lib/tabswarm-sw.js', 'dist/lib/types/index.d.ts', 'dist/app/index.html', 'dist/app/tabswarm-sw.js', 'dist/server/signaling/bin.js', 'dist/server/signaling/metadata-worker.js', 'examples/stream.html']) {
      expect(files, needed).toContain(needed);
    }
    const stray = files.filter((f) => /^(src|signaling|test|bench|swarm|docs|\.ci|content|node_modules)\//.test(f) || /\.ts$/.test(f.replace(/\.d\.ts$/, '')) || /^dist\/server\/.*\.map$/.test(f) || /^dist\/(bench|cache-test)\//.test(f));
    expect(stray, 'sources, tests, benchmarks, docs, server source maps').toEqual([]);
    const size = (await stat(tarball)).size;
    expect(size, `the tarball is ${size} bytes`).toBeLessThan(MAX_TARBALL_BYTES);
    expect(files.length, `${files.length} files`).toBeLessThan(400);
  });

  it('npm publish --dry-run runs no script that fails', async () => {
    // prepack builds again; publish itself runs nothing of ours (no script named `publish`).
    const { stderr } = await run(NPM, ['publish', '--dry-run', '--ignore-scripts=false'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 });
    expect(stderr).toContain('tabswarm@');
  }, 300_000);
});

describe('installed into a fresh project', () => {
  let project: string;
  beforeAll(async () => {
    project = join(work, 'consumer');
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, timeout: 240_000 });
  }, 300_000);

  it('imports createClient by name, type-checks with tsc, and bundles with Vite', async () => {
    await writeFile(
      join(project, 'src/main.ts'),
      [
        "import { createClient, type ClientDownload } from 'tabswarm';",
        "const client = createClient({ serverUrl: location.origin, serviceWorker: { url: '/tabswarm-sw.js', scope: '/' } });",
        'export async function start(contentId: string): Promise<ClientDownload> {',
        '  const download = await client.download(contentId);',
        "  download.on('progress', (p) => console.log(p.bytesDone, p.fileSize));",
        '  return download;',
        '}',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2023', 'DOM', 'DOM.Iterable'], strict: true, noEmit: true, skipLibCheck: false }, include: ['src'] }),
    );
    await writeFile(join(project, 'index.html'), '<!doctype html><script type="module" src="/src/main.ts"></script>\n');
    // The repository's own tsc and Vite, run in the consumer's folder: what resolves is the consumer's node_modules.
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project, timeout: 120_000 });
    await run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: project, timeout: 120_000 });
    const assets = await readdir(join(project, 'dist/assets'));
    expect(assets.some((a) => a.endsWith('.js')), `bundled: ${assets.join(', ')}`).toBe(true);
  }, 240_000);

  it('npx tabswarm serve serves the app, the library and the demo', async () => {
    const server = await startServeProcess(join(project, 'node_modules/.bin/tabswarm'), ['serve', './content', '--port', '0', '--host', '127.0.0.1', '--demo-size', '1048576'], { cwd: project });
    try {
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('tabswarm');
      expect((await fetch(`${server.url}/lib/tabswarm-sw.js`)).status).toBe(200);
      const catalog = (await (await fetch(`${server.url}/api/catalog`)).json()) as { contents: Array<{ name: string; fileSize: number }> };
      expect(catalog.contents.map((c) => c.name)).toContain(demoNameFor(1048576));
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);

  it('npx tabswarm get downloads the demo from it, verified, with the compiled command and the installed WebRTC module', async () => {
    const server = await startServeProcess(join(project, 'node_modules/.bin/tabswarm'), ['serve', './content-get', '--port', '0', '--host', '127.0.0.1', '--demo-size', '3145728'], { cwd: project });
    try {
      const catalog = (await (await fetch(`${server.url}/api/catalog`)).json()) as { contents: Array<{ contentId: string; name: string }> };
      const demo = catalog.contents.find((c) => c.name === demoNameFor(3145728))!;
      // lan mode: the command loads node-datachannel and joins the swarm (alone there), then the CDN serves it.
      const { stderr } = await run(join(project, 'node_modules/.bin/tabswarm'), ['get', `${server.url}/?httpDelayMs=0#c=${demo.contentId}`, '-o', 'demo.bin'], { cwd: project, timeout: 60_000 });
      const expected = createHash('sha256').update(deterministicChunk(DEMO_SEED, 0, 3145728)).digest('hex');
      expect(stderr).toContain(`SHA-256 ${expected} verified`);
      expect(createHash('sha256').update(await readFile(join(project, 'demo.bin'))).digest('hex')).toBe(expected);
      const usage = await run(join(project, 'node_modules/.bin/tabswarm'), ['get', 'not-a-link'], { cwd: project }).then(
        () => 0,
        (e: { code?: number }) => e.code,
      );
      expect(usage).toBe(1);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);
});
