/**
 * Builds the piece cache's test page (test/e2e/cache-page) with Vite into dist/cache-test and
 * serves it on 127.0.0.1 port 0 (a secure context: IndexedDB, workers and crypto.subtle as in
 * the app). Built apart from the app so that the app's build and page stay untouched.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { build } from 'vite';

const root = fileURLToPath(new URL('./cache-page/', import.meta.url));
const outDir = fileURLToPath(new URL('../../dist/cache-test/', import.meta.url));

export async function startCachePage(): Promise<{ url: string; close(): Promise<void> }> {
  await build({
    configFile: false,
    root,
    publicDir: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false },
    worker: { format: 'es' },
  });
  const serve = sirv(outDir, { dev: true });
  const server = createServer((req, res) =>
    serve(req, res, () => {
      res.statusCode = 404;
      res.end();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/index.html`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
