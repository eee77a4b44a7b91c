// ESLint flat config: typescript-eslint's recommended rules, plus the architecture's
// hard rules — the protocol core (src/oauth/) never reaches for the framework, the
// database or the process (docs/architecture.md), the application services (src/services/)
// never reach for a front end, and the store (src/store/) imports nothing above it.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tessera/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/oauth/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['fastify', '@fastify/*', 'kysely', 'better-sqlite3', 'pg'],
              message: 'src/oauth/ is framework-free: take what you need as an argument.',
            },
            {
              group: [
                '../http/*',
                '../cli/*',
                '../services/*',
                '../demo/*',
                '../../http/*',
                '../../cli/*',
                '../../services/*',
                '../../demo/*',
                '../store/kysely-store.js',
                '../store/open.js',
                '../../store/kysely-store.js',
                '../../store/open.js',
              ],
              message: 'src/oauth/ must not import the layers above it or a store implementation.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/oauth/ must not read the process: pass configuration in.' },
      ],
    },
  },
  {
    // Application services: the operator's actions, once, for every front end (CLI, HTTP).
    files: ['src/services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['fastify', '@fastify/*', 'commander'],
              message: 'src/services/ serves every front end: no web framework or command-line parser here.',
            },
            {
              group: ['../http/*', '../cli/*', '../demo/*'],
              message: 'src/services/ must not import the front ends that call it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../oauth/*',
                '../http/*',
                '../cli/*',
                '../services/*',
                '../demo/*',
                '../../oauth/*',
                '../../http/*',
                '../../cli/*',
                '../../services/*',
                '../../demo/*',
              ],
              message: 'src/store/ is the bottom layer: it imports nothing from the layers above it.',
            },
          ],
        },
      ],
    },
  },
);
