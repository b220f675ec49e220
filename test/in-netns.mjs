// Runs a test command inside a private network namespace, so that every packet the tests
// send (HTTP, WebSocket, and WebRTC, whose candidates Chromium never gathers on loopback)
// stays on this machine: the namespace has loopback and one veth pair with 10.213.0.1,
// and no link to anything outside it. Needs root and unshare(1) (CI, Debian as root);
// elsewhere, or with TABSWARM_NETNS=0, the command runs as it is and WebRTC uses the
// machine's own interface addresses.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: node test/in-netns.mjs <command> [args...]');
  process.exit(2);
}
const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
const command = ['npx', ...args].map(quote).join(' ');
const setup = [
  'ip link set lo up',
  'ip link add tsw0 type veth peer name tsw1',
  'ip addr add 10.213.0.1/24 dev tsw0',
  'ip link set tsw0 up',
  'ip link set tsw1 up',
  // Chromium gathers candidates only on an interface with a default route.
  'ip route add default dev tsw0',
].join(' && ');

const canIsolate =
  process.env.TABSWARM_NETNS !== '0' &&
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/unshare') &&
  spawnSync('unshare', ['-n', 'sh', '-c', setup], { stdio: 'ignore' }).status === 0;

if (canIsolate) console.log('in-netns: running in a private network namespace (lo, 10.213.0.1)');
const result = canIsolate
  ? spawnSync('unshare', ['-n', 'sh', '-c', `${setup} && exec ${command}`], { stdio: 'inherit' })
  : (console.log('in-netns: no private network namespace here; running the tests on the host network'),
    spawnSync('npx', args, { stdio: 'inherit' }));
process.exit(result.status ?? 1);
