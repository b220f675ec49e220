/**
 * `npm run swarm`'s command line: sizes and rates as people type them, and clear errors for
 * what they mistype.
 */
import { describe, expect, it } from 'vitest';
import { ArgsError, parseSwarmArgs } from '../../../swarm/args.js';
import { parseRate, parseSize, UnitError } from '../../../swarm/units.js';

const MiB = 1024 * 1024;

describe('parseSize', () => {
  it.each([
    ['256MiB', 256 * MiB],
    ['256 MiB', 256 * MiB],
    ['256MIB', 256 * MiB],
    ['256mIB', 256 * MiB],
    ['1GiB', 1024 * MiB],
    ['1.5GiB', 1536 * MiB],
    ['64KiB', 64 * 1024],
    ['12MB', 12_000_000],
    ['500kB', 500_000],
    ['500KB', 500_000],
    ['2GB', 2e9],
    ['1048576', MiB],
    ['100B', 100],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['', /not a number with a unit/],
    ['MiB', /not a number with a unit/],
    ['-5MiB', /not a number with a unit/],
    ['12 furlongs', /unknown unit "furlongs"/],
    ['256M', /unknown unit "M"/],
    ['8Mb', /lower-case b reads as bits; write MB/],
    ['8mb', /lower-case b reads as bits; write MB/],
    ['256Mib', /lower-case b reads as bits; write MiB/],
    ['5kb', /write kB/],
    ['5b', /write B/],
    ['0', /at least 1 byte/],
    ['0.5B', /not a whole number of bytes/],
    ['1e3MiB', /not a number with a unit|unknown unit/],
    ['9999999TiB', /too large/],
  ])('%j is refused (%s)', (text, message) => {
    expect(() => parseSize(text, '--size')).toThrow(UnitError);
    expect(() => parseSize(text, '--size')).toThrow(message);
  });

  it('names the option in its message', () => {
    expect(() => parseSize('lots', '--size')).toThrow(/^--size: "lots"/);
  });
});

describe('parseRate', () => {
  it.each([
    ['8MB/s', 8e6],
    ['8 MB/s', 8e6],
    ['8MB / s', 8e6],
    ['4MiB/s', 4 * MiB],
    ['500kB/s', 500_000],
    ['8MBps', 8e6],
    ['8MB', 8e6],
    ['1000000', 1e6],
    ['0', 0],
    ['unlimited', 0],
    ['off', 0],
    ['None', 0],
  ])('%s is %d bytes per second', (text, bps) => {
    expect(parseRate(text)).toBe(bps);
  });

  it.each([
    ['/s', /not a rate/],
    ['fast', /not a number with a unit/],
    ['8Mb/s', /bits; write MB/],
    ['8MB/min', /not a number with a unit|unknown unit/],
  ])('%j is refused (%s)', (text, message) => {
    expect(() => parseRate(text, '--cdn-rate')).toThrow(message);
  });
});

describe('parseSwarmArgs', () => {
  it('has the issue example as its defaults', () => {
    expect(parseSwarmArgs([])).toMatchObject({ peers: 8, size: 256 * MiB, cdnRate: 0, liars: 0, json: false, timeoutSec: 600 });
  });

  it('reads the issue example', () => {
    const o = parseSwarmArgs(['--peers', '8', '--size', '256MiB', '--cdn-rate', '8MB/s', '--liars', '1', '--json']);
    expect(o).toMatchObject({ peers: 8, size: 256 * MiB, cdnRate: 8e6, liars: 1, json: true });
  });

  it('accepts --opt=value', () => {
    expect(parseSwarmArgs(['--peers=3', '--size=12MiB', '--timeout=60'])).toMatchObject({ peers: 3, size: 12 * MiB, timeoutSec: 60 });
  });

  it.each([
    [['--peers', '0'], /--peers: 0 is out of range \(1 to 32\)/],
    [['--peers', 'many'], /--peers: "many" is not a whole number/],
    [['--peers', '2.5'], /not a whole number/],
    [['--liars=-1'], /--liars: -1 is out of range/],
    [['--size', '8Mb'], /--size: "8Mb": a lower-case b reads as bits/],
    [['--cdn-rate', 'quick'], /--cdn-rate: "quick"/],
    [['--timeout', '0'], /--timeout: 0 is out of range/],
    [['--bogus'], /bogus/],
    [['--peers'], /--peers/],
    [['extra'], /extra/],
  ])('%j is refused with a clear message', (argv, message) => {
    expect(() => parseSwarmArgs(argv)).toThrow(ArgsError);
    expect(() => parseSwarmArgs(argv)).toThrow(message);
  });
});
