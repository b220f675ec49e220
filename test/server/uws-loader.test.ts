/**
 * The uWebSockets transport is optional (signaling/uws-loader.ts): loaded only for
 * `arraysPort`, and refused with a clear reason where it cannot run natively, never a silent
 * fallback to its JavaScript stand-in.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../../signaling/server.js';
import { loadUws, nativeBuildPath, UWS_PACKAGE, UwsUnavailableError } from '../../signaling/uws-loader.js';
import { createLogger } from '../../signaling/logger.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function fakePackage(withBuild: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-uws-'));
  dirs.push(dir);
  await writeFile(join(dir, 'package.json'), '{"name":"fake"}');
  if (withBuild) {
    await mkdir(join(dir, 'binaries'));
    await writeFile(nativeBuildPath(dir), '');
  }
  return join(dir, 'package.json');
}

describe('loadUws', () => {
  it('names the package to install when it is missing', async () => {
    const error = await loadUws(() => {
      throw new Error('Cannot find module');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UwsUnavailableError);
    expect((error as UwsUnavailableError).kind).toBe('missing');
    expect((error as Error).message).toContain(`npm install ${UWS_PACKAGE}`);
    expect((error as Error).message).toContain('leave TABSWARM_ARRAYS_PORT unset');
  });

  it('refuses a package without a native build for this Node, naming the Node version and ABI', async () => {
    const packageJson = await fakePackage(false);
    const error = await loadUws(() => packageJson).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UwsUnavailableError);
    expect((error as UwsUnavailableError).kind).toBe('no-build');
    expect((error as Error).message).toContain(`Node ${process.versions.node}`);
    expect((error as Error).message).toContain(`module ABI ${process.versions.modules}`);
  });

  it('loads the installed package natively where it has a build for this Node, and refuses it clearly where not', async () => {
    const dir = dirname(createRequire(import.meta.url).resolve(`${UWS_PACKAGE}/package.json`));
    const result = await loadUws().then(
      (uws) => ({ loaded: typeof uws.App === 'function' }),
      (e: unknown) => ({ kind: e instanceof UwsUnavailableError ? e.kind : String(e) }),
    );
    // Node 20 (ABI 115) has a build; Node 22 and 24 have none.
    expect(result).toEqual(process.versions.modules === '115' ? { loaded: true } : { kind: 'no-build' });
    expect(result).toEqual(existsSync(nativeBuildPath(dir)) ? { loaded: true } : { kind: 'no-build' });
  });
});

describe('createServer with arraysPort', () => {
  it('refuses to start, listening on nothing, when uWebSockets cannot run; without arraysPort it never loads it', async () => {
    const contentDir = await mkdtemp(join(tmpdir(), 'tabswarm-uws-content-'));
    dirs.push(contentDir);
    const logger = createLogger('silent', false);
    let loads = 0;
    const unavailable = async () => {
      loads++;
      throw new UwsUnavailableError('no-build', 'no native build here');
    };
    await expect(createServer({ port: 0, host: '127.0.0.1', arraysPort: 0, contentDir, demoSize: 0 }, { logger, loadUws: unavailable })).rejects.toThrow('no native build here');
    expect(loads).toBe(1);
    const server = await createServer({ port: 0, host: '127.0.0.1', contentDir, demoSize: 0 }, { logger, loadUws: unavailable });
    expect(loads, 'not loaded without arraysPort').toBe(1);
    expect(server.arraysPort).toBeUndefined();
    await server.close();
  });
});
