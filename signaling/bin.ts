#!/usr/bin/env node
/** The `tabswarm` command's entry (package.json `bin`; compiled to dist/server/signaling/bin.js). */
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    // serve keeps running (its server holds the process open) and exits on a signal.
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`tabswarm: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
