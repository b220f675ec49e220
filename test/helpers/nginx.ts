/**
 * A real nginx for a test, with the documented site configuration (docs/deploy/nginx-tabswarm.conf)
 * rendered for it: its own ports, a self-signed certificate, and the tabswarm server's port.
 * Everything nginx writes (pid, logs, temporary files) is in a temporary directory removed by
 * `stop()`; nginx runs in the foreground (`daemon off`) as a child process stopped by its pid.
 * Without nginx installed, `startNginx` throws (the test fails, it does not skip).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate as selfSigned } from 'selfsigned';
import { renderConfig, requireBinary, ServiceProcess } from './service-process.js';

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
export const NGINX_SITE_CONFIG = 'docs/deploy/nginx-tabswarm.conf';
export const NGINX_INSTANCES_CONFIG = 'docs/deploy/nginx-instances.conf';

export interface NginxOptions {
  /** The HTTPS port (the document's 443). */
  httpsPort: number;
  /** The plain-HTTP port (the document's 80), which redirects to HTTPS. */
  httpPort: number;
  /** The tabswarm server's port on 127.0.0.1 (the document's 8080); or `instances`. */
  upstreamPort?: number;
  /**
   * Two instances instead (docs/deploy/nginx-instances.conf): the upstream lists both, and the
   * snippet's per-instance Arrays locations (/i/a/arrays, /i/b/arrays) take each to its own.
   */
  instances?: { a: number; b: number };
}

export interface NginxHandle {
  /** `https://127.0.0.1:<httpsPort>`. */
  url: string;
  dir: string;
  process: ServiceProcess;
  /** The access log so far: one line per request, `<client address> "<request>" <status> xff="<header as received>"`. */
  accessLog(): Promise<string>;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1, localhost and the given addresses (one day). */
async function writeCertificate(dir: string, addresses: string[]): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await selfSigned([{ name: 'commonName', value: 'tabswarm deploy test' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2 as const, value: 'localhost' }, ...['127.0.0.1', ...addresses].map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await writeFile(cert, pems.cert);
  await writeFile(key, pems.private, { mode: 0o600 });
  return { cert, key };
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function startNginx(options: NginxOptions, certAddresses: string[] = []): Promise<NginxHandle> {
  requireBinary(NGINX, ['-v'], 'nginx');
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-nginx-'));
  try {
    const { cert, key } = await writeCertificate(dir, certAddresses);
    const { instances } = options;
    const upstreams = instances ? [instances.a, instances.b] : [options.upstreamPort];
    if (upstreams.some((p) => p === undefined)) throw new Error('startNginx: give upstreamPort or instances');
    const site = await renderConfig(NGINX_SITE_CONFIG, [
      { from: 'listen 443 ssl http2;', to: `listen ${options.httpsPort} ssl http2;`, count: 1 },
      { from: 'listen 80;', to: `listen ${options.httpPort};`, count: 1 },
      { from: 'server 127.0.0.1:8080;', to: upstreams.map((p) => `server 127.0.0.1:${p!};`).join('\n    '), count: 1 },
      { from: '/etc/letsencrypt/live/swarm.example.com/fullchain.pem', to: cert, count: 1 },
      { from: '/etc/letsencrypt/live/swarm.example.com/privkey.pem', to: key, count: 1 },
      ...(instances ? [{ from: '    location = /arrays {', to: `    include ${dir}/instances.conf;\n\n    location = /arrays {`, count: 1 }] : []),
    ]);
    if (instances) {
      const snippet = await renderConfig(NGINX_INSTANCES_CONFIG, [
        { from: 'proxy_pass http://127.0.0.1:8081/arrays;', to: `proxy_pass http://127.0.0.1:${instances.a}/arrays;`, count: 1 },
        { from: 'proxy_pass http://127.0.0.1:8082/arrays;', to: `proxy_pass http://127.0.0.1:${instances.b}/arrays;`, count: 1 },
      ]);
      await writeFile(join(dir, 'instances.conf'), snippet);
    }
    await writeFile(join(dir, 'tabswarm.conf'), site);
    // The main context a distribution's /etc/nginx/nginx.conf provides, with every path in `dir`.
    // As root the workers would switch to nobody, who cannot write in `dir`: they stay root.
    const main = [
      'daemon off;',
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 512; }',
      'http {',
      `  log_format tabswarm_test '$remote_addr "$request" $status xff="$http_x_forwarded_for"';`,
      `  access_log ${dir}/access.log tabswarm_test;`,
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      `  include ${dir}/tabswarm.conf;`,
      '}',
      '',
    ].join('\n');
    await writeFile(join(dir, 'nginx.conf'), main);
    const test = ServiceProcess.spawn('nginx -t', NGINX, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
    if ((await test.exited) !== 0) throw new Error(`nginx refuses the rendered configuration:\n${test.output}\n${site}`);
    const proc = ServiceProcess.spawn('nginx', NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
    const read = (name: string) => readFile(join(dir, name), 'utf8').catch(() => '');
    await proc.waitReady(async () => (await accepts(options.httpsPort)) && (await accepts(options.httpPort)), 10_000, () => read('error.log'));
    return {
      url: `https://127.0.0.1:${options.httpsPort}`,
      dir,
      process: proc,
      accessLog: () => read('access.log'),
      errorLog: () => read('error.log'),
      async stop() {
        await proc.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
