/**
 * HTTPS for classrooms. A page served over plain HTTP from a LAN address is not a secure
 * context: the browser hides `crypto.subtle`, and tabswarm verifies nothing without it. So the
 * server serves HTTPS on request, on the same port:
 *
 *   - `TABSWARM_TLS_CERT` + `TABSWARM_TLS_KEY`: PEM files the user provides (a real
 *     certificate, or one from the school's CA or mkcert);
 *   - `TABSWARM_TLS=auto`: a self-signed certificate made here (EC P-256, SHA-256, one year)
 *     for `localhost`, this machine's host name, 127.0.0.1, ::1 and every LAN address of its
 *     interfaces. It is kept in `<contentDir>/tls/` (the key readable by its owner only) and
 *     reused while it still covers the machine's addresses and has 30 days left, so its
 *     fingerprint, which devices accepted once, stays the same across restarts.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { generate as selfSigned } from 'selfsigned';
import type { ServerConfig } from './config.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** 'files': the user's PEM files; 'auto': made (or reused) by this server. */
  source: 'files' | 'auto';
  /** SHA-256 fingerprint of the certificate, `AB:CD:…`, for people to compare with the browser's. */
  fingerprint256: string;
  /** The names and addresses the certificate covers (its subjectAltName). */
  altNames: string[];
  validTo: string;
  /** Where the certificate is (the user's file, or the cached auto one). */
  certPath: string;
}

export class TlsError extends Error {
  override name = 'TlsError';
}

/** IPv4 and IPv6 addresses of this machine's non-internal interfaces (no link-local IPv6). */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && /^fe80:/i.test(a.address)) continue;
      out.push(a.address);
    }
  }
  return out;
}

/** Whether a bind address is every interface (then the LAN addresses above reach the server). */
export function bindsAllInterfaces(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** What an automatic certificate must cover: DNS names and IP addresses. */
export function autoCertNames(addresses: string[] = lanAddresses(), host: string = hostname()): { dns: string[]; ips: string[] } {
  const dns = ['localhost'];
  if (/^[A-Za-z0-9-]{1,63}$/.test(host) && host.toLowerCase() !== 'localhost') dns.push(host.toLowerCase(), `${host.toLowerCase()}.local`);
  const ips = ['127.0.0.1', '::1', ...addresses.filter((a) => a !== '127.0.0.1' && a !== '::1')];
  return { dns, ips: [...new Set(ips)] };
}

/** The subjectAltName entries of a certificate as `DNS:x` / `IP Address:y` strings. */
function altNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(', ').filter((s) => s !== '');
}

/** Node prints IPv6 SAN entries expanded and upper-case; compare them by parsed value. */
function normIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname;
  } catch {
    return ip.toLowerCase();
  }
}

function covers(cert: X509Certificate, names: { dns: string[]; ips: string[] }): boolean {
  const alt = altNamesOf(cert);
  const dns = new Set(alt.filter((a) => a.startsWith('DNS:')).map((a) => a.slice(4).toLowerCase()));
  const ips = new Set(alt.filter((a) => a.startsWith('IP Address:')).map((a) => normIp(a.slice(11))));
  return names.dns.every((d) => dns.has(d)) && names.ips.every((ip) => ips.has(normIp(ip)));
}

function describe(cert: X509Certificate, key: string, certPem: string, source: TlsMaterial['source'], certPath: string): TlsMaterial {
  return { cert: certPem, key, source, fingerprint256: cert.fingerprint256, altNames: altNamesOf(cert), validTo: cert.validTo, certPath };
}

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** Makes a self-signed certificate for `names`. */
async function generate(names: { dns: string[]; ips: string[] }): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 365 * 24 * 3600 * 1000);
  const pems = await selfSigned([{ name: 'commonName', value: `tabswarm on ${names.dns[1] ?? 'localhost'}` }, { name: 'organizationName', value: 'tabswarm (self-signed)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** The automatic certificate: the cached one if it still fits, else a new one (cached). */
async function autoMaterial(contentDir: string, logger?: Logger): Promise<TlsMaterial> {
  const dir = join(contentDir, 'tls');
  const certPath = join(dir, 'auto-cert.pem');
  const keyPath = join(dir, 'auto-key.pem');
  const names = autoCertNames();
  try {
    const [certPem, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const cert = new X509Certificate(certPem);
    const fresh = Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS;
    if (fresh && covers(cert, names) && cert.checkPrivateKey(createPrivateKey(key))) {
      return describe(cert, key, certPem, 'auto', certPath);
    }
    logger?.info({ certPath }, 'the cached TLS certificate no longer fits this machine (addresses or expiry): making a new one');
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') logger?.warn({ err: (err as Error).message, certPath }, 'cannot use the cached TLS certificate: making a new one');
  }
  const made = await generate(names);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first, each renamed into place: a reader never sees a certificate without its key.
  for (const [path, text, mode] of [[keyPath, made.key, 0o600], [certPath, made.cert, 0o644]] as const) {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, text, { mode });
    await chmod(tmp, mode);
    await rename(tmp, path);
  }
  const cert = new X509Certificate(made.cert);
  logger?.info({ certPath, fingerprint256: cert.fingerprint256 }, 'made a self-signed TLS certificate');
  return describe(cert, made.key, made.cert, 'auto', certPath);
}

/** The certificate and key to serve HTTPS with, or undefined for plain HTTP. Throws TlsError with a message for people. */
export async function loadTls(config: Pick<ServerConfig, 'tlsAuto' | 'tlsCertFile' | 'tlsKeyFile' | 'contentDir'>, logger?: Logger): Promise<TlsMaterial | undefined> {
  if (config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined) {
    let certPem: string;
    let key: string;
    try {
      [certPem, key] = await Promise.all([readFile(config.tlsCertFile, 'utf8'), readFile(config.tlsKeyFile, 'utf8')]);
    } catch (err) {
      throw new TlsError(`cannot read the TLS certificate or key (TABSWARM_TLS_CERT, TABSWARM_TLS_KEY): ${(err as Error).message}`);
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certPem);
    } catch (err) {
      throw new TlsError(`TABSWARM_TLS_CERT (${config.tlsCertFile}) is not a PEM certificate: ${(err as Error).message}`);
    }
    try {
      if (!cert.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
    } catch (err) {
      throw new TlsError(`TABSWARM_TLS_KEY (${config.tlsKeyFile}) does not fit TABSWARM_TLS_CERT: ${(err as Error).message}`);
    }
    return describe(cert, key, certPem, 'files', config.tlsCertFile);
  }
  if (config.tlsAuto) return autoMaterial(config.contentDir, logger);
  return undefined;
}
