/**
 * `tabswarm serve` configured by `TABSWARM_*` variables alone: what tests and the abuse
 * benchmark spawn (`node --import tsx signaling/main.ts`). The command itself is bin.ts.
 */
import { runCli } from './cli.js';

runCli(['serve']).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`tabswarm: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
