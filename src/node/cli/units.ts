/** Numbers on the command line: sizes and rates with an optional K, M, G or T (powers of 1024), and counts. */

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `0`, `512K`, `1.5G`, `100MiB`, `20MB` (MB is taken as MiB): bytes. Throws with `what` named. */
export function parseBytes(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`${what} must be a size like 0, 512K, 20M or 1.5G, got "${text}"`);
  return bytes;
}

/** A whole number from 1 to 100 000. */
export function parseCount(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 100_000) throw new Error(`${what} must be a whole number from 1 to 100000, got "${text}"`);
  return n;
}
