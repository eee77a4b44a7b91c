// ESLint flat config: typescript-eslint's recommended rules, plus the architecture's
// one hard rule — the protocol core (src/oauth/) never reaches for the framework, the
// database or the process (ARCHITECTURE.md, pattern 5).
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
                '../../http/*',
                '../../cli/*',
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
    files: ['src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../oauth/*', '../http/*', '../cli/*', '../../oauth/*', '../../http/*', '../../cli/*'],
              message: 'src/store/ is the bottom layer: it imports nothing from the layers above it.',
            },
          ],
        },
      ],
    },
  },
);
