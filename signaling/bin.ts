#!/usr/bin/env node
/** The `tabswarm` command's entry (package.json `bin`; compiled to dist/server/signaling/bin.js). */
import { runCli, type PeerCommands } from './cli.js';

/** The Node peers' commands, loaded only when asked for (serve and publish never load WebRTC). */
const peers: PeerCommands = {
  get: async (args, env) => (await import('../src/node/cli/get.js')).runGet(args, env),
  cache: async (args, env) => (await import('../src/node/cli/cache.js')).runCache(args, env),
};

const command = process.argv[2];
runCli(process.argv.slice(2), process.env, peers).then(
  (code) => {
    // serve keeps running (its server holds the process open) and exits on a signal. get and
    // cache are over when they return: WebRTC's native threads must not hold the process after it.
    if (code !== 0 || command === 'get' || command === 'cache') process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`tabswarm: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
