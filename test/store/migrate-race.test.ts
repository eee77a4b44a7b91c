/**
 * Instances that start together on one PostgreSQL database apply each migration once:
 * Kysely's migrator holds a PostgreSQL advisory lock while it runs.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { TEST_ENGINE } from '../helpers/harness.js';

const base = process.env.TESSERA_TEST_POSTGRES_URL;

describe.skipIf(TEST_ENGINE !== 'postgres' || !base)('migrations started by several instances at once', () => {
  it('apply each migration exactly once and every instance ends up ready', async () => {
    const schema = `m_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    try {
      const url = `${base}${base!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      const stores = await Promise.all(Array.from({ length: 5 }, () => openStore(url, { poolSize: 2 })));
      const applied = await admin.query(
        `select name, count(*)::int as n from ${schema}.kysely_migration group by name order by name`,
      );
      expect(applied.rows.length).toBeGreaterThanOrEqual(2);
      expect(applied.rows.every((r: { n: number }) => r.n === 1)).toBe(true);
      for (const store of stores) {
        await store.ping();
        await store.close();
      }
    } finally {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  });
});
