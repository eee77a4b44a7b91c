/**
 * Usernames are matched without regard to case or Unicode form (username-key.ts): each
 * person gets `username_key`, the username's comparison form, unique. The column is
 * filled here, in TypeScript, because neither engine's SQL can apply NFC the same way
 * (SQLite has no Unicode normalisation at all). Added last, nullable: SQLite cannot add a
 * NOT NULL column without a default, and a unique index lets any number of NULLs be. The
 * index is not named people_username_key: PostgreSQL gave that name to the unique
 * constraint on `username` in 0001.
 *
 * People registered before may already be twins (`Eve` and `eve`): then the migration
 * refuses, naming them, before it changes anything — SQLite runs no DDL in a migration's
 * transaction, so a refusal after the column was added would leave it half done. Which
 * twin is the real account is the operator's call, not ours.
 */
import { sql, type Kysely } from 'kysely';
import { usernameKey } from '../username-key.js';

/** At most this many groups of twins are named in the refusal; the rest are counted. */
const NAMED_TWINS = 10;

export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{
    id: string;
    username: string;
  }>`select id, username from people order by username, id`.execute(db);
  const byKey = new Map<string, Array<{ id: string; username: string }>>();
  for (const row of rows) {
    const key = usernameKey(row.username);
    const group = byKey.get(key);
    if (group) group.push(row);
    else byKey.set(key, [row]);
  }
  const twins = [...byKey.values()].filter((group) => group.length > 1);
  if (twins.length > 0) {
    const named = twins.slice(0, NAMED_TWINS).map((group) => group.map((p) => `'${p.username}'`).join(' and '));
    const more = twins.length > NAMED_TWINS ? ` and ${twins.length - NAMED_TWINS} more` : '';
    throw new Error(
      `usernames now match without regard to case or Unicode form, and these people would be the same: ` +
        `${named.join('; ')}${more}; keep one of each: remove the others with the previous Tessera version, then migrate again`,
    );
  }

  await db.schema.alterTable('people').addColumn('username_key', 'text').execute();
  for (const [key, [person]] of byKey) {
    await sql`update people set username_key = ${key} where id = ${person?.id}`.execute(db);
  }
  await db.schema.createIndex('people_by_username_key').on('people').unique().column('username_key').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('people_by_username_key').execute();
  await db.schema.alterTable('people').dropColumn('username_key').execute();
}
