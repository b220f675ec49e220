/**
 * The server's static files: the web app from `appDir` (single-page), the built library under
 * /lib/ and its example pages under /examples/ (as a site embedding tabswarm would serve them),
 * or a note to build the app. Always sent whole: no Range reaches sirv.
 */
import { existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import sirv from 'sirv';
import type { ServerConfig } from './config.js';
import { sendText } from './http-util.js';

/** The Arrays service's path: a plain GET of it is told to upgrade. */
const ARRAYS_PATH = '/arrays';

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

export function createStaticFiles(config: Pick<ServerConfig, 'appDir' | 'libDir' | 'examplesDir'>, logger: Logger): (req: IncomingMessage, res: ServerResponse, pathname: string) => void {
  const serveApp = isDirectory(config.appDir)
    ? sirv(config.appDir, {
        single: true,
        // Look files up on each request: with the cached list, a file removed under a running
        // server (a rebuild, a deploy) made sirv stream a missing file, whose unhandled error
        // killed the process. The price: assets are revalidated by ETag, not cached for a year.
        dev: true,
        etag: true,
        setHeaders(res, pathname) {
          // Vite puts content-hashed files under /assets/; everything else may change.
          res.setHeader('Cache-Control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      })
    : undefined;
  if (serveApp === undefined) logger.warn({ appDir: config.appDir }, 'web app not built: run `npm run build`');
  // The library and its examples, as a site embedding tabswarm would serve them.
  const files = (dir: string) => (isDirectory(dir) ? sirv(dir, { dev: true, etag: true }) : undefined);
  const serveLib = files(config.libDir);
  const serveExamples = files(config.examplesDir);

  return function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    // Static files are the app's assets, the library and its examples: small, and always
    // sent whole. sirv's Range handling mis-serves suffix ranges (`bytes=-5` gave the first 6
    // bytes) and throws on reversed or huge ones, so no range reaches it.
    delete req.headers.range;
    delete req.headers['if-range'];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(req, res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    } else if (pathname === ARRAYS_PATH) {
      sendText(req, res, 426, 'the Arrays service speaks WebSocket\n', { Upgrade: 'websocket' });
    } else if (pathname.startsWith('/lib/') || pathname.startsWith('/examples/')) {
      const lib = pathname.startsWith('/lib/');
      const serve = lib ? serveLib : serveExamples;
      const prefix = lib ? '/lib' : '/examples';
      if (serve === undefined) return sendText(req, res, 404, lib ? 'the library is not built: run `npm run build`\n' : 'no examples here\n');
      req.url = (req.url ?? '/').slice(prefix.length) || '/';
      // The library's Service Worker may control pages outside /lib/ (the examples, a site's own pages).
      if (lib && pathname === '/lib/tabswarm-sw.js') res.setHeader('Service-Worker-Allowed', '/');
      serve(req, res, () => sendText(req, res, 404, 'not found\n'));
    } else if (serveApp !== undefined) {
      serveApp(req, res, () => sendText(req, res, 404, 'not found\n'));
    } else {
      const note = `tabswarm server is running, but the web app is not built.\nRun \`npm run build\` (or \`npm start\`, which builds and serves).\nAPI: /api/catalog\n`;
      sendText(req, res, pathname === '/' ? 200 : 404, note);
    }
  };
}
