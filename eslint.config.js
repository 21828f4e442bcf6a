// Lint with type information: the rules that catch real bugs in async, tensor-heavy code, and the
// import rules that keep the folders' layering (docs/architecture.md) true: no import cycles, and
// each boundary below says who may not import whom.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const TS_SETTINGS = importX.flatConfigs.typescript.settings;

/** lib/ folders below the services: adapters and pure code, which never reach up. */
const BELOW_SERVICES = [
  './lib/clustering',
  './lib/data',
  './lib/engine',
  './lib/images',
  './lib/models',
  './lib/segmentation',
  './lib/training',
  './lib/vector-index',
  './lib/vectors',
];

/** Who may not import whom, with why (the `message` is what the lint error says). */
const BOUNDARIES = [
  { target: './lib', from: './app', message: 'lib/ is the product; app/ is a door into it, never the other way.' },
  {
    target: './lib/clustering',
    from: ['./lib/models', './lib/segmentation', './lib/training', './lib/services', './lib/store', './lib/jobs'],
    message: 'clustering is pure math on vectors: it takes what it needs as arguments (randomness from lib/random.ts).',
  },
  {
    target: BELOW_SERVICES,
    from: ['./lib/services', './lib/jobs'],
    message: 'services combine the adapters; an adapter or pure module never reaches up to them.',
  },
  {
    target: ['./app', './workers', ...BELOW_SERVICES],
    from: './lib/store',
    message: 'the store (SQLite) is reached only through services and jobs.',
  },
  {
    // The commands are doors like the routes; only the benchmarks fill a library row by row.
    target: './scripts/!(bench-*).ts',
    from: './lib/store',
    message: 'a command reaches the store through services and jobs, as the routes do.',
  },
  {
    target: './lib/services',
    from: './lib/vector-index/hnsw-index.ts',
    message:
      'services reach an index through VectorIndex and vectorIndexBackend() (lib/vector-index/backends.ts), never an implementation.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', '.tmp/', '.next/', 'next-env.d.ts', 'workers/thread-bootstrap.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { 'import-x': importX },
    settings: {
      // Without these the rule reads only .js dependencies and silently finds no cycle in TypeScript.
      'import-x/extensions': TS_SETTINGS['import-x/extensions'],
      'import-x/parsers': TS_SETTINGS['import-x/parsers'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // `import type` is not followed (it vanishes at run time); every value import is.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: BOUNDARIES }],
    },
  },
  {
    // One folder per technology: Redis (BullMQ and its ioredis client) only in the remote transport.
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['lib/jobs/remote/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['bullmq', 'ioredis'].map((name) => ({
            name,
            message: 'Redis is reached only through lib/jobs/remote/ (the remote transport); call its functions instead.',
          })),
        },
      ],
    },
  },
  { files: ['eslint.config.js', 'next.config.js'], ...tseslint.configs.disableTypeChecked },
);
