import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The benchmark pages (bench/pages), built apart from the app into dist/bench and served
 * statically by bench/static-server.ts:
 *   hash.html  the client's SHA-256 worker pool (src/workers/hasher-pool.ts) on 1 MiB buffers
 *   raw.html   a bare RTCDataChannel, the ceiling tab-to-tab transfer is measured against
 * Build: `vite build -c bench/vite.config.ts` (npm run bench does it).
 */
const pages = fileURLToPath(new URL('./pages/', import.meta.url));

export default defineConfig({
  root: pages,
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: resolve(pages, '../../dist/bench'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rollupOptions: { input: { hash: resolve(pages, 'hash.html'), raw: resolve(pages, 'raw.html') } },
  },
  worker: { format: 'es' },
});
