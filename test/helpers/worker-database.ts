/**
 * A vitest setup file: each worker gets a PostgreSQL database of its own, the test
 * database's name with the worker's number appended (made on first use, kept for the
 * next run). Test files that run at once in different workers then never see each
 * other's schemas: Kysely's migrator reads the tables of every schema in its database,
 * which fails when another file drops its schema at that moment. Servers and commands
 * the tests start inherit the variable.
 */
import pg from 'pg';

const base = process.env.TESSERA_TEST_POSTGRES_BASE ?? process.env.TESSERA_TEST_POSTGRES_URL;
const worker = process.env.VITEST_POOL_ID;

if (base && worker) {
  const url = new URL(base);
  const name = `${decodeURIComponent(url.pathname.slice(1)) || 'postgres'}_w${worker}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
    // Two files of one worker never run at once, so only an earlier run can have made it.
    if (found.rowCount === 0) await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${encodeURIComponent(name)}`;
  process.env.TESSERA_TEST_POSTGRES_BASE = base;
  process.env.TESSERA_TEST_POSTGRES_URL = url.toString();
}
