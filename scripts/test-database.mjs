#!/usr/bin/env node
// Creates or drops a PostgreSQL database for one test run, so that runs never see each
// other's rows. Used by .ci/run:  node scripts/test-database.mjs create|drop URL
// where URL names the database to create (postgres://user@host:port/name). `drop` also
// drops the databases the test workers made beside it (name_w1, name_w2, …: see
// test/helpers/worker-database.ts).
import pg from 'pg';

const [action, url] = process.argv.slice(2);
if (!['create', 'drop'].includes(action ?? '') || !url) {
  console.error('usage: node scripts/test-database.mjs create|drop postgres://user@host:port/name');
  process.exit(2);
}
const target = new URL(url);
const name = decodeURIComponent(target.pathname.slice(1));
if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
  console.error(`refusing an unusual database name '${name}'`);
  process.exit(2);
}
const admin = new URL(url);
admin.pathname = '/postgres';
const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
try {
  await client.connect();
  if (action === 'create') await client.query(`create database ${name}`);
  else {
    const workers = await client.query(`select datname from pg_database where datname ~ $1`, [`^${name}_w[0-9]+$`]);
    for (const { datname } of workers.rows) await client.query(`drop database if exists ${datname} with (force)`);
    await client.query(`drop database if exists ${name} with (force)`);
  }
} catch (err) {
  console.error(`cannot ${action} database ${name}: ${err.message}`);
  process.exit(1);
} finally {
  await client.end().catch(() => undefined);
}
