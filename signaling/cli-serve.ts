/**
 * `tabswarm serve` (and `npm start`): a demo file published if the content directory is empty,
 * then the server, until SIGINT or SIGTERM. Prints where to open the app and the links of the
 * published content. The configuration comes from cli.ts (flags over `TABSWARM_*` variables).
 */
import { resolve } from 'node:path';
import type { ServerConfig } from './config.js';
import { publishDemoVideo } from './demo-video.js';
import { ensureDemoContent } from './content-store.js';
import type { Logger } from 'pino';
import { createServer } from './server.js';
import { bindsAllInterfaces, lanAddresses } from './tls.js';

/** URLs a person can open: localhost, plus LAN addresses when bound to every interface. */
function openUrls(host: string, port: number, scheme: 'http' | 'https'): string[] {
  if (!bindsAllInterfaces(host)) return [`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`];
  return [`${scheme}://localhost:${port}/`, ...lanAddresses()
    .filter((a) => !a.includes(':'))
    .map((a) => `${scheme}://${a}:${port}/`)];
}

/** Starts the server; resolves once it listens (it runs until a signal), rejects with TlsError or UwsUnavailableError for a start that cannot be. */
export async function runServe(config: ServerConfig, logger: Logger): Promise<void> {
  const demo = await ensureDemoContent(config.contentDir, config.demoSize, logger.child({ component: 'demo' }));
  // A first start (the demo file was just published): a demo video too, where ffmpeg is installed.
  if (demo) await publishDemoVideo(config.contentDir, logger.child({ component: 'demo' }));
  const server = await createServer(config, { logger });

  const scheme = server.tls ? 'https' : 'http';
  const [localUrl = `${server.url}/`, ...lanUrls] = openUrls(config.host, server.port, scheme);
  const tlsLines = server.tls
    ? [
        `    HTTPS:    ${server.tls.source === 'auto' ? 'a self-signed certificate made for this machine' : 'your certificate'} (${server.tls.certPath})`,
        `              SHA-256 fingerprint ${server.tls.fingerprint256}`,
        ...(server.tls.source === 'auto'
          ? [
              `              Each device warns once: choose "Advanced", then "Proceed" (compare the fingerprint if you like).`,
              `              The certificate is kept, so devices stay accepted across restarts.`,
            ]
          : []),
      ]
    : lanUrls.length > 0
      ? [`    note:     over plain HTTP, only localhost pages can check files; for other devices start with TABSWARM_TLS=auto`]
      : [];
  const catalog = server.contents.list();
  const lines = [
    '',
    `  tabswarm is running`,
    `    open:     ${localUrl}`,
    ...lanUrls.map((u) => `    on LAN:   ${u}`),
    `    share:    ${(lanUrls[0] ?? localUrl)}share.html   (share a file with a class: link, QR code, join code)`,
    ...tlsLines,
    `    content:  ${resolve(config.contentDir)} (${catalog.length} published)`,
    ...catalog.slice(0, 10).map((c) => `    ${c.name} (${c.fileSize} bytes)\n      content ID: ${c.contentId}\n      link:       ${localUrl}#c=${c.contentId}`),
    ...(catalog.length > 10 ? [`    ... and ${catalog.length - 10} more at ${localUrl}api/catalog`] : []),
    catalog.length === 0 ? '    publish a file with: tabswarm publish <file>  (from a clone: npm run publish-content -- <file>)' : '',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.exit(1); // a second signal: stop now
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
