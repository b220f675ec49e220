import { defineConfig } from 'vitest/config';

/** The suites whose sockets go through the Arrays service: run again over uWebSockets. */
const ARRAYS_SUITES = [
  'test/server/arrays*.test.ts',
  'test/server/metrics.test.ts',
  'test/server/redis-scale-out.test.ts',
  'test/server/restartable-arrays.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'default', include: ['test/unit/**/*.test.ts', 'test/server/**/*.test.ts'] } },
      // The same Arrays suites with every test socket on the uWebSockets transport (arraysPort).
      { extends: true, test: { name: 'arrays-uws', include: ARRAYS_SUITES, env: { TABSWARM_TEST_ARRAYS: 'uws' } } },
    ],
  },
});
