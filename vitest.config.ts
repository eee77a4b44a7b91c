import { defineConfig } from 'vitest/config';

const shared = { testTimeout: 30_000, hookTimeout: 30_000, pool: 'forks' as const };

// The store and HTTP suites run on SQLite always, and again on PostgreSQL when
// TESSERA_TEST_POSTGRES_URL names a database (each test gets a fresh schema in it).
const postgres = process.env.TESSERA_TEST_POSTGRES_URL
  ? [
      {
        test: {
          ...shared,
          name: 'postgres',
          include: ['test/store/**/*.test.ts', 'test/http/**/*.test.ts', 'test/demo/**/*.test.ts'],
          env: { TESSERA_TEST_ENGINE: 'postgres' },
        },
      },
    ]
  : [];

export default defineConfig({
  test: {
    projects: [{ test: { ...shared, name: 'sqlite', include: ['test/**/*.test.ts'] } }, ...postgres],
  },
});
