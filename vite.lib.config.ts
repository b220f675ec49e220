import { defineConfig } from 'vite';

/**
 * The embeddable library: src/index.ts as one ES module (dist/lib/tabswarm.js) with its
 * workers beside it, for `import { createClient } from 'tabswarm'`, and the Service Worker
 * that plays contents while they download (dist/lib/tabswarm-sw.js, an ES module: a site
 * serves it and names it in `createClient({ serviceWorker: { url, scope } })`). Type
 * declarations come from tsc (tsconfig.lib.json) into dist/lib/types. simple-peer and the
 * other dependencies are bundled: the page needs nothing else.
 */
export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist/lib',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    lib: { entry: { tabswarm: 'src/index.ts', 'tabswarm-sw': 'src/sw/sw.ts' }, formats: ['es'], fileName: (_format, name) => `${name}.js` },
  },
  worker: { format: 'es' },
});
