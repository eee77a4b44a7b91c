#!/usr/bin/env node
// What one request costs PostgreSQL, per flow: statements, rows, WAL bytes and CPU, read
// from PostgreSQL itself while the bench's load runs against one `tessera serve` — the
// numbers behind the README's capacity note. Written to bench/CAPACITY.md.
//
//   node bench/capacity.mjs [--flows code,refresh,bearer,introspect] [--seconds 10] [--out FILE]
//
// Needs the pg_stat_statements extension loaded by the server (shared_preload_libraries;
// the script creates the extension in its own database): without it, the statement
// table is left out and WAL and CPU are still reported.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import pg from 'pg';
import { stopAll } from './lib/proc.mjs';
import { dropDatabases, postgresDatabase, postgresDatabaseName, ROOT, tesseraTarget } from './lib/targets.mjs';
import { option, singleServerShared } from './lib/script.mjs';
import { runWrk } from './lib/wrk.mjs';

const flows = option('flows', 'code,refresh,bearer,introspect').split(',');
const seconds = Number(option('seconds', '10'));
const out = option('out', join(ROOT, 'bench', 'CAPACITY.md'));
const adminUrl = process.env.TESSERA_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/';
const shared = singleServerShared;
const log = (...a) => process.stderr.write(`[capacity] ${a.join(' ')}\n`);

/** PostgreSQL's counters for one database: statements (when pg_stat_statements is there) and the WAL position. */
async function snapshot(client, database, withStatements) {
  const wal = (await client.query('select pg_current_wal_lsn()::text as lsn')).rows[0].lsn;
  if (!withStatements) return { wal, statements: new Map() };
  const { rows } = await client.query(
    `select queryid::text as id, query, calls::float8 as calls, rows::float8 as rows, wal_bytes::float8 as wal
       from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = $1`,
    [database],
  );
  return { wal, statements: new Map(rows.map((r) => [r.id, r])) };
}

/** Rows that the flows write: inserted tokens, and codes and refresh tokens marked used. */
async function written(client) {
  const { rows } = await client.query(
    `select (select count(*) from access_tokens)
          + (select count(*) from refresh_tokens)
          + (select count(*) from authorization_codes where consumed_at is not null)
          + (select count(*) from refresh_tokens where retired_at is not null)
          + (select count(*) from grants where revoked_at is not null) as n`,
  );
  return Number(rows[0].n);
}

const lsnBytes = (lsn) => {
  const [hi, lo] = lsn.split('/').map((h) => BigInt(`0x${h}`));
  return (hi << 32n) + lo;
};

/** A statement as one short line: its kind and the table it works on. */
function label(query) {
  const q = query.replace(/\s+/g, ' ').trim();
  if (/^with claimed as \( update "?(\w+)"?/i.test(q)) {
    return `claim the ${/update "?(\w+)"?/i.exec(q)[1]} row and insert the new tokens (one CTE)`;
  }
  if (/^with "grant" as \(insert/i.test(q)) return `insert a grant and its first credential (one CTE)`;
  if (/^with q as \( select \* from unnest\(/i.test(q)) {
    const table = /from q join "?(\w+)"? t on/i.exec(q)?.[1];
    return `look up the ${table} rows with their grants, claim them and insert the new tokens (one CTE for the requests of one turn)`;
  }
  if (/= any\(\$1\)/i.test(q)) {
    const table = /from\s+"?(\w+)"?/i.exec(q)?.[1] ?? '';
    const joins = [...q.matchAll(/join "?(\w+)"?/gi)].map((j) => j[1]);
    return `select ${table}${joins.length ? ` (joined with ${joins.join(', ')})` : ''} for the lookups of one turn`;
  }
  const m = /^(select|insert into|update|delete from)\s.*?(?:from\s+)?"?(\w+)"?(?:\s|\(|$)/i.exec(q);
  const kind = /^(\w+)/.exec(q)?.[1]?.toLowerCase() ?? '?';
  const table = /(?:from|into|update)\s+"?(\w+)"?/i.exec(q)?.[1] ?? '';
  const joins = [...q.matchAll(/join "?(\w+)"?/gi)].map((j) => j[1]);
  return m ? `${kind} ${table}${joins.length ? ` (joined with ${joins.join(', ')})` : ''}` : q.slice(0, 60);
}

async function tableBytes(client) {
  const { rows } = await client.query(
    `select c.relname as table, c.reltuples::float8 as rows, pg_total_relation_size(c.oid)::float8 as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname = current_schema()
        and c.relname in ('grants', 'authorization_codes', 'access_tokens', 'refresh_tokens')`,
  );
  return rows;
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'tessera-capacity-'));
  const ctx = { dir, shared };
  const database = postgresDatabase(adminUrl, pg);
  const target = tesseraTarget({ id: 'tessera-postgres', label: 'Tessera', database, logLevel: 'info' });
  const sections = [];
  const now = new Date().toISOString();
  try {
    await target.start(ctx);
    const dbName = postgresDatabaseName(target.db.url);
    const admin = new pg.Client({ connectionString: target.db.url });
    // Dropping the database at the end ends this session too.
    admin.on('error', () => undefined);
    await admin.connect();
    let withStatements = true;
    try {
      await admin.query('create extension if not exists pg_stat_statements');
      await admin.query('select 1 from pg_stat_statements limit 1');
    } catch (err) {
      withStatements = false;
      log(`pg_stat_statements is not available (${err.message.split('\n')[0]}): statements left out`);
    }
    const sync = (await admin.query('show synchronous_commit')).rows[0].synchronous_commit;
    let rate = 2000;
    for (const flow of flows) {
      // A warm-up (pools, prepared statements, caches), then the measured run.
      for (const [what, secs] of [
        ['warm-up', 3],
        ['measured', seconds],
      ]) {
        const file = join(dir, `pool-${flow}.txt`);
        // Sized from the last run's rate with room: a warm-up is slower than the run after it.
        const n = flow === 'bearer' || flow === 'introspect' ? 1000 : Math.ceil(Math.max(rate, 2500) * secs * 2) + 1000;
        await target.issue(flow, n, file);
        const rows0 = await written(admin);
        const before = await snapshot(admin, dbName, withStatements);
        const run = await runWrk({ target, flow, seconds: secs, file, shared, connections: 32 });
        const after = await snapshot(admin, dbName, withStatements);
        const rows1 = await written(admin);
        rate = Math.max(run.rps, 100);
        log(`${flow} ${what}: ${run.rps.toFixed(0)} req/s, errors ${run.errors}, exhausted ${run.exhausted}`);
        if (what !== 'measured') continue;
        if (run.errors > 0) throw new Error(`${flow}: ${run.errors} bad responses`);
        const per = (x) => x / run.requests;
        const statements = [];
        for (const [id, a] of after.statements) {
          const b = before.statements.get(id) ?? { calls: 0, rows: 0, wal: 0 };
          const calls = a.calls - b.calls;
          // Only what served most requests: not the odd sweep or the admin's own reads. A
          // statement shared by the requests of one turn runs for few of them, but returns or
          // changes a row for each.
          if (per(calls) < 0.05 && per(a.rows - b.rows) < 0.05) continue;
          statements.push({
            label: label(a.query),
            calls: per(calls),
            rows: per(a.rows - b.rows),
            wal: per(a.wal - b.wal),
          });
        }
        statements.sort((x, y) => y.calls - x.calls);
        const pgSeconds = run.watched?.postgresSeconds ?? 0;
        sections.push({
          flow,
          rps: run.rps,
          requests: run.requests,
          rowsWritten: per(rows1 - rows0),
          walPerRequest: per(Number(lsnBytes(after.wal) - lsnBytes(before.wal))),
          pgCpuUs: per(pgSeconds) * 1e6,
          serverCpuUs: per(run.serverCpuSeconds ?? 0) * 1e6,
          perPgCore: pgSeconds > 0 ? run.requests / pgSeconds : undefined,
          statements,
        });
      }
    }
    await admin.query('analyze');
    const tables = await tableBytes(admin);
    await admin.end();
    writeFileSync(out, report({ now, sync, withStatements, sections, tables }));
    log(`written ${out}`);
  } finally {
    await target.stop().catch(() => undefined);
    await stopAll();
    await dropDatabases();
  }
}

const f0 = (x) => (x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const f2 = (x) => x.toFixed(2);
const f3 = (x) => x.toFixed(3);

function report({ now, sync, withStatements, sections, tables }) {
  const lines = [
    '# What a request costs PostgreSQL',
    '',
    'Generated by `node bench/capacity.mjs` — do not edit by hand. One `tessera serve` (pool of 10) on a',
    "fresh PostgreSQL database, driven by the bench's wrk load (32 connections) one flow at a time; the",
    "counters are PostgreSQL's own (`pg_stat_statements`, `pg_current_wal_lsn()`, the CPU time of its",
    'processes from /proc). Everything is per request of the flow. Rows written: tokens inserted, codes and',
    "refresh tokens marked used, grants revoked. A statement's rows are pg_stat_statements' count (a CTE",
    'counts the rows it returns). Under load the requests an instance reads in one event-loop turn share',
    'a statement, so statements per request fall below one: requests per statement is their inverse.',
    '',
    `- Date: ${now}; ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}; synchronous_commit = ${sync}`,
    `- ${seconds} s measured per flow after a 3 s warm-up`,
    '',
    '| flow | req/s | statements | rows written | WAL bytes | PostgreSQL CPU µs | Tessera CPU µs | requests per second per PostgreSQL core |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of sections) {
    const calls = s.statements.reduce((n, x) => n + x.calls, 0);
    lines.push(
      `| ${s.flow} | ${f0(s.rps)} | ${withStatements ? f3(calls) : '–'} | ${f2(s.rowsWritten)} | ${f0(s.walPerRequest)} | ${f0(s.pgCpuUs)} | ${f0(s.serverCpuUs)} | ${f0(s.perPgCore)} |`,
    );
  }
  if (withStatements) {
    for (const s of sections) {
      lines.push(
        '',
        `## ${s.flow}`,
        '',
        '| statement | per request | rows returned or changed | WAL bytes |',
        '| --- | ---: | ---: | ---: |',
      );
      for (const x of s.statements) lines.push(`| ${x.label} | ${f3(x.calls)} | ${f2(x.rows)} | ${f0(x.wal)} |`);
    }
  }
  lines.push(
    '',
    '## Size on disk',
    '',
    "Bytes per row of each table, its indexes included (after the runs; PostgreSQL's estimate of the row count).",
    '',
    '| table | rows | bytes per row |',
    '| --- | ---: | ---: |',
  );
  for (const t of tables) lines.push(`| ${t.table} | ${f0(t.rows)} | ${t.rows > 0 ? f0(t.bytes / t.rows) : '–'} |`);
  return lines.join('\n') + '\n';
}

main().catch(async (err) => {
  log(`failed: ${err.stack ?? err}`);
  await stopAll();
  await dropDatabases();
  process.exit(1);
});
