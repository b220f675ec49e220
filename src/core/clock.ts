/**
 * The core's time and timers, as a port: every time reading and every timer in src/core goes
 * through a `Clock` its owner was given, so that the simulator (issue 18, sim/sim-clock.ts) can
 * run the real core in simulated time, and unit tests on a fake clock.
 *
 * Contract:
 * - `now()` is wall-clock milliseconds (as Date.now); only differences and order are used.
 * - Timer handles are opaque: only the clock that made one may clear it; clearing undefined,
 *   or a timer that already fired, does nothing.
 * - `systemClock` looks the global timers up at each call, not at module load, so that a test's
 *   fake timers (vi.useFakeTimers) still apply to code running on the default clock.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval> | undefined),
};
