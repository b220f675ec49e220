/**
 * What a run started, closed in reverse order exactly once: at the end, on an error, or on
 * Ctrl-C / SIGTERM. Temp dirs made with bench/util's tempDir() are also removed synchronously
 * on exit, should the process end before the closers ran.
 */
import { removeTempDirsSync } from '../bench/util.js';

export class Cleanup {
  private readonly closers: Array<{ what: string; close: () => Promise<void> }> = [];
  private running: Promise<void> | undefined;

  /** True once run() was called (the run is ending: errors from here on are expected). */
  get started(): boolean {
    return this.running !== undefined;
  }

  add(what: string, close: () => Promise<void>): void {
    this.closers.push({ what, close });
  }

  /** Closes everything (newest first); each closer gets `timeoutMs`; errors are reported, not thrown. */
  run(timeoutMs = 15_000): Promise<void> {
    this.running ??= (async () => {
      for (const { what, close } of this.closers.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([close(), new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`took over ${timeoutMs} ms`)), timeoutMs)))]);
        } catch (e) {
          process.stderr.write(`cleanup: closing ${what} failed: ${e instanceof Error ? e.message : String(e)}\n`);
        } finally {
          clearTimeout(timer);
        }
      }
      removeTempDirsSync();
    })();
    return this.running;
  }
}

/**
 * Runs `cleanup` on SIGINT, SIGTERM and SIGHUP, then exits with 128 + the signal's number; a
 * second signal while it runs exits at once (the temp dirs still go, in the 'exit' handler).
 */
export function cleanUpOnSignals(cleanup: Cleanup, say: (line: string) => void): void {
  process.on('exit', () => removeTempDirsSync());
  let stopping = false;
  const codes: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
  for (const signal of Object.keys(codes) as NodeJS.Signals[]) {
    process.on(signal, () => {
      if (stopping) process.exit(codes[signal]);
      stopping = true;
      say(`\n${signal}: stopping the browser, the liars and the server…`);
      void cleanup.run().finally(() => process.exit(codes[signal]));
    });
  }
}
