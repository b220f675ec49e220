/**
 * The legitimate client's request for one attack (its `legit`), in a process of its own so
 * that the attacker's work in the runner's process (640,000 `ban` frames sent in one loop,
 * a thousand sockets opened) cannot delay it: what is measured is the server, not the bench.
 * It prints `ready`, waits for one line on stdin, makes the request, and prints
 * `ok <ms>` or `fail <ms>`, then exits.
 *
 *   node --import tsx bench/abuse/legit.ts <attack name> <url>
 */
import { createInterface } from 'node:readline';
import { attacks } from './attacks.js';

const [name, url] = process.argv.slice(2);
const attack = attacks().find((a) => a.name === name);
if (attack === undefined || url === undefined) {
  process.stderr.write('usage: legit.ts <attack name> <url>\n');
  process.exit(2);
}
const server = { url };
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const _ of lines) {
  const t0 = performance.now();
  const ok = await attack.legit(server).catch(() => false);
  process.stdout.write(`${ok ? 'ok' : 'fail'} ${(performance.now() - t0).toFixed(0)}\n`);
  break;
}
lines.close();
