/**
 * The directory of tabswarm's package.json, found by walking up from this file: the same from
 * a clone (signaling/*.ts run by tsx) and from an installed package (dist/server/signaling/*.js),
 * so the command finds the app, the library and the examples it ships wherever it is run from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let found: { dir: string; version: string } | undefined;

export function packageRoot(): { dir: string; version: string } {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (json.name === 'tabswarm') return (found = { dir, version: json.version ?? '0.0.0' });
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`tabswarm's package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
