import { defineConfig } from 'vite';

/**
 * The embeddable library: src/index.ts as one ES module (dist/lib/tabswarm.js) with its
 * workers beside it, for `import { createClient } from 'tabswarm'`. Type declarations come
 * from tsc (tsconfig.lib.json) into dist/lib/types. simple-peer and the other dependencies
 * are bundled: the page needs nothing else.
 */
export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist/lib',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'tabswarm.js' },
  },
  worker: { format: 'es' },
});
