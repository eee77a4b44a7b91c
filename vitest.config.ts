import { defineConfig } from 'vitest/config';

// Two workers on a two-core machine: much of a test's time is spent waiting for PostgreSQL,
// a spawned server or Chromium. Each worker has a database of its own (worker-database.ts).
const shared = {
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks' as const,
  maxWorkers: 2,
  setupFiles: ['test/helpers/worker-database.ts'],
};

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
