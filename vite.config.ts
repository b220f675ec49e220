import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * The web app is built to dist/app and served by the tabswarm server (signaling/).
 * Workers are ES modules so comlink and hash-wasm load in them as in the page.
 * Three pages: the app (index.html), the classroom share page (share.html) and the replay of a
 * recorded swarm simulation (replay.html, issue 18); and the Service Worker that plays
 * contents while they download (src/sw/sw.ts), at /tabswarm-sw.js: a worker serves only the
 * paths under its own, so it is not under /assets/, and its name has no hash (a page
 * registers it by that name).
 */
export default defineConfig({
  root: 'src/ui',
  publicDir: '../../public',
  build: {
    outDir: '../../dist/app',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'src/ui/index.html'),
        share: resolve(import.meta.dirname, 'src/ui/share.html'),
        replay: resolve(import.meta.dirname, 'src/ui/replay.html'),
        sw: resolve(import.meta.dirname, 'src/sw/sw.ts'),
      },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'tabswarm-sw.js' : 'assets/[name]-[hash].js') },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/meta': 'http://127.0.0.1:8080',
      '/cdn': 'http://127.0.0.1:8080',
      '/arrays': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
