/**
 * Delivery Optimization's bandwidth controls for one client: ONE object shared by all of its
 * downloads (DO's limits are per device, not per file).
 *
 * - Uploads to peers pass one token bucket whose rate is the lower of `maxUploadBytesPerSec`
 *   and `maxUploadShareOfCapacity` × the measured upload capacity (0 = no cap).
 * - Uploads happen at all only while `uploadsAllowed()`: `uploadsEnabled` and no external
 *   block (`setUploadsBlocked`, which the browser layer sets on battery or a metered link).
 * - CDN bytes pass the bucket of the download's priority: `maxForegroundCdnBytesPerSec` over
 *   all foreground downloads, `maxBackgroundCdnBytesPerSec` over all background ones. While a
 *   foreground download is active, background downloads yield: their CDN bucket runs at
 *   `minBackgroundBytesPerSec` per background download (lowered to their own cap if that is
 *   lower), and is paused if that minimum is 0.
 * - Peers are never throttled on download, as in DO.
 *
 * Every limit of 0 leaves its bucket unlimited, and an unlimited take returns synchronously
 * (rate-limiter.ts), so a client without limits pays nothing per chunk.
 */
import { resolveConfig, type ClientConfig } from './config.js';
import { Emitter } from './emitter.js';
import { systemClock, type Clock } from './clock.js';
import { RateLimiter } from './rate-limiter.js';
import { RateMeter } from './rate-meter.js';

export type Priority = 'foreground' | 'background';

export type BandwidthConfig = Pick<
  ClientConfig,
  | 'maxUploadBytesPerSec'
  | 'maxUploadShareOfCapacity'
  | 'uploadsEnabled'
  | 'maxForegroundCdnBytesPerSec'
  | 'maxBackgroundCdnBytesPerSec'
  | 'minBackgroundBytesPerSec'
>;

const BANDWIDTH_KEYS = [
  'maxUploadBytesPerSec',
  'maxUploadShareOfCapacity',
  'uploadsEnabled',
  'maxForegroundCdnBytesPerSec',
  'maxBackgroundCdnBytesPerSec',
  'minBackgroundBytesPerSec',
] as const satisfies ReadonlyArray<keyof BandwidthConfig>;

/** What a peer session needs of the upload side (Bandwidth implements it). */
export interface UploadGate {
  uploadsAllowed(): boolean;
  /** `undefined`: the bytes may be sent now; else a promise resolved when they may (see RateLimiter.take). */
  takeUpload(bytes: number, signal?: AbortSignal): Promise<void> | undefined;
  /** Called with the new value whenever `uploadsAllowed()` changes. */
  onUploadsChanged(listener: (allowed: boolean) => void): () => void;
}

/** The limits in effect now, in bytes per second; 0 = unlimited. */
export interface BandwidthLimits {
  upload: number;
  /** The highest upload rate measured over one second while nothing held uploads back; 0 until measured. */
  uploadCapacity: number;
  foregroundCdn: number;
  backgroundCdn: number;
  /** Background CDN traffic is stopped (yielding with `minBackgroundBytesPerSec` 0). */
  backgroundCdnPaused: boolean;
  /** Background downloads are yielding to a foreground one. */
  backgroundYielding: boolean;
}

export interface BandwidthStatus {
  limits: BandwidthLimits;
  uploadsAllowed: boolean;
  /** Why uploads are off ('uploads disabled', or the browser layer's reason); undefined when allowed. */
  uploadsBlockedReason: string | undefined;
  /** Measured over the last 5 s, bytes per second. */
  uploadBps: number;
  foregroundCdnBps: number;
  backgroundCdnBps: number;
  foregroundDownloads: number;
  backgroundDownloads: number;
  /** Takes that had to wait, over all buckets: 0 while no limit ever bit. */
  throttledTakes: number;
}

export interface BandwidthEvents extends Record<string, unknown> {
  uploads: { allowed: boolean; reason: string | undefined };
}

/** An active download's place in the priority registry; `close()` when it stops downloading. */
export interface BandwidthRegistration {
  close(): void;
}

export class Bandwidth implements UploadGate {
  readonly events = new Emitter<BandwidthEvents>();
  private config: BandwidthConfig;
  private readonly upload: RateLimiter;
  private readonly foreground: RateLimiter;
  private readonly background: RateLimiter;
  private readonly uploadMeter: RateMeter;
  private readonly foregroundMeter: RateMeter;
  private readonly backgroundMeter: RateMeter;
  private readonly active = new Set<{ priority: Priority }>();
  private blockedReason: string | undefined;
  private capacity = 0;
  /** The one-second window the capacity is measured over: its second, bytes, and whether a take waited in it. */
  private windowSecond = -1;
  private windowBytes = 0;
  private windowThrottled = false;

  constructor(
    config: BandwidthConfig,
    private readonly clock: Clock = systemClock,
  ) {
    this.config = Object.fromEntries(BANDWIDTH_KEYS.map((k) => [k, config[k]])) as unknown as BandwidthConfig;
    this.upload = new RateLimiter(0, clock);
    this.foreground = new RateLimiter(0, clock);
    this.background = new RateLimiter(0, clock);
    const now = () => clock.now();
    this.uploadMeter = new RateMeter(5, now);
    this.foregroundMeter = new RateMeter(5, now);
    this.backgroundMeter = new RateMeter(5, now);
    this.apply();
  }

  /**
   * Changes settings at run time (a settings page): those given, the rest stay. A whole
   * ClientConfig may be passed; only the bandwidth settings are read.
   */
  configure(partial: Partial<BandwidthConfig>): void {
    const wasAllowed = this.uploadsAllowed();
    for (const k of BANDWIDTH_KEYS) {
      const v = partial[k];
      if (v !== undefined) (this.config as Record<string, unknown>)[k] = v;
    }
    this.apply();
    this.uploadsMayHaveChanged(wasAllowed);
  }

  // ---- uploads

  uploadsAllowed(): boolean {
    return this.config.uploadsEnabled && this.blockedReason === undefined;
  }

  get uploadsBlockedReason(): string | undefined {
    if (!this.config.uploadsEnabled) return 'uploads disabled';
    return this.blockedReason;
  }

  /**
   * Blocks uploads for `reason` (e.g. 'on battery', 'metered connection'), or lifts the block
   * with undefined. Called by the browser layer, which watches the Battery and Network
   * Information APIs; the core has no DOM.
   */
  setUploadsBlocked(reason: string | undefined): void {
    const wasAllowed = this.uploadsAllowed();
    this.blockedReason = reason;
    this.uploadsMayHaveChanged(wasAllowed);
  }

  onUploadsChanged(listener: (allowed: boolean) => void): () => void {
    return this.events.on('uploads', (e) => listener(e.allowed));
  }

  takeUpload(bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    const wait = this.upload.take(bytes, signal);
    if (!wait) {
      this.countUpload(bytes, false);
      return undefined;
    }
    this.windowThrottled = true;
    return wait.then(() => this.countUpload(bytes, true));
  }

  // ---- CDN

  /** Registers an active download of `priority`; background ones yield while a foreground one is registered. */
  register(priority: Priority): BandwidthRegistration {
    const entry = { priority };
    this.active.add(entry);
    this.apply();
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        this.active.delete(entry);
        this.apply();
      },
    };
  }

  takeCdn(priority: Priority, bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    const limiter = priority === 'foreground' ? this.foreground : this.background;
    const meter = priority === 'foreground' ? this.foregroundMeter : this.backgroundMeter;
    const wait = limiter.take(bytes, signal);
    if (!wait) {
      meter.add(bytes);
      return undefined;
    }
    return wait.then(() => meter.add(bytes));
  }

  /** The CDN limit a download of `priority` is under now (0 = unlimited). */
  cdnLimit(priority: Priority): { bytesPerSec: number; paused: boolean } {
    const limiter = priority === 'foreground' ? this.foreground : this.background;
    return { bytesPerSec: limiter.bytesPerSec, paused: limiter.isPaused };
  }

  // ---- status

  limits(): BandwidthLimits {
    this.rollWindow(this.clock.now());
    return this.computeLimits();
  }

  status(): BandwidthStatus {
    const counts = this.counts();
    return {
      limits: this.limits(),
      uploadsAllowed: this.uploadsAllowed(),
      uploadsBlockedReason: this.uploadsBlockedReason,
      uploadBps: this.uploadMeter.rate(),
      foregroundCdnBps: this.foregroundMeter.rate(),
      backgroundCdnBps: this.backgroundMeter.rate(),
      foregroundDownloads: counts.foreground,
      backgroundDownloads: counts.background,
      throttledTakes: this.upload.queuedTakes + this.foreground.queuedTakes + this.background.queuedTakes,
    };
  }

  /** Rejects every waiting take (kind 'aborted'). */
  close(): void {
    this.upload.close();
    this.foreground.close();
    this.background.close();
  }

  private counts(): { foreground: number; background: number } {
    let foreground = 0;
    let background = 0;
    for (const e of this.active) {
      if (e.priority === 'foreground') foreground++;
      else background++;
    }
    return { foreground, background };
  }

  private computeLimits(): BandwidthLimits {
    const c = this.config;
    const share = c.maxUploadShareOfCapacity;
    const shareCap = share > 0 && share < 1 && this.capacity > 0 ? share * this.capacity : 0;
    const { foreground, background } = this.counts();
    const backgroundYielding = foreground > 0 && background > 0;
    let backgroundCdn = c.maxBackgroundCdnBytesPerSec;
    let backgroundCdnPaused = false;
    if (backgroundYielding) {
      const keep = c.minBackgroundBytesPerSec * background;
      if (keep <= 0) backgroundCdnPaused = true;
      else backgroundCdn = minLimit(backgroundCdn, keep);
    }
    return {
      upload: minLimit(c.maxUploadBytesPerSec, shareCap),
      uploadCapacity: this.capacity,
      foregroundCdn: Math.max(0, c.maxForegroundCdnBytesPerSec),
      backgroundCdn: Math.max(0, backgroundCdn),
      backgroundCdnPaused,
      backgroundYielding,
    };
  }

  /** Puts the limits in effect into the buckets. */
  private apply(): void {
    const limits = this.computeLimits();
    if (this.upload.bytesPerSec !== limits.upload) this.upload.setRate(limits.upload);
    if (this.foreground.bytesPerSec !== limits.foregroundCdn) this.foreground.setRate(limits.foregroundCdn);
    if (this.background.bytesPerSec !== limits.backgroundCdn) this.background.setRate(limits.backgroundCdn);
    this.background.setPaused(limits.backgroundCdnPaused);
  }

  private uploadsMayHaveChanged(wasAllowed: boolean): void {
    const allowed = this.uploadsAllowed();
    if (allowed !== wasAllowed) this.events.emit('uploads', { allowed, reason: this.uploadsBlockedReason });
  }

  private countUpload(bytes: number, waited: boolean): void {
    const now = this.clock.now();
    this.rollWindow(now);
    if (waited) this.windowThrottled = true;
    this.windowBytes += bytes;
    this.uploadMeter.add(bytes);
  }

  /**
   * Closes the capacity window when its second is over. Only a window in which no take waited
   * counts: one held back by a cap measures the cap, not the link, and would ratchet a share
   * cap down.
   */
  private rollWindow(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.windowSecond) return;
    if (this.windowSecond >= 0 && !this.windowThrottled && this.windowBytes > this.capacity) {
      this.capacity = this.windowBytes;
      this.windowSecond = second;
      this.windowBytes = 0;
      this.windowThrottled = this.upload.waiting > 0;
      this.apply();
      return;
    }
    this.windowSecond = second;
    this.windowBytes = 0;
    this.windowThrottled = this.upload.waiting > 0;
  }
}

/**
 * The bandwidth controls of one client (see Bandwidth), from its config: a whole ClientConfig,
 * or only some settings (the rest take their defaults). Create one per client and pass it to
 * every Download (`DownloadOptions.bandwidth`).
 */
export function createBandwidth(config: Partial<ClientConfig> = {}, clock: Clock = systemClock): Bandwidth {
  // The constructor keeps only the bandwidth settings.
  return new Bandwidth(resolveConfig(config), clock);
}

/** The lower of two limits where 0 means unlimited. */
function minLimit(a: number, b: number): number {
  const x = a > 0 ? a : 0;
  const y = b > 0 ? b : 0;
  if (x === 0) return y;
  if (y === 0) return x;
  return Math.min(x, y);
}
