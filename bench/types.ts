/**
 * The contract between the benchmark runner (bench/run.ts) and each benchmark module.
 * Benchmarks print ratios against a reference measured in the same run: these machines are
 * noisy, so absolute figures from different runs are not compared.
 */
import type { Browser } from '@playwright/test';

export interface BenchContext {
  /** Headless Chromium, launched by the runner with the flags of playwright.config.ts. */
  browser: Browser;
  /** CI's smoke run: tiny sizes, a few seconds per module, figures meaningless. */
  tiny: boolean;
  /** `--large`: the biggest sizes too (16 GiB in the memory module), which take several minutes more. */
  large?: boolean;
  /** A progress line for the person watching (stderr). */
  log(line: string): void;
}

/** Named numbers: the figures a module reports (keys as in the issue: snake_case). */
export type BenchResult = Record<string, number>;

export type BenchModule = (ctx: BenchContext) => Promise<BenchResult>;
