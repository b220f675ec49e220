/**
 * Who may read the operator's views (`/metrics`, `/api/swarms`): they list every swarm's
 * content ID, unlisted classroom shares included, so they are not public.
 * - With `metricsToken` set: a request with `Authorization: Bearer <token>` (compared in
 *   constant time), from anywhere; others get 401 with `WWW-Authenticate: Bearer`, as a
 *   Prometheus scraper configured with a token expects.
 * - Without it: only a client on this machine, by its socket address (127/8, ::1, an
 *   IPv4-mapped loopback address), and never behind a trusted proxy (then every request comes
 *   from the proxy's address, so "loopback" would mean everyone); others get 404, as if the
 *   path did not exist.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerConfig } from './config.js';
import { sendText } from './http-util.js';

export type OperatorAccessConfig = Pick<ServerConfig, 'metricsToken' | 'trustProxy'>;

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase();
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** Compares digests, so neither the length nor a prefix of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const d = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(d(given), d(expected));
}

export function operatorAllowed(req: IncomingMessage, config: OperatorAccessConfig): boolean {
  if (config.metricsToken !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return m !== null && sameSecret(m[1]!, config.metricsToken);
  }
  return !config.trustProxy && isLoopbackAddress(req.socket.remoteAddress);
}

/** Answers a request that is not the operator's (401 or 404) and returns true; false lets it through. */
export function refusedNonOperator(req: IncomingMessage, res: ServerResponse, config: OperatorAccessConfig): boolean {
  if (operatorAllowed(req, config)) return false;
  if (config.metricsToken !== undefined) sendText(req, res, 401, 'a bearer token is needed\n', { 'WWW-Authenticate': 'Bearer' });
  else sendText(req, res, 404, 'not found\n');
  return true;
}
