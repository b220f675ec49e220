import { describe, expect, it } from 'vitest';
import { PRIVATE_LAN_KEY, addressBucketOf, ipv6Groups, lanKeyOf, remoteAddressOf } from '../../signaling/lan-key.js';

describe('lanKeyOf', () => {
  it('puts loopback, private and link-local addresses in one LAN', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '10.213.0.1', '172.16.0.1', '172.31.255.254', '192.168.0.5', '169.254.3.4', '::1', 'fc00::1', 'fd12:3456::9', 'fe80::1', 'fe80::1%eth0', 'febf::2', '::ffff:10.0.0.1', '::ffff:127.0.0.1']) {
      expect(lanKeyOf(a), a).toBe(PRIVATE_LAN_KEY);
    }
  });

  it('keys a public IPv4 address by itself, IPv4-mapped IPv6 included', () => {
    expect(lanKeyOf('203.0.113.7')).toBe('v4:203.0.113.7');
    expect(lanKeyOf('::ffff:203.0.113.7')).toBe('v4:203.0.113.7');
    expect(lanKeyOf('::FFFF:cb00:7107')).toBe('v4:203.0.113.7');
    expect(lanKeyOf('203.0.113.8')).not.toBe(lanKeyOf('203.0.113.7'));
    // Just outside the private ranges.
    for (const a of ['172.15.0.1', '172.32.0.1', '192.169.0.1', '11.0.0.1', '169.253.0.1']) expect(lanKeyOf(a), a).toBe(`v4:${a}`);
  });

  it('groups public IPv6 addresses by /64', () => {
    expect(lanKeyOf('2001:db8:1:2::5')).toBe('v6:2001:db8:1:2::/64');
    expect(lanKeyOf('2001:0db8:0001:0002:ffff:1:2:3')).toBe('v6:2001:db8:1:2::/64');
    expect(lanKeyOf('2001:db8:1:3::5')).not.toBe(lanKeyOf('2001:db8:1:2::5'));
    expect(lanKeyOf('2001:db8::')).toBe('v6:2001:db8:0:0::/64');
    expect(lanKeyOf('fbff::1')).toBe('v6:fbff:0:0:0::/64');
    expect(lanKeyOf('fec0::1')).toBe('v6:fec0:0:0:0::/64');
  });

  it('gives unparsable text a key of its own', () => {
    expect(lanKeyOf('')).toBe('raw:');
    expect(lanKeyOf('not an address')).toBe('raw:not an address');
    expect(lanKeyOf('300.1.1.1')).toBe('raw:300.1.1.1');
  });

  it('expands IPv6 text to eight groups', () => {
    expect(ipv6Groups('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('::1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0, 0x102, 0x304]);
    expect(ipv6Groups('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ipv6Groups('1.2.3.4')).toBeUndefined();
    expect(ipv6Groups('1:::2')).toBeUndefined();
  });
});

describe('addressBucketOf and remoteAddressOf', () => {
  it('counts IPv4 by address (mapped unwrapped) and IPv6 by /64; private addresses stay apart', () => {
    expect(addressBucketOf('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressBucketOf('10.0.0.1')).not.toBe(addressBucketOf('10.0.0.2'));
    expect(addressBucketOf('2001:db8:1:2::5')).toBe(addressBucketOf('2001:db8:1:2::6'));
  });

  it('honours X-Forwarded-For only behind a trusted proxy, taking the entry the proxy appended', () => {
    const req = { socket: { remoteAddress: '10.0.0.1' }, headers: { 'x-forwarded-for': '1.1.1.1, 203.0.113.9' } };
    expect(remoteAddressOf(req, false)).toBe('10.0.0.1');
    expect(remoteAddressOf(req, true)).toBe('203.0.113.9');
    expect(remoteAddressOf({ socket: { remoteAddress: '10.0.0.1' }, headers: {} }, true)).toBe('10.0.0.1');
  });
});
