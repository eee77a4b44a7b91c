/** SQLite's group commit: writes share a transaction and an fsync, but fail alone. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/store/group-commit.js';

interface DB {
  t: { k: string; v: number };
}

describe('GroupCommit', () => {
  let dir: string;
  let raw: SQLite.Database;
  let db: Kysely<DB>;
  let commits: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-group-'));
    raw = new SQLite(join(dir, 'g.db'));
    raw.pragma('journal_mode = WAL');
    commits = 0;
    // Count COMMITs as SQLite sees them (each is one fsync under synchronous=FULL).
    const prepare = raw.prepare.bind(raw);
    const counting = { close: () => raw.close(), prepare: (text: string) => ((commits += /^commit/i.test(text) ? 1 : 0), prepare(text)) };
    db = new Kysely<DB>({ dialect: new SqliteDialect({ database: counting }) });
    await sql`create table t (k text primary key, v integer not null)`.execute(db);
    commits = 0;
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits writes queued in one turn together, and each answers only after the commit', async () => {
    const group = new GroupCommit(db);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => group.run((tx) => tx.insertInto('t').values({ k: `k${i}`, v: i }).execute().then(() => i))),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(commits).toBe(1);
    expect(raw.prepare('select count(*) as n from t').get()).toEqual({ n: 20 });
  });

  it('rolls back a failing write alone; the others in its group stay', async () => {
    const group = new GroupCommit(db);
    const outcomes = await Promise.allSettled([
      group.run((tx) => tx.insertInto('t').values({ k: 'a', v: 1 }).execute()),
      group.run(async (tx) => {
        await tx.insertInto('t').values({ k: 'b', v: 2 }).execute();
        await tx.insertInto('t').values({ k: 'a', v: 3 }).execute(); // duplicate key: fails
      }),
      group.run((tx) => tx.insertInto('t').values({ k: 'c', v: 4 }).execute()),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(raw.prepare('select k, v from t order by k').all()).toEqual([
      { k: 'a', v: 1 },
      { k: 'c', v: 4 },
    ]);
  });

  it('keeps conditional updates single-winner inside a group', async () => {
    await db.insertInto('t').values({ k: 'code', v: 0 }).execute();
    const group = new GroupCommit(db);
    const wins = await Promise.all(
      Array.from({ length: 10 }, () =>
        group.run(async (tx) => Number((await tx.updateTable('t').set({ v: 1 }).where('k', '=', 'code').where('v', '=', 0).executeTakeFirst()).numUpdatedRows)),
      ),
    );
    expect(wins.filter((n) => n === 1)).toHaveLength(1);
  });

  it('splits large queues into bounded groups', async () => {
    const group = new GroupCommit(db, 8);
    await Promise.all(Array.from({ length: 20 }, (_, i) => group.run((tx) => tx.insertInto('t').values({ k: `k${i}`, v: i }).execute())));
    expect(commits).toBe(3);
  });
});
