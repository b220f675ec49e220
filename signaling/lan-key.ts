/**
 * Which "LAN" a remote address belongs to, for DO's LAN mode (peers behind the same public
 * address). Browsers hide their private addresses (mDNS host candidates), so the server can
 * only group by the address it sees:
 * - a public IPv4 address is its own LAN (`v4:<address>`);
 * - a public IPv6 address is grouped by its /64 (`v6:<first four groups>::/64`), since one
 *   site gets a /64 and its hosts rotate addresses inside it;
 * - an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is read as the IPv4 address;
 * - loopback (127/8, ::1), private and link-local addresses (10/8, 172.16/12, 192.168/16,
 *   169.254/16, fc00::/7, fe80::/10) are all ONE LAN, `private`: a server reached over them
 *   is on the same network as its clients (a school, an office, a test machine), the way
 *   classroom sharing tools put every private address of one server in one room;
 * - anything unparsable gets a key of its own (`raw:<text>`), so it never joins another LAN.
 * Pure functions, no I/O.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const PRIVATE_LAN_KEY = 'private';

/** The four bytes of a dotted IPv4 address, or undefined. */
function ipv4Bytes(address: string): number[] | undefined {
  if (!isIPv4(address)) return undefined;
  return address.split('.').map(Number);
}

/** The eight 16-bit groups of an IPv6 address (zone ID dropped, embedded IPv4 expanded), or undefined. */
export function ipv6Groups(address: string): number[] | undefined {
  const bare = address.split('%')[0] ?? '';
  if (!isIPv6(bare)) return undefined;
  let text = bare.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Bytes(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function isPrivateV4([a, b]: number[]): boolean {
  return (
    a === 127 || a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
  );
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 bytes. */
function mappedV4(groups: number[]): number[] | undefined {
  if (groups.slice(0, 5).some((g) => g !== 0) || groups[5] !== 0xffff) return undefined;
  return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff];
}

function isPrivateV6(groups: number[]): boolean {
  const first = groups[0]!;
  const loopback = groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
  return loopback || (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}

/** The LAN key of a remote address (see the module comment). */
export function lanKeyOf(address: string): string {
  const trimmed = address.trim();
  let v4 = ipv4Bytes(trimmed);
  const v6 = v4 === undefined ? ipv6Groups(trimmed) : undefined;
  if (v6 !== undefined) v4 = mappedV4(v6);
  if (v4 !== undefined) return isPrivateV4(v4) ? PRIVATE_LAN_KEY : `v4:${v4.join('.')}`;
  if (v6 !== undefined) {
    if (isPrivateV6(v6)) return PRIVATE_LAN_KEY;
    return `v6:${v6
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`;
  }
  return `raw:${trimmed.slice(0, 64)}`;
}

/**
 * The key under which sockets are counted against the per-address cap: the IPv4 address
 * (mapped ones unwrapped), or the IPv6 /64 (a host can take any address of its /64).
 * Unlike `lanKeyOf`, private addresses are NOT merged: each is its own bucket.
 */
export function addressBucketOf(address: string): string {
  const trimmed = address.trim();
  const v6 = ipv4Bytes(trimmed) === undefined ? ipv6Groups(trimmed) : undefined;
  const v4 = v6 === undefined ? ipv4Bytes(trimmed) : mappedV4(v6);
  if (v4 !== undefined) return v4.join('.');
  if (v6 !== undefined) {
    return `${v6
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`;
  }
  return trimmed.slice(0, 64);
}

/** The last entry of a comma-separated forwarding header (the one our trusted proxy added). */
export function lastForwarded(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value.join(',') : value;
  const last = raw?.split(',').pop()?.trim();
  return last === undefined || last === '' ? undefined : last;
}

/**
 * The client address of an upgrade request: the socket's peer, or, only when the server is
 * configured to sit behind a trusted reverse proxy, the last `X-Forwarded-For` entry (the one
 * that proxy appended; earlier entries are whatever the client claimed).
 */
export function remoteAddressOf(req: { socket: { remoteAddress?: string }; headers: Record<string, string | string[] | undefined> }, trustProxy: boolean): string {
  if (trustProxy) {
    const last = lastForwarded(req.headers['x-forwarded-for']);
    if (last) return last;
  }
  return req.socket.remoteAddress ?? '';
}
