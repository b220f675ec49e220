/**
 * Simulated time for the simulator (issue 18): the core's Clock port (src/core/clock.ts)
 * over an event queue instead of the machine's timers. Nothing waits: `advance` settles every
 * promise chain already under way (one macrotask turn drains Node's microtask queue, which is
 * where the simulation's memory doubles resolve), then jumps the clock to the earliest timer
 * and fires it. A run is a function of its inputs and seed: timers due at the same instant fire
 * in the order they were set.
 *
 * The queue is a binary heap keyed by (due time, sequence): O(log n) per timer, for swarms of
 * thousands of peers with a few timers each.
 */
import type { Clock } from '../src/core/clock.js';

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
  /** For intervals: the period, ms. */
  every: number | undefined;
  cancelled: boolean;
  /** In the heap (not yet fired, or an interval set again). */
  inHeap: boolean;
}

export class SimClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly heap: Timer[] = [];
  private live = 0;
  /** Cancelled timers still in the heap (dropped when they reach its top, or all at once by `compact`). */
  private dead = 0;
  /** Timers fired so far. */
  fired = 0;

  /** `startMs`: what `now()` says at the start (a fixed epoch keeps runs alike). */
  constructor(startMs = 1_700_000_000_000) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.push(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.push(fn, ms, Math.max(1, ms));
  }

  clearTimeout(handle: unknown): void {
    const t = handle as Timer | undefined;
    if (t && !t.cancelled) {
      t.cancelled = true;
      // Its closure (and all it holds: a request's buffer, a frame) goes now, not when the
      // timer would have come due and is dropped from the heap.
      t.fn = noop;
      this.live--;
      if (t.inHeap) {
        this.dead++;
        // Mostly cancelled (a request's deadline, a wake-up set again): rebuilt without them,
        // so the heap stays the size of what is live. The order is (due, seq) whatever its shape.
        if (this.dead > 1024 && this.dead > this.live) this.compact();
      }
    }
  }

  clearInterval(handle: unknown): void {
    this.clearTimeout(handle);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.live;
  }

  /**
   * Settles what is under way, then fires the earliest timer (moving the clock to its time).
   * False when no timer is left (after settling: a settled promise may have set one).
   */
  async advance(): Promise<boolean> {
    await settle();
    const t = this.pop();
    if (!t) return false;
    this.fire(t);
    return true;
  }

  /** Advances until `done()` holds, no timer is left, or simulated time passes `untilMs`; returns why it stopped. */
  async run(done: () => boolean, untilMs = Infinity): Promise<'done' | 'idle' | 'time'> {
    for (;;) {
      await settle();
      if (done()) return 'done';
      const next = this.peek();
      if (!next) return 'idle';
      if (next.due > untilMs) {
        this.time = Math.max(this.time, untilMs);
        return 'time';
      }
      this.fire(this.pop()!);
    }
  }

  private fire(t: Timer): void {
    this.time = Math.max(this.time, t.due);
    this.fired++;
    if (t.every !== undefined) {
      t.due = this.time + t.every;
      t.seq = this.seq++;
      this.insert(t);
    } else {
      t.cancelled = true;
      this.live--;
    }
    t.fn();
  }

  private push(fn: () => void, ms: number, every: number | undefined): Timer {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const t: Timer = { due: this.time + delay, seq: this.seq++, fn, every, cancelled: false, inHeap: false };
    this.insert(t);
    this.live++;
    return t;
  }

  /** The earliest live timer, cancelled ones dropped on the way. */
  private peek(): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.removeTop();
    return this.heap[0];
  }

  private pop(): Timer | undefined {
    const t = this.peek();
    if (t) this.removeTop();
    return t;
  }

  private insert(t: Timer): void {
    const h = this.heap;
    t.inHeap = true;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(t, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = t;
  }

  private removeTop(): void {
    const h = this.heap;
    const top = h[0]!;
    top.inHeap = false;
    if (top.cancelled) this.dead--;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  /** Drops every cancelled timer from the heap and restores the heap order (Floyd's heapify). */
  private compact(): void {
    const h = this.heap;
    let n = 0;
    for (const t of h) {
      if (t.cancelled) t.inHeap = false;
      else h[n++] = t;
    }
    h.length = n;
    this.dead = 0;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[start]!;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && before(h[r]!, h[l]!) ? r : l;
      const c = h[m]!;
      if (!before(c, t)) break;
      h[i] = c;
      i = m;
    }
    h[i] = t;
  }
}

const noop = (): void => undefined;

function before(a: Timer, b: Timer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** One macrotask turn: Node runs every queued microtask (and those they queue) before it. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
