/**
 * Sizes and rates as people type them: `256MiB`, `64 MB`, `1.5GiB`, `8MB/s`, `unlimited`.
 * Binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (kB, MB, GB, TB) of 1000;
 * a bare number is bytes. The prefix's case does not matter (kB, KB, mIB), but the final B
 * must be upper case: `8Mb` reads as megabits to many, and a byte count should not be a guess.
 */

export const MiB = 1024 * 1024;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export class UnitError extends Error {
  override name = 'UnitError';
}

const SIZE_EXAMPLES = 'e.g. 256MiB, 64MB, 1.5GiB or 1048576 (bytes)';
const RATE_EXAMPLES = 'e.g. 8MB/s, 4MiB/s, 500kB/s, or 0 / unlimited for no cap';

function bytesOf(text: string, what: string, examples: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) throw new UnitError(`${what}: "${text}" is not a number with a unit (${examples})`);
  const [, num, rawUnit = ''] = m;
  if (rawUnit.endsWith('b')) {
    // 'Mb', 'mb', 'b': bits or bytes? Say which we take.
    const prefix = rawUnit.slice(0, -1).toLowerCase();
    const asBytes = prefix === '' ? 'B' : prefix === 'k' ? 'kB' : prefix.endsWith('i') ? `${prefix[0]!.toUpperCase()}iB` : `${prefix.toUpperCase()}B`;
    throw new UnitError(`${what}: "${text}": a lower-case b reads as bits; write ${asBytes} for bytes (${examples})`);
  }
  const factor = UNITS[rawUnit.toLowerCase()];
  if (factor === undefined) throw new UnitError(`${what}: unknown unit "${rawUnit}" in "${text}" (units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB; ${examples})`);
  const bytes = Number(num) * factor;
  if (!Number.isFinite(bytes) || !Number.isSafeInteger(Math.round(bytes))) throw new UnitError(`${what}: "${text}" is too large`);
  if (Math.abs(bytes - Math.round(bytes)) > 1e-6 * Math.max(1, bytes)) throw new UnitError(`${what}: "${text}" is not a whole number of bytes`);
  return Math.round(bytes);
}

/** A whole number for the command-line option `--name`, from `min` to `max`. */
export function parseWhole(text: string, name: string, min: number, max: number): number {
  if (!/^\s*-?\d+\s*$/.test(text)) throw new UnitError(`--${name}: "${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new UnitError(`--${name}: ${n} is out of range (${min} to ${max})`);
  return n;
}

/** Bytes in a size such as `256MiB`; must be at least 1 byte. */
export function parseSize(text: string, what = 'size'): number {
  const bytes = bytesOf(text, what, SIZE_EXAMPLES);
  if (bytes < 1) throw new UnitError(`${what}: "${text}" must be at least 1 byte`);
  return bytes;
}

/** Bytes per second in a rate such as `8MB/s` (`/s` optional); 0 for `0`, `unlimited`, `off` or `none` (no cap). */
export function parseRate(text: string, what = 'rate'): number {
  const t = text.trim();
  if (/^(unlimited|off|none)$/i.test(t)) return 0;
  const m = /^(.*?)\s*(?:\/\s*s|ps)?$/i.exec(t);
  const body = m?.[1] ?? t;
  if (body === '') throw new UnitError(`${what}: "${text}" is not a rate (${RATE_EXAMPLES})`);
  return bytesOf(body, what, RATE_EXAMPLES);
}

/** `12.3 MiB` (bytes in MiB, one decimal). */
export function formatMiB(bytes: number, digits = 1): string {
  return `${(bytes / MiB).toFixed(digits)} MiB`;
}

/** `8.4 MB/s` (decimal megabytes per second, as the CDN cap is usually given). */
export function formatMBps(bytesPerSec: number): string {
  return `${(bytesPerSec / 1e6).toFixed(1)} MB/s`;
}

/** A size for a heading: whole MiB or GiB when exact, else MiB with decimals. */
export function formatSize(bytes: number): string {
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return formatMiB(bytes, 2);
}
