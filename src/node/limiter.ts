/**
 * Bounded concurrency: at most `max` tasks run at once, the others wait their turn in order.
 * The disk store runs every piece read and write through one, so that a swarm asking for many
 * pieces at once never has more than `max` piece buffers in the disk's hands.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`a limit of at least 1 task, not ${max}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next task in line (the count stays), or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
