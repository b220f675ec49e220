/**
 * The legitimate client's health probe, in a process of its own so that the attackers' work
 * in the runner's process (building metadata, sending frames) cannot delay it: it asks
 * `<url>/api/health` every 100 ms from `<address>` and prints one line per probe, the latency
 * in ms or `fail <ms> <why>`, until it is killed.
 *
 *   node --import tsx bench/abuse/prober.ts <url> <address> <timeoutMs>
 */
import { httpRequest } from './client.js';

const [url, localAddress, timeout] = process.argv.slice(2);
if (url === undefined || localAddress === undefined) {
  process.stderr.write('usage: prober.ts <url> <address> [timeoutMs]\n');
  process.exit(2);
}
const timeoutMs = Number(timeout ?? 5000);

for (;;) {
  const started = performance.now();
  const r = await httpRequest(`${url}/api/health`, { localAddress, timeoutMs });
  process.stdout.write(r.status === 200 ? `${r.ms.toFixed(1)}\n` : `fail ${r.ms.toFixed(0)} ${r.error ?? `status ${r.status}`}\n`);
  await new Promise((res) => setTimeout(res, Math.max(0, 100 - (performance.now() - started))));
}
