import { defineConfig } from 'vitest/config';

/** The suites whose sockets go through the Arrays service: run again over uWebSockets. */
const ARRAYS_SUITES = [
  'test/server/arrays*.test.ts',
  'test/server/metrics.test.ts',
  'test/server/redis-scale-out.test.ts',
  'test/server/restartable-arrays.test.ts',
];
/** What CI runs again on the newest Node LTS (the `lts` project below). */
const LTS_SUITES = ['test/server/**/*.test.ts', ...['node', 'protocol', 'storage', 'tools', 'transport'].map((d) => `test/unit/${d}/**/*.test.ts`)];
/** Suites that need uWebSockets' native build, which exists for Node 20 only (signaling/uws-loader.ts). */
const NATIVE_UWS_SUITES = ['test/server/uws-transport.test.ts', 'test/server/uws-upgrades.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'default', include: ['test/unit/**/*.test.ts', 'test/server/**/*.test.ts'] } },
      // The same Arrays suites with every test socket on the uWebSockets transport (arraysPort).
      { extends: true, test: { name: 'arrays-uws', include: ARRAYS_SUITES, env: { TABSWARM_TEST_ARRAYS: 'uws' } } },
      // On the newest Node LTS (.ci/run), the tests of what runs on Node: the server, the CLI and
      // the cache node (they drive the core end to end), storage, transports, the wire. Not the
      // core's, the simulator's and the page's own unit tests: plain TypeScript over ports, the
      // same on any Node, and a third of the repeat's time. Not uWebSockets' own (Node 20 only).
      { extends: true, test: { name: 'lts', include: LTS_SUITES, exclude: NATIVE_UWS_SUITES } },
      // The npm package as a consumer installs it: a build and an install from the registry, so
      // outside the private network namespace (npm run test:package).
      { extends: true, test: { name: 'package', include: ['test/package/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 } },
    ],
  },
});
