/**
 * The run command (`npm run serve`, `npm start`): configuration from TABSWARM_* variables,
 * a demo file published if the content directory is empty, then the server, until SIGINT or
 * SIGTERM. Prints where to open the app and the links of the published content.
 */
import { resolve } from 'node:path';
import { ConfigError, resolveConfig } from './config.js';
import { configFromEnv } from './config-env.js';
import { publishDemoVideo } from './demo-video.js';
import { ensureDemoContent } from './content-store.js';
import { createLogger } from './logger.js';
import { createServer } from './server.js';
import { bindsAllInterfaces, lanAddresses, TlsError } from './tls.js';

/** URLs a person can open: localhost, plus LAN addresses when bound to every interface. */
function openUrls(host: string, port: number, scheme: 'http' | 'https'): string[] {
  if (!bindsAllInterfaces(host)) return [`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`];
  return [`${scheme}://localhost:${port}/`, ...lanAddresses()
    .filter((a) => !a.includes(':'))
    .map((a) => `${scheme}://${a}:${port}/`)];
}

async function main(): Promise<void> {
  let config;
  try {
    config = resolveConfig(configFromEnv());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tabswarm: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const demo = await ensureDemoContent(config.contentDir, config.demoSize, logger.child({ component: 'demo' }));
  // A first start (the demo file was just published): a demo video too, where ffmpeg is installed.
  if (demo) await publishDemoVideo(config.contentDir, logger.child({ component: 'demo' }));
  let server;
  try {
    server = await createServer(config, { logger });
  } catch (err) {
    if (err instanceof TlsError) {
      process.stderr.write(`tabswarm: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

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
    catalog.length === 0 ? '    publish a file with: npm run publish -- <file>' : '',
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

main().catch((err: unknown) => {
  process.stderr.write(`tabswarm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
