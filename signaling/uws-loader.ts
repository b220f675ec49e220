/**
 * Loads uWebSockets for the Arrays port of its own (`arraysPort`, arrays-uws.ts), only when that
 * port is set: the `ws` transport on `/arrays` needs nothing of it.
 *
 * The only uWebSockets.js on the npm registry is `@trufflesuite/uws-js-unofficial`, a
 * repackaging of uWebSockets.js v20.30 (2022) with native builds for Node 16, 18 and 20 only
 * (Node's module ABIs 93, 108, 115). On any other Node it would print a warning and fall back to
 * a JavaScript stand-in over an old `ws`, which keeps none of the memory per socket that this
 * transport exists for. So it is an optional peer dependency (installers do not fetch its
 * ~40 MB unless asked), and a start with `arraysPort` is refused with a clear reason when the
 * package is missing or has no native build for this Node: never a silent fallback. Why `ws`
 * is the default transport, and what this one buys: docs/services.md.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const UWS_PACKAGE = '@trufflesuite/uws-js-unofficial';

export type UwsModule = typeof import('@trufflesuite/uws-js-unofficial');

/** uWebSockets cannot run here: `missing` (not installed) or `no-build` (no native build for this Node). */
export class UwsUnavailableError extends Error {
  override readonly name = 'UwsUnavailableError';
  constructor(
    readonly kind: 'missing' | 'no-build',
    message: string,
  ) {
    super(message);
  }
}

/** Where the native build for this platform, architecture and Node ABI would be, under the package's directory. */
export function nativeBuildPath(packageDir: string, versions: { platform: string; arch: string; modules: string } = { platform: process.platform, arch: process.arch, modules: process.versions.modules }): string {
  return join(packageDir, 'binaries', `uws_${versions.platform}_${versions.arch}_${versions.modules}.node`);
}

/**
 * The uWebSockets module, loaded from its native build; rejects with a UwsUnavailableError
 * saying what to do when it is not installed or has no build for this Node.
 */
export async function loadUws(resolvePackage: (name: string) => string = createRequire(import.meta.url).resolve): Promise<UwsModule> {
  const remedy = 'or leave TABSWARM_ARRAYS_PORT unset: the ws transport on /arrays serves the same swarms (docs/services.md)';
  let packageJson: string;
  try {
    packageJson = resolvePackage(`${UWS_PACKAGE}/package.json`);
  } catch {
    throw new UwsUnavailableError('missing', `TABSWARM_ARRAYS_PORT needs uWebSockets: install it with \`npm install ${UWS_PACKAGE}\` (on Node 20), ${remedy}`);
  }
  const native = nativeBuildPath(dirname(packageJson));
  if (!existsSync(native)) {
    throw new UwsUnavailableError(
      'no-build',
      `TABSWARM_ARRAYS_PORT needs uWebSockets, and ${UWS_PACKAGE} has no native build for Node ${process.versions.node} ` +
        `(module ABI ${process.versions.modules}, ${process.platform}-${process.arch}; it has builds for Node 16, 18 and 20): run the server on Node 20, ${remedy}`,
    );
  }
  const loaded = (await import(UWS_PACKAGE)) as UwsModule & { default?: UwsModule };
  return loaded.default ?? loaded;
}
