// Lint: typescript-eslint's recommended rules, plus the dependency direction of the
// architecture (the core and the protocol import no adapter, no UI and no server code), and
// the size of what a newcomer must read at once: no source file over 400 lines, no function
// over 150 (a factory closure counts whole, its inner functions included).
import tseslint from 'typescript-eslint';

const adapters = ['**/transport/**', '**/storage/**', '**/workers/**', '**/ui/**', '**/client/**', '**/signaling/**', '**/sw/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'content/**', 'test-results/**', 'playwright-report/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts', 'signaling/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 150 }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: adapters, message: 'core and protocol stay DOM-free and adapter-free: depend on a port instead' }] }],
      'no-restricted-globals': ['error', 'window', 'document', 'localStorage', 'indexedDB', 'navigator', 'location'],
    },
  },
  {
    files: ['src/transport/**/*.ts', 'src/storage/**/*.ts', 'src/workers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/ui/**', '**/client/**', '**/signaling/**', '**/sw/**'], message: 'adapters implement core ports; they do not reach up' }] }],
    },
  },
  {
    // The Service Worker relays pages' answers: it speaks the protocol and nothing else.
    files: ['src/sw/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/core/**', '**/client/**', '**/ui/**', '**/transport/**', '**/storage/**', '**/workers/**', '**/signaling/**'], message: 'the Service Worker imports src/protocol only' }] }],
      'no-restricted-globals': ['error', 'window', 'document', 'localStorage'],
    },
  },
  {
    files: ['signaling/**/*.ts'],
    ignores: ['signaling/bin.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/core/**', '**/src/ui/**', '**/src/client/**', '**/src/transport/**', '**/src/storage/**', '**/src/workers/**', '**/src/sw/**', '**/src/node/**'], message: 'the server shares only src/protocol with the client' }] }],
    },
  },
  {
    // The command's entry: serve and publish are the server's; cache and get are Node peers (src/node/cli).
    files: ['signaling/bin.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/core/**', '**/src/ui/**', '**/src/client/**', '**/src/transport/**', '**/src/storage/**', '**/src/workers/**', '**/src/sw/**'], message: 'the entry reaches the Node peers through src/node/cli only' }] }],
    },
  },
  {
    // Node peers compose the core with Node adapters: nothing of the browser's UI, storage or workers.
    files: ['src/node/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/ui/**', '**/storage/**', '**/workers/**', '**/sw/**'], message: 'a Node peer uses the Node adapters of src/node' }] }],
      'no-restricted-globals': ['error', 'window', 'document', 'localStorage', 'indexedDB', 'location'],
    },
  },
);
