/**
 * How many responses the built-in CDN origin streams at once: per address bucket and in total.
 *
 * Why a total, besides the connection caps: a response whose reader stops reading still fills
 * the kernel's send buffer for its socket (autotuned up to `tcp_wmem`'s maximum, 4 MiB by
 * default), and that memory is the kernel's, shared by every connection of the machine. Past
 * the kernel's TCP memory-pressure threshold (`tcp_mem`'s middle value) Linux shrinks every
 * socket's buffers and, past its hard limit, drops packets: a few hundred stalled readers made
 * a legitimate request, on its own address and its own connection, wait more than 5 s. So the
 * total is lowered at start until the send buffers of that many stalled streams fit in half of
 * the pressure threshold, leaving the other half to everything else; and a full total makes room
 * for an address with fewer streams than the heaviest one (`CdnStreams`), so that it cannot be
 * used to keep others out.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

/** The fewest streams the kernel lowering leaves (a machine with very little TCP memory still serves). */
export const MIN_CDN_STREAMS = 16;
const PAGE_BYTES = 4096;

export interface KernelTcpMemory {
  /** `tcp_mem`'s middle value, in bytes: past it the kernel is under memory pressure. */
  pressureBytes: number;
  /** `tcp_wmem`'s maximum, in bytes: the most one socket's send buffer autotunes to. */
  sendBufferMaxBytes: number;
}

/** Linux's TCP memory figures from /proc (or the texts given), undefined where unknown. */
export function kernelTcpMemory(texts?: { tcpMem: string; tcpWmem: string }): KernelTcpMemory | undefined {
  let tcpMem = texts?.tcpMem;
  let tcpWmem = texts?.tcpWmem;
  if (texts === undefined) {
    try {
      tcpMem = readFileSync('/proc/sys/net/ipv4/tcp_mem', 'utf8');
      tcpWmem = readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8');
    } catch {
      return undefined;
    }
  }
  const mem = (tcpMem ?? '').trim().split(/\s+/).map(Number);
  const wmem = (tcpWmem ?? '').trim().split(/\s+/).map(Number);
  const pressurePages = mem[1];
  const sendMax = wmem[2];
  if (mem.length !== 3 || wmem.length !== 3 || !Number.isSafeInteger(pressurePages) || !Number.isSafeInteger(sendMax) || pressurePages! <= 0 || sendMax! <= 0) return undefined;
  return { pressureBytes: pressurePages! * PAGE_BYTES, sendBufferMaxBytes: sendMax! };
}

/** `configured` as the kernel's TCP memory can carry it (see the file's comment); said in the log when lowered. */
export function effectiveCdnMaxStreams(configured: number, kernel: KernelTcpMemory | undefined, logger?: Pick<Logger, 'info'>): number {
  if (kernel === undefined) return configured;
  const fits = Math.floor(kernel.pressureBytes / 2 / kernel.sendBufferMaxBytes);
  const max = Math.max(Math.min(configured, MIN_CDN_STREAMS), Math.min(configured, fits));
  if (max < configured) logger?.info({ configured, cdnMaxStreams: max }, 'CDN stream cap lowered to fit the kernel TCP memory');
  return max;
}

export type StreamRefusal = 'address' | 'total';

/** One admitted stream: call `moved()` when its reader takes bytes, `release()` once when it ends. */
export interface CdnStream {
  moved(): void;
  release(): void;
}

interface Entry {
  bucket: string;
  movedAt: number;
  /** Ends the stream at once (a reset): it was chosen to make room. */
  evict: () => void;
}

/**
 * Counts streaming responses per address bucket and in total. The total is no denial of service
 * of its own: when it is full, a stream from an address that holds fewer streams than the
 * heaviest address takes the place of one of the heaviest's, the one whose reader took nothing
 * for longest. So a few addresses that fill the total with stalled readers never keep a
 * newcomer out; only an address already holding as many as anyone else is refused (503).
 */
export class CdnStreams {
  private readonly byBucket = new Map<string, Set<Entry>>();
  private total = 0;
  /** Streams ended to make room for another address's, so far. */
  evictions = 0;

  constructor(
    readonly perAddress: number,
    readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  get open(): number {
    return this.total;
  }

  admit(bucket: string, evict: () => void): StreamRefusal | CdnStream {
    const own = this.byBucket.get(bucket)?.size ?? 0;
    if (own >= this.perAddress) return 'address';
    if (this.total >= this.max) {
      const victim = this.victimFor(own);
      if (victim === undefined) return 'total';
      this.evictions++;
      this.remove(victim);
      victim.evict();
    }
    const entry: Entry = { bucket, movedAt: this.now(), evict };
    let set = this.byBucket.get(bucket);
    if (set === undefined) this.byBucket.set(bucket, (set = new Set()));
    set.add(entry);
    this.total++;
    return {
      moved: () => {
        entry.movedAt = this.now();
      },
      release: () => this.remove(entry),
    };
  }

  /** The stalest stream of the heaviest addresses, if they hold more than `own`. */
  private victimFor(own: number): Entry | undefined {
    let heaviest = 0;
    for (const set of this.byBucket.values()) heaviest = Math.max(heaviest, set.size);
    if (heaviest <= own) return undefined;
    let victim: Entry | undefined;
    for (const set of this.byBucket.values()) {
      if (set.size !== heaviest) continue;
      for (const e of set) if (victim === undefined || e.movedAt < victim.movedAt) victim = e;
    }
    return victim;
  }

  private remove(entry: Entry): void {
    const set = this.byBucket.get(entry.bucket);
    if (set === undefined || !set.delete(entry)) return;
    this.total--;
    if (set.size === 0) this.byBucket.delete(entry.bucket);
  }
}
